// A writer for the "newc" (SVR4, magic 070701) cpio format: the format the
// Linux kernel unpacks an initramfs from. We write archives ourselves rather
// than shelling out to cpio(1) so that image builds are reproducible (fixed
// owners, times and inode numbers, entries in the order they were added) and
// can contain device nodes without root privileges.
//
// Each entry is a 110-byte ASCII header of thirteen 8-digit hex fields, the
// NUL-terminated path padded to a 4-byte boundary (counted from the header
// start), then the data padded to a 4-byte boundary. The archive ends with an
// entry named "TRAILER!!!".

const MAGIC = '070701';
const HEADER_SIZE = 110;
const TRAILER = 'TRAILER!!!';

/** File type bits of st_mode, as stored in the header's mode field. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** Ownership, permissions and time of one entry. Unset fields take the writer's defaults. */
export interface CpioMeta {
  /** Permission bits (e.g. 0o755), without the file type. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Modification time, seconds since the epoch. */
  mtime?: number;
}

export interface CpioWriterOptions {
  /** Time stamped on every entry that does not set its own; 0 keeps archives reproducible. */
  mtime?: number;
  uid?: number;
  gid?: number;
}

export class CpioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CpioError';
  }
}

interface Entry {
  path: string;
  mode: number; // type | permissions
  uid: number;
  gid: number;
  mtime: number;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * Builds a newc archive in memory. Paths are relative to the archive root
 * ("bin/sh"; a leading "/" is accepted and dropped). Missing parent
 * directories are added automatically (mode 0755) before their first child,
 * because the kernel's unpacker does not create them and would silently skip
 * the child.
 */
export class CpioWriter {
  private readonly entries: Entry[] = [];
  private readonly types = new Map<string, number>();
  private readonly defaults: Required<CpioWriterOptions>;

  constructor(options: CpioWriterOptions = {}) {
    this.defaults = { mtime: options.mtime ?? 0, uid: options.uid ?? 0, gid: options.gid ?? 0 };
    checkField('mtime', this.defaults.mtime);
    checkField('uid', this.defaults.uid);
    checkField('gid', this.defaults.gid);
  }

  /** Adds a directory. Adding one that was created implicitly as a parent updates its metadata. */
  directory(path: string, meta: CpioMeta = {}): this {
    const name = normalizePath(path);
    const existing = this.types.get(name);
    if (existing === S_IFDIR) {
      const entry = this.entries.find((e) => e.path === name)!;
      Object.assign(entry, this.metaFields(meta, 0o755, S_IFDIR));
      return this;
    }
    return this.add(name, S_IFDIR, meta, 0o755, new Uint8Array(0), 0, 0);
  }

  /** Adds a regular file; strings are stored as UTF-8. */
  file(path: string, data: Uint8Array | string, meta: CpioMeta = {}): this {
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    return this.add(normalizePath(path), S_IFREG, meta, 0o644, bytes, 0, 0);
  }

  /** Adds a symbolic link; the target is stored verbatim (relative or absolute). */
  symlink(path: string, target: string, meta: CpioMeta = {}): this {
    if (target.length === 0 || target.includes('\0')) throw new CpioError(`bad symlink target for ${path}: ${JSON.stringify(target)}`);
    return this.add(normalizePath(path), S_IFLNK, meta, 0o777, encoder.encode(target), 0, 0);
  }

  charDevice(path: string, major: number, minor: number, meta: CpioMeta = {}): this {
    return this.add(normalizePath(path), S_IFCHR, meta, 0o600, new Uint8Array(0), major, minor);
  }

  blockDevice(path: string, major: number, minor: number, meta: CpioMeta = {}): this {
    return this.add(normalizePath(path), S_IFBLK, meta, 0o600, new Uint8Array(0), major, minor);
  }

  fifo(path: string, meta: CpioMeta = {}): this {
    return this.add(normalizePath(path), S_IFIFO, meta, 0o644, new Uint8Array(0), 0, 0);
  }

  /** Whether an entry (explicit or implicit parent) exists at `path`. */
  has(path: string): boolean {
    return this.types.has(normalizePath(path));
  }

  /** Paths in archive order. */
  get paths(): string[] {
    return this.entries.map((e) => e.path);
  }

