// Table forms the differential suite deliberately does not run, each with the reason.
// Everything here is something a Linux user process cannot run meaningfully or whose
// result differs from the host by design; the bare-metal system tests cover the rest.
import type { InsnDef } from '../../../src/x86/table/types.ts';
import type { ParsedForm } from './forms.ts';

const BY_MNEMONIC: ReadonlyArray<[RegExp, string]> = [
  [/^(in|out|ins[bwd]?|outs[bwd]?)$/, 'port I/O (needs IOPL/TSS bitmap; bare-metal tests)'],
  [/^(int|int1|icebp|int3|iret[wd]?|syscall|sysenter|sysexit|sysret)$/, 'software interrupts/system calls: depend on the host IDT and kernel'],
  [/^(cpuid|rdtscp?|rdpmc|rdrand|rdseed|rdpid|xgetbv)$/, 'reports host-specific values by design'],
  [/^(hlt|cli|sti|clts|invd|wbinvd|invlpg|lmsw|lgdt|lidt|lldt|ltr|rdmsr|wrmsr|swapgs|monitor|mwait)$/, 'privileged or IOPL-sensitive (bare-metal tests)'],
  [/^(sgdt|sidt|sldt|str|smsw|lar|lsl|verr|verw)$/, 'reads host descriptor tables/CR0 (Linux emulates some under UMIP)'],
  [/^(lds|les|lss|lfs|lgs)$/, 'segment load'],
  [/^(retf|jmpf|callf)$/, 'far control transfer'],
  [/^(fxsave|fxrstor|xsave|xrstor|xsaveopt|ldmxcsr|stmxcsr|emms|femms)$/, 'SSE/MMX state is not part of the snippet state'],
  // ts86 models a CPU without SSE3 and so raises #UD for FISTTP; the host has SSE3.
  [/^fisttp$/, 'SSE3 instruction beyond the CPU model ts86 advertises (it is #UD there by design)'],
];

/** Far branches and iret by opcode, in case the table spells them as plain call/jmp/ret. */
const FAR_OPCODES = new Set([0x9a, 0xea, 0xca, 0xcb, 0xcf]);

/** Why the whole entry is excluded, or null. */
export function excludeEntry(def: InsnDef, form: ParsedForm): string | null {
  if (def.opcode < 0) return 'decoder pseudo-entry, not an instruction';
  if (def.privileged) return 'privileged (CPL 0 only; bare-metal tests)';
  for (const [re, why] of BY_MNEMONIC) if (re.test(def.mnemonic)) return why;
  if (FAR_OPCODES.has(def.opcode)) return 'far control transfer / iret';
  if (def.opcode === 0xff && (def.ext === 3 || def.ext === 5)) return 'far control transfer';
  if (def.mnemonic === 'mov' && def.opcode === 0x8e) return 'segment load (mov Sw,Ew)';
  if (def.mnemonic === 'pop' && form.operands.some((o) => o.k === 'sreg')) return 'segment load (pop sreg)';
  if (form.operands.some((o) => o.k === 'sreg' && o.sreg >= 4)) return 'FS/GS selectors differ: Linux uses GS for TLS, ts86 starts them at 0';
  return null;
}

/** Why one operand-size variant is excluded, or null. */
export function excludeVariant(def: InsnDef, osize: 16 | 32): string | null {
  if (def.mnemonic === 'bswap' && osize === 16) return 'bswap of a 16-bit register is undefined (SDM)';
  return null;
}
