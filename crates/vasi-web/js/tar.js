// makeTar: a ustar archive from a tree of files, for examples and tests
// (`{ "dir": { "a.txt": "text" }, "b.bin": Uint8Array }`; strings are UTF-8).

const encoder = new TextEncoder();

function octal(n, width) {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function header(name, size, type) {
  const h = new Uint8Array(512);
  const put = (s, at) => h.set(encoder.encode(s), at);
  const bytes = encoder.encode(name);
  if (bytes.length > 100) throw new Error(`tar: name too long: ${name}`);
  h.set(bytes, 0);
  put(octal(type === "5" ? 0o755 : 0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(1_700_000_000, 12), 136);
  put("        ", 148);
  put(type, 156);
  put("ustar\0", 257);
  put("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  put(octal(sum, 7) + " ", 148);
  return h;
}

/** A tar archive (Uint8Array) of `tree`. */
export function makeTar(tree) {
  const parts = [];
  const walk = (prefix, t) => {
    for (const [name, value] of Object.entries(t)) {
      const path = prefix + name;
      if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
        parts.push(header(`${path}/`, 0, "5"));
        walk(`${path}/`, value);
      } else {
        const data = typeof value === "string" ? encoder.encode(value) : value;
        parts.push(header(path, data.length, "0"), data, new Uint8Array((512 - (data.length % 512)) % 512));
      }
    }
  };
  walk("", tree);
  parts.push(new Uint8Array(1024));
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
