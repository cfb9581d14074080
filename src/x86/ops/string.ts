// Instruction family: string (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const stringOps: InsnDef[] = [];
