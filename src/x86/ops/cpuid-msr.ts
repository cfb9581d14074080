// Instruction family: cpuid-msr (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const cpuid_msrOps: InsnDef[] = [];
