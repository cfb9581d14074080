// Reading a kernel module's .modinfo section: the NUL-separated "key=value"
// strings (name, depends, softdep, alias, vermagic, ...) that depmod and
// modinfo read. We parse the ELF section headers ourselves so the build needs
// no kmod on the host.

export interface ModInfo {
  /** Module name as the kernel knows it (dashes already underscores). */
  name?: string;
  /** Hard dependencies: modules exporting symbols this one uses. */
  depends: string[];
  /** Soft dependencies to load before this module ("softdep=pre: a b post: c"). */
  softPre: string[];
  aliases: string[];
  vermagic?: string;
  /** Every key=value pair, in order (keys repeat, e.g. alias). */
  raw: Array<[string, string]>;
}

export class ElfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ElfError';
  }
}

/** Parses .modinfo out of an ELF relocatable object (a .ko file). */
export function readModInfo(elf: Uint8Array, what = 'module'): ModInfo {
  const section = findSection(elf, '.modinfo', what);
  if (!section) throw new ElfError(`${what}: no .modinfo section (not a kernel module?)`);
  const info: ModInfo = { depends: [], softPre: [], aliases: [], raw: [] };
  const text = new TextDecoder('latin1').decode(section);
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue; // alignment padding between entries
    const key = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    info.raw.push([key, value]);
    switch (key) {
      case 'name':
        info.name = canonicalModuleName(value);
        break;
      case 'depends':
        info.depends.push(...value.split(',').filter(Boolean).map(canonicalModuleName));
        break;
      case 'softdep':
        info.softPre.push(...parseSoftdepPre(value));
        break;
      case 'alias':
        info.aliases.push(value);
        break;
      case 'vermagic':
        info.vermagic = value;
        break;
    }
  }
  return info;
}

/** Module names treat "-" and "_" alike; the kernel and modprobe use "_". */
export function canonicalModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

/** "pre: a b post: c" -> [a, b]. Post dependencies are optional extras; we ignore them. */
function parseSoftdepPre(value: string): string[] {
  const out: string[] = [];
  let inPre = false;
  for (const token of value.trim().split(/\s+/)) {
    if (token === 'pre:') inPre = true;
    else if (token === 'post:') inPre = false;
    else if (inPre && token) out.push(token);
  }
  return out;
}

/** Returns the bytes of the named section, or undefined if the object has none. Handles ELF32/64, either byte order. */
function findSection(elf: Uint8Array, wanted: string, what: string): Uint8Array | undefined {
  if (elf.length < 52 || elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46) {
    throw new ElfError(`${what}: not an ELF file`);
  }
  const is64 = elf[4] === 2;
  const little = elf[5] === 1;
  if ((elf[4] !== 1 && elf[4] !== 2) || (elf[5] !== 1 && elf[5] !== 2)) throw new ElfError(`${what}: bad ELF class or data encoding`);
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const u16 = (o: number) => dv.getUint16(o, little);
  const u32 = (o: number) => dv.getUint32(o, little);
  const word = (o: number) => (is64 ? Number(dv.getBigUint64(o, little)) : u32(o));

  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  if (shnum === 0 || shstrndx >= shnum || shoff + shnum * shentsize > elf.length) throw new ElfError(`${what}: section header table out of range`);

  const header = (i: number) => {
    const h = shoff + i * shentsize;
    return { name: u32(h), offset: word(h + (is64 ? 0x18 : 0x10)), size: word(h + (is64 ? 0x20 : 0x14)) };
  };
  const slice = (offset: number, size: number) => {
    if (offset + size > elf.length) throw new ElfError(`${what}: section data out of range`);
    return elf.subarray(offset, offset + size);
  };
  const strtab = header(shstrndx);
  const names = slice(strtab.offset, strtab.size);
  const want = new TextEncoder().encode(wanted);
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    if (h.name + want.length < names.length && names[h.name + want.length] === 0 && want.every((b, j) => names[h.name + j] === b)) {
      return slice(h.offset, h.size);
    }
  }
  return undefined;
}
