// Hardware task switches (CALL/JMP to TSS, task gates for CALL, #GP and
// INT n, IRET with NT, a 16-bit TSS, a CR3 switch), checked against QEMU.
import { describe, it, expect } from 'vitest';
import { buildSystemKernel, runBoth, PASS_STATUS } from './kernel.ts';

describe('task switching (tasks.asm)', () => {
  it('matches qemu-system-i386', async () => {
    const { ts86, qemu } = await runBoth(buildSystemKernel('tasks'));
    expect(ts86.stdout).toBe(qemu.stdout);
    expect(ts86.status).toBe(PASS_STATUS);
    expect(qemu.status).toBe(PASS_STATUS);
    expect(ts86.stdout).toContain('B link=0038\nB ebx=00000000\nnt=4000\nB sees tss0 ar=00008b00\n');
    expect(ts86.stdout).toContain('C sees tss0 ar=00008900\n');
    expect(ts86.stdout).toContain('D error code=1234\n');
    expect(ts86.stdout).toContain('D error code=0038\n');
    expect(ts86.stdout).toContain('G sees=99999999\n');
  });
});
