// Exception escalation: double faults (contributory pairs, #PF during #PF
// through a #DF task gate) and a triple fault with --no-reboot, against QEMU.
import { describe, it, expect } from 'vitest';
import { buildSystemKernel, runBoth, PASS_STATUS } from './kernel.ts';
import { runTs86 } from '../build-kernel.ts';

describe('double and triple faults', () => {
  it('doublefault.asm matches qemu-system-i386', async () => {
    const { ts86, qemu } = await runBoth(buildSystemKernel('doublefault'));
    expect(ts86.stdout).toBe(qemu.stdout);
    expect(ts86.status).toBe(PASS_STATUS);
    expect(qemu.status).toBe(PASS_STATUS);
    expect(ts86.stdout).toMatch(/-- #GP with its gate not present\nexc 08 err=0000 /);
    expect(ts86.stdout).toContain('#DF task: cr2=003ff7fc\n');
    expect(ts86.stdout).toContain('#DF: panic\n');
  });

  it('triplefault.asm shuts down like qemu-system-i386 -no-reboot', async () => {
    const { ts86, qemu } = await runBoth(buildSystemKernel('triplefault'), { ts86Extra: ['--no-reboot'] });
    expect(ts86.stdout).toBe('before the triple fault\n');
    expect(ts86.stdout).toBe(qemu.stdout);
    expect(ts86.status).toBe(0);
    expect(qemu.status).toBe(0);
    expect(ts86.stderr).toContain('triple fault');
  });

  it('without --no-reboot a triple fault resets the machine, logs it, and the kernel runs again', async () => {
    const r = await runTs86(['run', buildSystemKernel('triplefault'), '--max-seconds', '3']);
    expect(r.status).toBe(124);
    // The boot program runs again after every reset, as a BIOS would reload the kernel.
    expect(r.stdout.split('before the triple fault\n').length - 1).toBeGreaterThan(1);
    expect(r.stderr).toMatch(/ts86: guest reset: triple fault/);
  });
});
