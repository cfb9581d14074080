// A small AML (ACPI Machine Language) encoder: enough of the term grammar of
// ACPI 6.x §20 to write a DSDT by hand — names and name paths, package
// lengths, integers, strings, buffers, packages, Name/Scope/Device/Method and
// Return. Each helper returns the bytes of one term; compose with arrays.

export type Aml = number[];

/** A 4-character name segment, padded with '_' (e.g. "PCI0", "_S5" → "_S5_"). */
export function nameSeg(name: string): Aml {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(name)) throw new RangeError(`"${name}" is not an AML name segment`);
  const padded = name.padEnd(4, '_');
  return [...padded].map((ch) => ch.charCodeAt(0));
}

/** A name path: optional root ('\\') or parent ('^') prefixes, then dot-separated segments. */
export function nameString(path: string): Aml {
  const out: Aml = [];
  let rest = path;
  while (rest.startsWith('\\') || rest.startsWith('^')) {
    out.push(rest.charCodeAt(0));
    rest = rest.slice(1);
  }
  const segs = rest === '' ? [] : rest.split('.');
  if (segs.length === 0) out.push(0x00); // NullName
  else if (segs.length === 2) out.push(0x2e); // DualNamePrefix
  else if (segs.length > 2) out.push(0x2f, segs.length); // MultiNamePrefix
  for (const s of segs) out.push(...nameSeg(s));
  return out;
}

/** PkgLength for a body of `bodyLength` bytes (the encoding counts its own bytes). */
export function pkgLength(bodyLength: number): Aml {
  if (bodyLength + 1 < 0x40) return [bodyLength + 1];
  for (let n = 1; n <= 3; n++) {
    const total = bodyLength + 1 + n;
    if (total < 1 << (4 + 8 * n)) {
      const out = [(n << 6) | (total & 0xf)];
      for (let k = 0; k < n; k++) out.push((total >> (4 + 8 * k)) & 0xff);
      return out;
    }
  }
  throw new RangeError(`AML package of ${bodyLength} bytes is too long`);
}

function withPkgLength(op: Aml, body: Aml): Aml {
  return [...op, ...pkgLength(body.length), ...body];
}

/** The shortest integer encoding (ZeroOp, OneOp, Byte/Word/DWord/QWord constants). */
export function integer(v: number | bigint): Aml {
  const n = BigInt(v);
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError(`AML integer ${n} is out of range`);
  if (n === 0n) return [0x00];
  if (n === 1n) return [0x01];
  const bytes = (count: number): Aml => Array.from({ length: count }, (_, k) => Number((n >> BigInt(8 * k)) & 0xffn));
  if (n <= 0xffn) return [0x0a, ...bytes(1)];
  if (n <= 0xffffn) return [0x0b, ...bytes(2)];
  if (n <= 0xffff_ffffn) return [0x0c, ...bytes(4)];
  return [0x0e, ...bytes(8)];
}

export function string(s: string): Aml {
  return [0x0d, ...[...s].map((ch) => ch.charCodeAt(0) & 0x7f), 0x00];
}

/** A compressed EISA ID such as "PNP0A03", as the DWord constant ASL's EisaId() produces. */
export function eisaId(id: string): Aml {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new RangeError(`"${id}" is not an EISA ID`);
  const c = (i: number): number => (id.charCodeAt(i) - 0x40) & 0x1f;
  const v = (c(0) << 26) | (c(1) << 21) | (c(2) << 16) | parseInt(id.slice(3), 16);
  // Stored big-endian within the little-endian DWord.
  const swapped = ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)) >>> 0;
  return [0x0c, swapped & 0xff, (swapped >>> 8) & 0xff, (swapped >>> 16) & 0xff, swapped >>> 24];
}

export function buffer(bytes: ArrayLike<number>): Aml {
  const body = [...integer(bytes.length), ...Array.from(bytes)];
  return withPkgLength([0x11], body);
}

export function pkg(...elements: Aml[]): Aml {
  if (elements.length > 255) throw new RangeError('AML Package has at most 255 elements (use VarPackage)');
  return withPkgLength([0x12], [elements.length, ...elements.flat()]);
}

export function name(path: string, value: Aml): Aml {
  return [0x08, ...nameString(path), ...value];
}

export function scope(path: string, ...body: Aml[]): Aml {
  return withPkgLength([0x10], [...nameString(path), ...body.flat()]);
}

export function device(path: string, ...body: Aml[]): Aml {
  return withPkgLength([0x5b, 0x82], [...nameString(path), ...body.flat()]);
}

/** Method with `args` arguments (0–7), not serialized. */
export function method(path: string, args: number, ...body: Aml[]): Aml {
  return withPkgLength([0x14], [...nameString(path), args & 7, ...body.flat()]);
}

export function returnOp(value: Aml): Aml {
  return [0xa4, ...value];
}
