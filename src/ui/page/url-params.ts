// Boot settings from the page's URL, as JSLinux takes them:
//   ?kernel=URL&initrd=URL&append=CMDLINE&memory=MiB   a Linux kernel
//   ?multiboot=URL&append=CMDLINE                      a multiboot kernel
//   &disk=URL                                          a raw disk image (virtio-blk), changes kept in this browser
//   &disk=blank:N[:name]                               a blank persistent disk of N GiB
//   &signatures=URL[,URL]                              ClamAV .ndb/.hdb files for the code scanner
//   &autostart=0                                       wait for the Start button
// URLs are relative to the page. Without kernel or multiboot the bundled guest boots.
import type { VMOptions } from '../vm/types.ts';
import { parseDiskParam } from '../disk/disk-request.ts';

export interface PageParams {
  options: VMOptions;
  /** Problems with the parameters themselves, shown to the user; the rest still applies. */
  problems: string[];
}

export function parseParams(search: string): PageParams {
  const q = new URLSearchParams(search);
  const options: VMOptions = {};
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = q.get(name);
    return v === null || v.trim() === '' ? undefined : v.trim();
  };
  options.kernel = str('kernel');
  options.initrd = str('initrd');
  options.multiboot = str('multiboot');
  const append = q.get('append');
  if (append !== null) options.append = append;
  const memory = str('memory') ?? str('mem');
  if (memory !== undefined) {
    const n = Number(memory.replace(/M(iB)?$/i, ''));
    if (Number.isInteger(n) && n > 0) options.memoryMiB = n;
    else problems.push(`The memory size "${memory}" is not a whole number of MiB; using the default.`);
  }
  const disk = str('disk');
  if (disk !== undefined) {
    const d = parseDiskParam(disk);
    if (d.disk) options.disk = d.disk;
    if (d.problem) problems.push(d.problem);
  }
  const signatures = str('signatures');
  if (signatures !== undefined) options.signatures = signatures.split(',').map((u) => u.trim()).filter(Boolean);
  const autostart = str('autostart');
  if (autostart !== undefined) options.autostart = !/^(0|false|no|off)$/i.test(autostart);
  if (options.multiboot && options.kernel) {
    problems.push('Both multiboot= and kernel= were given; booting the multiboot kernel.');
    delete options.kernel;
    delete options.initrd;
  }
  for (const k of Object.keys(options) as (keyof VMOptions)[]) if (options[k] === undefined) delete options[k];
  return { options, problems };
}
