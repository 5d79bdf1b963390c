/** A tree of files: a string or bytes is a file, an object a directory. */
export interface TarTree {
  [name: string]: string | Uint8Array | TarTree;
}
/** A ustar archive of `tree` (names up to 100 bytes). */
export function makeTar(tree: TarTree): Uint8Array;
