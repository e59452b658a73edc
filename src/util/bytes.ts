/**
 * The same bytes as a plain Uint8Array view (no copy). Hot loops over bytes
 * (the g checksum, slicing file data into packets) run 2–3× slower once V8
 * has seen them on both Buffers (what streams deliver) and Uint8Arrays
 * (what we build): feeding them one type keeps them monomorphic.
 */
export const plainView = (b: Uint8Array): Uint8Array => (b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.length));
