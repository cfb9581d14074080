// MD5 (RFC 1321), for .hdb signatures. The scanner runs inside the machine's
// worker, synchronously, on a page of shared memory: WebCrypto is
// asynchronous and has no MD5, and node:crypto is not there in a browser.

const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;
const S1 = Int32Array.of(7, 12, 17, 22), S2 = Int32Array.of(5, 9, 14, 20), S3 = Int32Array.of(4, 11, 16, 23), S4 = Int32Array.of(6, 10, 15, 21);

const words = new Int32Array(16);

/** The MD5 of data[start, start+length) as lower-case hex. */
export function md5Hex(data: Uint8Array, start = 0, length = data.length - start): string {
  let a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476;
  const total = length + 9;
  const padded = Math.ceil(total / 64) * 64;
  const tail = new Uint8Array(128);
  // Whole 64-byte blocks are read in place; only the last one or two are copied to add the padding.
  const inPlace = Math.floor(length / 64) * 64;
  const rest = length - inPlace;
  tail.set(data.subarray(start + inPlace, start + length));
  tail[rest] = 0x80;
  const tailLen = padded - inPlace;
  const bits = length * 8;
  tail[tailLen - 8] = bits & 0xff;
  tail[tailLen - 7] = (bits >>> 8) & 0xff;
  tail[tailLen - 6] = (bits >>> 16) & 0xff;
  tail[tailLen - 5] = (bits >>> 24) & 0xff;
  tail[tailLen - 4] = Math.floor(bits / 2 ** 32) & 0xff;
  for (let off = 0; off < padded; off += 64) {
    const src = off < inPlace ? data : tail;
    const base = off < inPlace ? start + off : off - inPlace;
    for (let i = 0; i < 16; i++) {
      const p = base + 4 * i;
      words[i] = src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24);
    }
    let a = a0, b = b0, c = c0, d = d0;
    // Four loops, one per round function, so each has no branch per step.
    for (let i = 0; i < 16; i++) {
      const x = (a + ((b & c) | (~b & d)) + K[i] + words[i]) | 0;
      const s = S1[i & 3];
      a = d; d = c; c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    for (let i = 16; i < 32; i++) {
      const x = (a + ((d & b) | (~d & c)) + K[i] + words[(5 * i + 1) & 15]) | 0;
      const s = S2[i & 3];
      a = d; d = c; c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    for (let i = 32; i < 48; i++) {
      const x = (a + (b ^ c ^ d) + K[i] + words[(3 * i + 5) & 15]) | 0;
      const s = S3[i & 3];
      a = d; d = c; c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    for (let i = 48; i < 64; i++) {
      const x = (a + (c ^ (b | ~d)) + K[i] + words[(7 * i) & 15]) | 0;
      const s = S4[i & 3];
      a = d; d = c; c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  let hex = '';
  for (const w of [a0, b0, c0, d0]) {
    for (let k = 0; k < 4; k++) hex += ((w >>> (8 * k)) & 0xff).toString(16).padStart(2, '0');
  }
  return hex;
}
