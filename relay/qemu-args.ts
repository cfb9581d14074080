// The QEMU command line for one VM, as a pure function so every flag can be
// checked in tests without starting QEMU. The inputs are already vetted:
// file paths are absolute real paths inside the images directory (see
// path-policy.ts), numbers are in range.
//
// QEMU is spawned without a shell, so argv elements need no quoting; only
// values embedded in QEMU's own "key=value,key=value" option syntax need
// their commas doubled.

import type { Accel, Arch, DiskInterface, Network } from './protocol.ts';

export interface VmSpec {
  arch: Arch;
  accel: Accel;
  kernel: string;
  initrd?: string;
  append?: string;
  memoryMiB: number;
  disk?: {
    path: string;
    interface: DiskInterface;
    /** Guest writes go to a temporary overlay, never to the image. */
    snapshot: boolean;
  };
  /** A guest reboot or system_reset ends QEMU instead of rebooting. */
  noReboot: boolean;
  network: Network;
  /** Extra arguments appended verbatim (the KVM probe adds its exit device). */
  extraArgs?: readonly string[];
}

export interface HostSide {
  /**
   * Unix socket the relay listens on; QEMU connects to it for QMP. Omitted
   * only by the KVM probe, whose guest ends QEMU by itself.
   */
  qmpSocketPath?: string;
  /** Enable QEMU's seccomp sandbox (no exec, no privilege changes). */
  sandbox: boolean;
  /**
   * Start with the vCPU stopped (-S), so the relay can finish QMP setup and
   * tell the client "started" before the guest prints its first byte.
   */
  startPaused: boolean;
}

export function qemuBinary(arch: Arch): string {
  return arch === 'x86_64' ? 'qemu-system-x86_64' : 'qemu-system-i386';
}

/** Doubles commas, QEMU's escape inside option values. */
export function escapeOptionValue(v: string): string {
  return v.replaceAll(',', ',,');
}

export function buildQemuArgs(spec: VmSpec, host: HostSide): string[] {
  const args: string[] = [
    // Ignore /etc/qemu configuration and start from an empty board: every
    // device the guest sees is one listed here.
    '-no-user-config',
    '-nodefaults',
    '-accel', spec.accel,
    '-m', String(spec.memoryMiB),
    '-display', 'none',
    '-monitor', 'none',
    // COM1 is QEMU's stdin/stdout, which the relay owns as pipes. signal=off:
    // a 0x03 byte from the browser is guest input, not a request to kill QEMU.
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    '-kernel', spec.kernel,
  ];
  if (host.qmpSocketPath !== undefined) {
    // QMP: QEMU connects out to the relay's socket (no listening socket on
    // QEMU's side, so no window where something else could connect first).
    args.push('-chardev', `socket,id=qmp,path=${escapeOptionValue(host.qmpSocketPath)}`, '-mon', 'chardev=qmp,mode=control');
  }
  if (spec.initrd !== undefined) args.push('-initrd', spec.initrd);
  if (spec.append !== undefined) args.push('-append', spec.append);
  if (spec.disk) {
    // format=raw is explicit on purpose: letting QEMU probe the format would
    // let a crafted qcow2 image name a backing file anywhere on the host.
    const d = spec.disk;
    args.push('-drive', `file=${escapeOptionValue(d.path)},format=raw,if=${d.interface},snapshot=${d.snapshot ? 'on' : 'off'}`);
  }
  args.push('-nic', spec.network === 'user' ? 'user,model=virtio-net-pci' : 'none');
  if (spec.noReboot) args.push('-no-reboot');
  if (host.startPaused) args.push('-S');
  if (host.sandbox) {
    args.push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  }
  if (spec.extraArgs) args.push(...spec.extraArgs);
  return args;
}
