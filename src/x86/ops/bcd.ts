// Instruction family: bcd (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const bcdOps: InsnDef[] = [];
