// The page: starts the worker, sends it runs, shows their output. The page
// itself never blocks; the guest runs (and may sleep) in the worker.
const out = document.getElementById("out");
const status = document.getElementById("status");
const error = document.getElementById("error");
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const decoder = new TextDecoder();

worker.onmessage = ({ data }) => {
  if (data.kind === "ready") status.textContent = "ready";
  else if (data.kind === "stdout" || data.kind === "stderr") out.textContent += decoder.decode(data.bytes, { stream: true });
  else if (data.kind === "exit") status.textContent = data.trap ? `trap: ${data.trap}` : `exit ${data.exitCode}`;
  else if (data.kind === "error") {
    error.textContent = data.message;
    status.textContent = "error";
  }
};

function run(module) {
  out.textContent = "";
  error.textContent = "";
  status.textContent = "running";
  worker.postMessage({ module, args: ["demo", "/data"] });
}
document.getElementById("run").onclick = () => run("./demo.wasm");
document.getElementById("bad").onclick = () => run("./index.html");
