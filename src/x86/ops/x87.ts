// Instruction family: x87 (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const x87Ops: InsnDef[] = [];
