// Instruction family: atomic (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const atomicOps: InsnDef[] = [];
