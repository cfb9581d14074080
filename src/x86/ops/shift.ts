// Instruction family: shift (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const shiftOps: InsnDef[] = [];
