// Instruction family: bitops (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const bitopsOps: InsnDef[] = [];
