/** Byte k of the ring tests' stream: no short period, so a lost or repeated chunk shows. */
export const patternByte = (k: number): number => (k * 7 + (k >>> 8) * 13 + (k >>> 16)) & 0xff;
