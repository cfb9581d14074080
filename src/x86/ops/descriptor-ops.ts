// Instruction family: descriptor-ops (filled in by its owner).
import type { InsnDef } from '../table/types.ts';

export const descriptor_opsOps: InsnDef[] = [];
