// vasi-web on Deno: the demo program over a tar image made in JS, with
// its output checked. Run by scripts/web-deno-test.sh (deno from npm), with
//   VASI_WEB_WASM, DEMO_WASM
import { Vasi } from "../../crates/vasi-web/js/vasi.js";
import { makeTar } from "../../crates/vasi-web/js/tar.js";

const vasi = await Vasi.load(await Deno.readFile(Deno.env.get("VASI_WEB_WASM")));
const tar = makeTar({ "a.txt": "one two\nthree\n", sub: { "b.txt": "four\n" } });
const t = performance.now();
const { exitCode, stdout, stderr } = await vasi.run(await Deno.readFile(Deno.env.get("DEMO_WASM")), {
  args: ["demo", "/data"],
  mounts: { "/data": { tar }, "/scratch": { memory: "1M" } },
});
const want = [
  "     2      3      14  /data/a.txt",
  "     1      1       5  /data/sub/b.txt",
  "     3      4      19  total (2 files)",
  "report saved to /scratch/report.txt (113 bytes)",
  "",
].join("\n");
if (exitCode !== 0 || stdout !== want) {
  console.error(`exit ${exitCode}\nstdout:\n${stdout}\nwant:\n${want}\nstderr:\n${stderr}`);
  Deno.exit(1);
}
console.log(`vasi-web on Deno ${Deno.version.deno}: ok (${(performance.now() - t).toFixed(0)} ms)`);
