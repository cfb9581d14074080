import { describe, expect, it } from 'vitest';
import { buildQemuArgs, escapeOptionValue, qemuBinary, type VmSpec } from './qemu-args.ts';

const base: VmSpec = {
  arch: 'i386',
  accel: 'tcg',
  kernel: '/img/bzImage',
  memoryMiB: 256,
  noReboot: false,
  network: 'none',
};
const host = { qmpSocketPath: '/tmp/x/qmp.sock', sandbox: true, startPaused: true };

/** Value following `flag`, for every occurrence. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe('buildQemuArgs', () => {
  it('builds an empty board with the console on stdio and QMP on the relay socket', () => {
    const args = buildQemuArgs(base, host);
    expect(args).toContain('-nodefaults');
    expect(args).toContain('-no-user-config');
    expect(values(args, '-accel')).toEqual(['tcg']);
    expect(values(args, '-m')).toEqual(['256']);
    expect(values(args, '-display')).toEqual(['none']);
    expect(values(args, '-monitor')).toEqual(['none']);
    expect(values(args, '-chardev')).toEqual(['stdio,id=console,signal=off', 'socket,id=qmp,path=/tmp/x/qmp.sock']);
    expect(values(args, '-serial')).toEqual(['chardev:console']);
    expect(values(args, '-mon')).toEqual(['chardev=qmp,mode=control']);
    expect(values(args, '-kernel')).toEqual(['/img/bzImage']);
    expect(values(args, '-sandbox')[0]).toMatch(/^on,.*spawn=deny/);
    expect(args).toContain('-S');
  });

  it('has no network unless asked, and then only user-mode', () => {
    expect(values(buildQemuArgs(base, host), '-nic')).toEqual(['none']);
    expect(values(buildQemuArgs({ ...base, network: 'user' }, host), '-nic')).toEqual(['user,model=virtio-net-pci']);
  });

  it('passes initrd, append (one argv element, no quoting) and -no-reboot', () => {
    const args = buildQemuArgs({ ...base, initrd: '/img/initrd.img', append: 'console=ttyS0 x="a b";$(id)', noReboot: true }, host);
    expect(values(args, '-initrd')).toEqual(['/img/initrd.img']);
    expect(values(args, '-append')).toEqual(['console=ttyS0 x="a b";$(id)']);
    expect(args).toContain('-no-reboot');
    expect(buildQemuArgs(base, host)).not.toContain('-no-reboot');
  });

  it('attaches disks as raw (never probed) with a snapshot overlay unless writable', () => {
    const disk = { path: '/img/a,b.raw', interface: 'virtio' as const, snapshot: true };
    expect(values(buildQemuArgs({ ...base, disk }, host), '-drive')).toEqual(['file=/img/a,,b.raw,format=raw,if=virtio,snapshot=on']);
    expect(values(buildQemuArgs({ ...base, disk: { ...disk, interface: 'ide', snapshot: false } }, host), '-drive')).toEqual([
      'file=/img/a,,b.raw,format=raw,if=ide,snapshot=off',
    ]);
  });

  it('honours the host-side switches', () => {
    const args = buildQemuArgs(base, { sandbox: false, startPaused: false });
    expect(args).not.toContain('-S');
    expect(args).not.toContain('-sandbox');
    expect(args).not.toContain('-mon');
  });

  it('escapes commas in option values and picks the binary by arch', () => {
    expect(escapeOptionValue('a,b,,c')).toBe('a,,b,,,,c');
    expect(qemuBinary('i386')).toBe('qemu-system-i386');
    expect(qemuBinary('x86_64')).toBe('qemu-system-x86_64');
  });
});
