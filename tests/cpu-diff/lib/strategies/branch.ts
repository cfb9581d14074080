// Near control transfers. Every target is inside the snippet (or deliberately unmapped), so
// both the taken and the not-taken path end at the snippet's end; EAX records which path ran.
import { ECX, ESP, UNMAPPED_ADDRS, WINDOW_BASE, WINDOW_SIZE } from '../layout.ts';
import { isCounterBranch } from '../mnemonics.ts';
import { dataValue } from '../values.ts';
import { type Strategy, memOp, regOps } from './types.ts';

const isRet = (m: string): boolean => m === 'ret' || m === 'retn';

/** Jcc/jmp/call/loop/jecxz with a relative target. */
export const relativeBranch: Strategy = {
  name: 'branch',
  matches: (v) => v.form.operands.some((o) => o.k === 'J'),
  prepare(d) {
    if (!isCounterBranch(d.v.def.mnemonic)) return { label: '.t' };
    // ECX = 0x10000 has CX = 0: 16-bit addressing (a16) must count in CX only.
    d.b.pin(ECX, d.rng.pick([0, 1, 2, 0x10000, 0x10001, dataValue(d.rng, 32)]));
    return { label: '.t', a16: d.rng.chance(0.3) };
  },
  finish(d) {
    if (d.rng.chance(0.5)) {
      d.post.push('lea eax, [eax+1]', '.t:');
    } else {
      // Backward target: jump over it first, come back through the instruction under test.
      d.pre.push('jmp short .s', '.t:', 'lea eax, [eax+2]', 'jmp short .cd_end', '.s:');
      d.post.push('lea eax, [eax+1]');
    }
  },
};

/** ret / ret imm16: the return address on the stack is the snippet's end (or unmapped). */
export const returns: Strategy = {
  name: 'ret',
  matches: (v) => isRet(v.def.mnemonic) && !v.form.operands.some((o) => o.k === 'J'),
  prepare: (d) => ({ imms: [d.rng.pick([0, 2, 4, 8, 0x10, d.rng.int(0x100)])] }),
  finish(d) {
    const sp = d.b.regs[ESP]! - WINDOW_BASE;
    if (d.rng.chance(0.85)) d.endFixups.push({ kind: 'mem', offset: sp });
    else d.b.patchValue(sp, d.rng.pick(UNMAPPED_ADDRS), 4);
  },
};

/** jmp/call through a register or memory: the target is the snippet's end (or unmapped). */
export const indirectBranch: Strategy = {
  name: 'indirect-branch',
  matches: (v) => v.def.opcode === 0xff && (v.def.ext === 2 || v.def.ext === 4),
  finish(d, inst) {
    const m = memOp(inst);
    const unmapped = d.rng.chance(0.15);
    const target = d.rng.pick(UNMAPPED_ADDRS);
    if (m) {
      if (unmapped) d.b.patchValue(m.offset, target, 4);
      else if (m.offset >= 0 && m.offset + 4 <= WINDOW_SIZE) d.endFixups.push({ kind: 'mem', offset: m.offset });
      return;
    }
    const r = regOps(inst)[0];
    if (!r || d.b.pinned.has(r.reg)) return; // the register also addresses memory: keep its value
    if (unmapped) d.b.setReg(r, target);
    else d.endFixups.push({ kind: 'reg', reg: r.reg });
  },
};
