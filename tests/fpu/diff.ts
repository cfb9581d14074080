// Runs a batch of oracle cases natively and through the emulator and reports
// the differences in readable form.

import { runNative, type OracleCase, type OracleResult } from './oracle/native.ts';
import { Emulator } from './oracle/emu.ts';

export interface Compare {
  /** Bytes of the FSAVE image to ignore (e.g. pointers that differ by design). */
  ignoreState?: (i: number, native: OracleResult) => boolean;
  /** Custom acceptance for results that are only ulp-bounded. */
  accept?: (c: OracleCase, native: OracleResult, emu: OracleResult) => boolean;
  eflagsMask?: number;
  /** Bytes of the memory operand to ignore. */
  ignoreMem?: (c: OracleCase, i: number) => boolean;
}

const hex = (b: Uint8Array, from: number, to: number) =>
  Array.from(b.slice(from, to)).reverse().map((v) => v.toString(16).padStart(2, '0')).join('');

export function describeState(s: Uint8Array): string {
  const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
  const regs: string[] = [];
  for (let i = 0; i < 8; i++) regs.push(`st${i}=${hex(s, 36 + 10 * i, 38 + 10 * i)}:${hex(s, 28 + 10 * i, 36 + 10 * i)}`);
  return `cw=${dv.getUint16(0, true).toString(16)} sw=${dv.getUint16(4, true).toString(16)} tw=${dv.getUint16(8, true).toString(16)} ` +
    `fip=${dv.getUint32(12, true).toString(16)} fcs/fop=${dv.getUint32(16, true).toString(16)} fdp=${dv.getUint32(20, true).toString(16)} fds=${dv.getUint16(24, true).toString(16)} ` +
    regs.join(' ');
}

/**
 * A context switch between the harness's FRSTOR and FNSAVE goes through the
 * kernel's FXSAVE/XRSTOR, which on AMD drops the x87 pointers while no
 * exception is pending: the host then reports zero FIP/FCS/FOP/FDP/FDS.
 * When an exception is pending the pointers survive, but the 64-bit XSAVE
 * format has no FCS/FDS: those come back zero alone. Such zeros (only there)
 * are tolerated.
 */
function preempted(i: number, hw: Uint8Array): boolean {
  if (i < 12 || i >= 28) return false;
  if ((i === 16 || i === 17) && hw[16] === 0 && hw[17] === 0) return true;
  if ((i === 24 || i === 25) && hw[24] === 0 && hw[25] === 0) return true;
  if (i >= 20) return hw[20] === 0 && hw[21] === 0 && hw[22] === 0 && hw[23] === 0 && hw[24] === 0 && hw[25] === 0;
  return hw[12] === 0 && hw[13] === 0 && hw[14] === 0 && hw[15] === 0 && hw[16] === 0 && hw[17] === 0 && hw[18] === 0 && hw[19] === 0;
}

const SIGSEGV = 11;

export interface DiffReport {
  total: number;
  failures: string[];
  failed: number;
}

export function runDiff(cases: OracleCase[], cmp: Compare = {}, maxReports = 5): DiffReport {
  const nat = runNative(cases);
  const emu = new Emulator(nat.codeAddr, nat.memAddr, nat.pageAddr);
  const failures: string[] = [];
  let failed = 0;
  const efm = cmp.eflagsMask ?? 0x8d5;
  cases.forEach((c, k) => {
    const n = nat.results[k];
    let e: OracleResult;
    let err = '';
    try {
      e = emu.run(c);
    } catch (x) {
      err = String((x as Error).stack ?? x);
      e = { signal: -1, eflags: 0, state: new Uint8Array(108), mem: new Uint8Array(c.mem.length) };
    }
    let same = n.signal === e.signal && ((n.eflags ^ e.eflags) & efm) === 0 && !err;
    // After #UD or #MF nothing ran; the state then is not compared. After a
    // page fault (SIGSEGV on a guard page) it is: a faulting access must leave
    // the FPU and the memory as they were. Only the pointers are not compared
    // there, the signal frame's are the kernel's (64-bit XSAVE, no selectors).
    const trapped = n.signal !== 0 && n.signal === e.signal && n.signal !== SIGSEGV;
    const faulted = n.signal === SIGSEGV;
    if (same && !trapped)
      for (let i = 0; i < 108; i++)
        if (n.state[i] !== e.state[i] && !cmp.ignoreState?.(i, n) && !preempted(i, n.state) && !(faulted && i >= 12 && i < 28)) same = false;
    if (same && !trapped) for (let i = 0; i < c.mem.length; i++) if (n.mem[i] !== e.mem[i] && !cmp.ignoreMem?.(c, i)) same = false;
    if (!same && cmp.accept?.(c, n, e)) same = true;
    if (!same) {
      failed++;
      if (failures.length < maxReports)
        failures.push(
          `code=${Array.from(c.code).map((b) => b.toString(16).padStart(2, '0')).join(' ')} eflags=${c.eflags.toString(16)}\n` +
            `  in : ${describeState(c.state)} mem=${hex(c.mem, 0, c.mem.length)}${c.cross ? ` cross=${c.cross}` : ''}\n` +
            `  hw : sig=${n.signal} fl=${(n.eflags & efm).toString(16)} ${describeState(n.state)} mem=${hex(n.mem, 0, n.mem.length)}\n` +
            `  emu: sig=${e.signal} fl=${(e.eflags & efm).toString(16)} ${describeState(e.state)} mem=${hex(e.mem, 0, e.mem.length)}${err ? '\n  ' + err : ''}`,
        );
    }
  });
  return { total: cases.length, failures, failed };
}
