// Serves examples/web with a few lines of static server and checks it in
// headless Chromium (puppeteer-core driving Debian's /usr/bin/chromium):
// the demo program's output appears in the page's DOM, a file that is not
// wasm gives one clear error, and the page keeps working after it.
// Run by scripts/web-demo-test.sh, which builds what it serves and sets
//   VASI_WEB_WASM, DEMO_WASM, DATA_TAR, VASI_NPM, CHROMIUM (optional)
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const js = path.resolve(here, "../../crates/vasi-web/js");
const files = {
  "/vasi-web/vasi_web.wasm": process.env.VASI_WEB_WASM,
  "/demo.wasm": process.env.DEMO_WASM,
  "/data.tar": process.env.DATA_TAR,
};
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".tar": "application/x-tar" };

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x").pathname;
  const file = files[url] ?? (url.startsWith("/vasi-web/") ? path.join(js, url.slice(10)) : path.join(here, url === "/" ? "index.html" : url));
  fs.readFile(file, (err, body) => {
    if (err || !file.startsWith("/")) {
      res.writeHead(404).end();
      return;
    }
    // Cross-origin isolation: SharedArrayBuffer, so the worker blocks on Atomics.wait.
    res.writeHead(200, {
      "content-type": types[path.extname(file)] ?? "application/octet-stream",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
    });
    res.end(body);
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}/`;

const puppeteer = createRequire(path.join(process.env.VASI_NPM, "package.json"))("puppeteer-core");
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(m.text()));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(base);
  const text = (sel) => page.$eval(sel, (e) => e.textContent);
  const waitStatus = (re) =>
    page.waitForFunction((src) => new RegExp(src).test(document.getElementById("status").textContent), { timeout: 60_000 }, re.source);
  await waitStatus(/^ready$/);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, "the page is cross-origin isolated");

  await page.click("#run");
  await waitStatus(/^(exit|trap|error)/);
  let out = await text("#out");
  assert.equal(await text("#status"), "exit 0", `out: ${out}\nerror: ${await text("#error")}\nlogs: ${logs.join("\n")}`);
  assert.match(out, /\/data\/README\.txt\n/);
  assert.match(out, /total \(\d+ files\)\n/);
  assert.match(out, /report saved to \/scratch\/report\.txt \(\d+ bytes\)/);

  await page.click("#bad");
  await waitStatus(/^(exit|trap|error)/);
  assert.equal(await text("#status"), "error");
  assert.match(await text("#error"), /^VasiError: not a WebAssembly module/);

  // The page keeps working.
  await page.click("#run");
  await waitStatus(/^(exit|trap|error)/);
  assert.equal(await text("#status"), "exit 0");
  assert.equal(await text("#out"), out);
  console.log(`examples/web in ${await browser.version()}: ok\n${out}`);
} finally {
  await browser.close();
  server.close();
}
