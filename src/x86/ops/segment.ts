// Instruction family: segment (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const segmentOps: InsnDef[] = [];
