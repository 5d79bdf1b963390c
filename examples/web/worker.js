// The worker: loads vasi-web once, then runs each program it is sent over
// the tar image data.tar (at /data) and an in-memory /scratch, streaming
// stdout and stderr back to the page.
import { Vasi } from "./vasi-web/vasi.js";

const vasi = Vasi.load();
const image = fetch("./data.tar").then((r) => r.arrayBuffer());
vasi.then(
  () => postMessage({ kind: "ready" }),
  (e) => postMessage({ kind: "error", message: `${e.name}: ${e.message}` }),
);

onmessage = async ({ data }) => {
  try {
    const [v, tar, module] = await Promise.all([vasi, image, fetch(data.module).then((r) => r.arrayBuffer())]);
    const result = await v.run(module, {
      args: data.args,
      mounts: { "/data": { tar: new Uint8Array(tar) }, "/scratch": { memory: "16M" } },
      stdout: (bytes) => postMessage({ kind: "stdout", bytes }),
      stderr: (bytes) => postMessage({ kind: "stderr", bytes }),
    });
    postMessage({ kind: "exit", exitCode: result.exitCode, trap: result.trap });
  } catch (e) {
    postMessage({ kind: "error", message: `${e.name}: ${e.message}` });
  }
};
