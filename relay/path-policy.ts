// Which files a client may hand to QEMU: regular files inside the one
// directory the operator allowed (--images). Client paths are relative
// names, checked twice: syntactically (no absolute paths, no `..`, no
// backslashes) so that mistakes get a clear reason, and then by resolving
// symlinks with realpath and requiring the result to stay under the
// directory's own realpath, which is what actually keeps a symlink such as
// images/evil -> /etc/passwd out.
//
// Known limit: QEMU opens the file after this check, so someone who can write
// into the images directory could swap a file for a symlink in between. The
// images directory is the operator's; the policy is about what *clients*
// can name.

import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { RelayError } from './errors.ts';

export class ImageDirectory {
  private constructor(readonly root: string) {}

  /** Opens the allowed directory; fails with a readable message if it is not one. */
  static async open(dir: string): Promise<ImageDirectory> {
    let root: string;
    try {
      root = await realpath(dir);
    } catch {
      throw new Error(`images directory ${dir} does not exist`);
    }
    if (!(await stat(root)).isDirectory()) throw new Error(`images path ${dir} is not a directory`);
    return new ImageDirectory(root);
  }

  /**
   * Absolute real path of the regular file `clientPath` names, or a
   * RelayError: `bad-path` for names that are refused by rule, `not-found`
   * for names that are fine but do not exist (or are not regular files).
   */
  async resolve(clientPath: string, what = 'file'): Promise<string> {
    checkSyntax(clientPath, what);
    const candidate = path.join(this.root, clientPath);
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      throw new RelayError('not-found', `${what} ${JSON.stringify(clientPath)} does not exist in the images directory`);
    }
    if (!isInside(this.root, real)) {
      throw new RelayError('bad-path', `${what} ${JSON.stringify(clientPath)} leads outside the images directory (through a symlink)`);
    }
    const info = await stat(real);
    if (!info.isFile()) {
      throw new RelayError('not-found', `${what} ${JSON.stringify(clientPath)} is not a regular file`);
    }
    return real;
  }
}

function checkSyntax(p: string, what: string): void {
  const refuse = (why: string) => new RelayError('bad-path', `${what} ${JSON.stringify(p)} refused: ${why}`);
  if (p.length === 0) throw refuse('empty path');
  if (p.includes('\0')) throw refuse('contains NUL');
  // Both flavours of absolute path, so that a Windows-style name is refused
  // with a reason instead of being treated as a strange relative name.
  if (path.posix.isAbsolute(p) || path.win32.isAbsolute(p)) throw refuse('absolute paths are not allowed; name a file relative to the images directory');
  if (p.includes('\\')) throw refuse('backslashes are not allowed; use /');
  if (p.split('/').some((seg) => seg === '..')) throw refuse('".." is not allowed');
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  // `..foo` is a legal file name inside root, so compare whole segments.
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
