// Instruction family: cond (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const condOps: InsnDef[] = [];