  /** Serialises all entries plus the trailer. The writer stays usable; inode numbers follow entry order from 1. */
  finish(): Uint8Array {
    let total = 0;
    for (const e of this.entries) total += entrySize(e.path, e.data.length);
    total += entrySize(TRAILER, 0);
    const out = new Uint8Array(total);
    let pos = 0;
    this.entries.forEach((e, i) => {
      pos = writeEntry(out, pos, e, i + 1);
    });
    pos = writeEntry(out, pos, { path: TRAILER, mode: 0, uid: 0, gid: 0, mtime: 0, nlink: 1, rdevMajor: 0, rdevMinor: 0, data: new Uint8Array(0) }, 0);
    if (pos !== total) throw new Error(`cpio size mismatch: wrote ${pos} of ${total}`);
    return out;
  }

  private add(name: string, type: number, meta: CpioMeta, defaultPerm: number, data: Uint8Array, rdevMajor: number, rdevMinor: number): this {
    if (this.types.has(name)) throw new CpioError(`duplicate cpio entry: ${name}`);
    if (data.length > 0xffffffff) throw new CpioError(`${name}: ${data.length} bytes does not fit the newc 32-bit size field`);
    checkField('rdev major', rdevMajor);
    checkField('rdev minor', rdevMinor);
    this.ensureParents(name);
    this.entries.push({
      path: name,
      ...this.metaFields(meta, defaultPerm, type),
      nlink: type === S_IFDIR ? 2 : 1,
      rdevMajor,
      rdevMinor,
      data,
    });
    this.types.set(name, type);
    return this;
  }

  private ensureParents(name: string): void {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const type = this.types.get(dir);
      if (type === undefined) this.add(dir, S_IFDIR, {}, 0o755, new Uint8Array(0), 0, 0);
      else if (type !== S_IFDIR) throw new CpioError(`${name}: parent ${dir} is not a directory`);
    }
  }

  private metaFields(meta: CpioMeta, defaultPerm: number, type: number): Pick<Entry, 'mode' | 'uid' | 'gid' | 'mtime'> {
    const perm = meta.mode ?? defaultPerm;
    if (!Number.isInteger(perm) || perm < 0 || perm > 0o7777) {
      throw new CpioError(`mode ${perm} is not a permission value (0..0o7777); the file type is implied by the entry kind`);
    }
    const fields = { mode: type | perm, uid: meta.uid ?? this.defaults.uid, gid: meta.gid ?? this.defaults.gid, mtime: meta.mtime ?? this.defaults.mtime };
    checkField('uid', fields.uid);
    checkField('gid', fields.gid);
    checkField('mtime', fields.mtime);
    return fields;
  }
}

/** Canonical archive path: no leading "/", no empty, "." or ".." components. */
function normalizePath(path: string): string {
  const name = path.replace(/^\/+/, '');
  if (name.length === 0) throw new CpioError('empty cpio path (the archive root needs no entry)');
  if (name.includes('\0')) throw new CpioError(`cpio path contains NUL: ${JSON.stringify(path)}`);
  for (const part of name.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new CpioError(`cpio path must be plain components: ${JSON.stringify(path)}`);
  }
  if (name === TRAILER) throw new CpioError(`${TRAILER} is reserved for the archive end`);
  return name;
}

function checkField(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new CpioError(`${what} ${value} does not fit a newc header field`);
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function entrySize(name: string, dataLength: number): number {
  return pad4(HEADER_SIZE + encoder.encode(name).length + 1) + pad4(dataLength);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function writeEntry(out: Uint8Array, pos: number, e: Entry, ino: number): number {
  const name = encoder.encode(e.path);
  const header =
    MAGIC +
    hex8(ino) +
    hex8(e.mode) +
    hex8(e.uid) +
    hex8(e.gid) +
    hex8(e.nlink) +
    hex8(e.mtime) +
    hex8(e.data.length) +
    hex8(0) + // devmajor: the archive's own "device"; constant, so (dev, ino) stays unique
    hex8(0) + // devminor
    hex8(e.rdevMajor) +
    hex8(e.rdevMinor) +
    hex8(name.length + 1) +
    hex8(0); // check: only used by the 070702 (crc) variant
  out.set(encoder.encode(header), pos);
  out.set(name, pos + HEADER_SIZE); // the NUL and padding are already zero
  pos += pad4(HEADER_SIZE + name.length + 1);
  out.set(e.data, pos);
  return pos + pad4(e.data.length);
}
