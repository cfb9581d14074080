// Instruction family: muldiv (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const muldivOps: InsnDef[] = [];
