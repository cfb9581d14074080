// Control instructions that move whole pieces of state: FLDCW, FNSTCW,
// FNSTSW, FNINIT, FNCLEX, FNSTENV/FLDENV and FNSAVE/FRSTOR in the four
// environment formats (16/32-bit, real/protected), and the x87 part of the
// FXSAVE/FXRSTOR image.
//
// Tags: images carry tags, but like the P6 the FPU only keeps "empty or not"
// from a loaded tag word; the stored full tags are always recomputed from the
// register contents (valid / zero / special).
// Every load reads the whole image before changing anything, so a fault
// from the host leaves the state as it was.

import type { FpuState } from './state.ts';
import { contentTag } from './state.ts';
import { ENV_PROT16, ENV_PROT32, ENV_REAL32 } from './host.ts';
import { OFF_FCS, OFF_FDP, OFF_FDS, OFF_FIP, OFF_FOP } from './layout.ts';
import { CW_DEFAULT, SW_B, SW_ES, SW_EXC, TAG_EMPTY } from './bits.ts';

// ---- control word, status word, init, clear ------------------------------------

/**
 * Recomputes ES and B from the exception flags and masks. On the host ES/B
 * behave as derived bits (flags & ~masks), so this runs after anything that
 * changes CW or loads SW: FLDCW unmasking a raised flag makes it pending,
 * FNSTENV masking everything clears it.
 */
export function syncErrorSummary(s: FpuState): void {
  const sw = s.sw;
  s.sw = sw & ~s.cw & SW_EXC ? sw | SW_ES | SW_B : sw & ~(SW_ES | SW_B);
}

/** Bits 13..15 of the control word do not exist and bit 6 always reads as 1 (as on the host). */
export function normalizeCw(v: number): number {
  return (v & 0x1f3f) | 0x40;
}

export function fldcw(s: FpuState, v: number): void {
  s.cw = normalizeCw(v);
  syncErrorSummary(s);
}

export function fninit(s: FpuState): void {
  s.cw = CW_DEFAULT;
  s.sw = 0;
  s.tw = 0xffff;
  setPointers(s, 0, 0, 0, 0, 0);
}

/** FNCLEX: clears the exception flags, SF, ES and B; condition codes and TOP stay. */
export function fnclex(s: FpuState): void {
  s.sw = s.sw & 0x7f00;
}

// ---- pointers -------------------------------------------------------------------

export function setPointers(s: FpuState, fip: number, fcs: number, fop: number, fdp: number, fds: number): void {
  const m = s.mem, b = s.base;
  m.setUint32(b + OFF_FIP, fip >>> 0, true);
  m.setUint16(b + OFF_FCS, fcs & 0xffff, true);
  m.setUint16(b + OFF_FOP, fop & 0x7ff, true);
  m.setUint32(b + OFF_FDP, fdp >>> 0, true);
  m.setUint16(b + OFF_FDS, fds & 0xffff, true);
}

/** The tag word for an image: empty stays empty, other tags come from the contents. */
export function imageTagWord(s: FpuState): number {
  let tw = 0;
  for (let p = 0; p < 8; p++) {
    const t = s.physTag(p) === TAG_EMPTY ? TAG_EMPTY : contentTag(s.mem, s.physOffset(p));
    tw |= t << (2 * p);
  }
  return tw;
}

/** Installs a loaded tag word: only empty / non-empty is kept, the rest is recomputed from contents. */
function loadTagWord(s: FpuState, tw: number): void {
  let t = 0;
  for (let p = 0; p < 8; p++) {
    const tag = ((tw >>> (2 * p)) & 3) === TAG_EMPTY ? TAG_EMPTY : contentTag(s.mem, s.physOffset(p));
    t |= tag << (2 * p);
  }
  s.tw = t;
}

// ---- FSTENV / FLDENV ------------------------------------------------------------------

/** Size in bytes of the environment image for a format. */
export function envSize(fmt: number): number {
  return fmt === ENV_PROT32 || fmt === ENV_REAL32 ? 28 : 14;
}

/** Writes the environment image (without changing the state); `size` bytes are probed first (the whole FNSAVE image). */
function storeEnv(s: FpuState, ea: number, fmt: number, size = envSize(fmt)): void {
  const h = s.host, m = s.mem, b = s.base;
  s.probeStore(ea, size);
  const cw = s.cw, sw = s.sw, tw = imageTagWord(s);
  const fip = m.getUint32(b + OFF_FIP, true), fcs = m.getUint16(b + OFF_FCS, true);
  const fop = m.getUint16(b + OFF_FOP, true);
  const fdp = m.getUint32(b + OFF_FDP, true), fds = m.getUint16(b + OFF_FDS, true);
  const prot = fmt === ENV_PROT16 || fmt === ENV_PROT32;
  // Real-mode images hold 20/32-bit linear addresses instead of selector:offset.
  const ipLin = (fip + fcs * 16) >>> 0, dpLin = (fdp + fds * 16) >>> 0;
  if (fmt === ENV_PROT32 || fmt === ENV_REAL32) {
    // The reserved upper halves read back as ones on the host.
    h.write32(ea, (0xffff0000 | cw) >>> 0);
    h.write32(ea + 4, (0xffff0000 | sw) >>> 0);
    h.write32(ea + 8, (0xffff0000 | tw) >>> 0);
    if (prot) {
      h.write32(ea + 12, fip);
      h.write32(ea + 16, ((fop << 16) | fcs) >>> 0);
      h.write32(ea + 20, fdp);
      h.write32(ea + 24, (0xffff0000 | fds) >>> 0);
    } else {
      h.write32(ea + 12, (0xffff0000 | (ipLin & 0xffff)) >>> 0);
      h.write32(ea + 16, (((ipLin >>> 16) << 12) | fop) >>> 0);
      h.write32(ea + 20, (0xffff0000 | (dpLin & 0xffff)) >>> 0);
      h.write32(ea + 24, ((dpLin >>> 16) << 12) >>> 0);
    }
  } else {
    h.write16(ea, cw);
    h.write16(ea + 2, sw);
    h.write16(ea + 4, tw);
    if (prot) {
      h.write16(ea + 6, fip & 0xffff);
      h.write16(ea + 8, fcs);
      h.write16(ea + 10, fdp & 0xffff);
      h.write16(ea + 12, fds);
    } else {
      h.write16(ea + 6, ipLin & 0xffff);
      h.write16(ea + 8, (((ipLin >>> 16) & 0xf) << 12) | fop);
      h.write16(ea + 10, dpLin & 0xffff);
      h.write16(ea + 12, ((dpLin >>> 16) & 0xf) << 12);
    }
  }
}

/** Scratch for a loaded environment: cw, sw, tw, fip, fcs, fop, fdp, fds. */
const envIn = new Float64Array(8);

function readEnv(s: FpuState, ea: number, fmt: number): void {
  const h = s.host;
  if (fmt === ENV_PROT32 || fmt === ENV_REAL32) {
    envIn[0] = h.read16(ea);
    envIn[1] = h.read16(ea + 4);
    envIn[2] = h.read16(ea + 8);
    if (fmt === ENV_PROT32) {
      envIn[3] = h.read32(ea + 12);
      const d = h.read32(ea + 16);
      envIn[4] = d & 0xffff;
      envIn[5] = (d >>> 16) & 0x7ff;
      envIn[6] = h.read32(ea + 20);
      envIn[7] = h.read32(ea + 24) & 0xffff; // the whole image is read: its last bytes can fault too
    } else {
      const d = h.read32(ea + 16);
      envIn[3] = ((h.read16(ea + 12) | ((d >>> 12) << 16)) >>> 0);
      envIn[4] = 0;
      envIn[5] = d & 0x7ff;
      envIn[6] = ((h.read16(ea + 20) | ((h.read32(ea + 24) >>> 12) << 16)) >>> 0);
      envIn[7] = 0;
    }
  } else {
    envIn[0] = h.read16(ea);
    envIn[1] = h.read16(ea + 2);
    envIn[2] = h.read16(ea + 4);
    if (fmt === ENV_PROT16) {
      envIn[3] = h.read16(ea + 6);
      envIn[4] = h.read16(ea + 8);
      envIn[5] = 0;
      envIn[6] = h.read16(ea + 10);
      envIn[7] = h.read16(ea + 12);
    } else {
      const d = h.read16(ea + 8);
      envIn[3] = h.read16(ea + 6) | ((d >>> 12) << 16);
      envIn[4] = 0;
      envIn[5] = d & 0x7ff;
      envIn[6] = h.read16(ea + 10) | ((h.read16(ea + 12) >>> 12) << 16);
      envIn[7] = 0;
    }
  }
}

/** Installs envIn (after the register contents, if any, are in place: tags depend on them). */
function applyEnv(s: FpuState): void {
  s.cw = normalizeCw(envIn[0]);
  s.sw = envIn[1];
  loadTagWord(s, envIn[2]);
  setPointers(s, envIn[3], envIn[4], envIn[5], envIn[6], envIn[7]);
  syncErrorSummary(s);
}

/** FNSTENV: store the environment, then mask all exceptions. */
export function fnstenv(s: FpuState, ea: number, fmt: number): void {
  storeEnv(s, ea, fmt);
  s.cw = s.cw | 0x3f;
  syncErrorSummary(s);
}

export function fldenv(s: FpuState, ea: number, fmt: number): void {
  readEnv(s, ea, fmt);
  applyEnv(s);
}

// ---- FSAVE / FRSTOR ----------------------------------------------------------------------

/** FNSAVE: environment + ST0..ST7 (10 bytes each, stack order), then FNINIT. */
export function fnsave(s: FpuState, ea: number, fmt: number): void {
  storeEnv(s, ea, fmt, envSize(fmt) + 80);
  const h = s.host;
  let p = ea + envSize(fmt);
  for (let i = 0; i < 8; i++, p += 10) {
    h.write32(p, s.lo(i));
    h.write32(p + 4, s.hi(i));
    h.write16(p + 8, s.se(i));
  }
  fninit(s);
}

const regsIn = new Float64Array(24);

export function frstor(s: FpuState, ea: number, fmt: number): void {
  readEnv(s, ea, fmt);
  const h = s.host;
  let p = ea + envSize(fmt);
  for (let i = 0; i < 8; i++, p += 10) {
    regsIn[3 * i] = h.read32(p);
    regsIn[3 * i + 1] = h.read32(p + 4);
    regsIn[3 * i + 2] = h.read16(p + 8);
  }
  // Registers are in stack order relative to the TOP being loaded.
  const top = (envIn[1] >>> 11) & 7;
  for (let i = 0; i < 8; i++) {
    const o = s.physOffset((top + i) & 7);
    s.mem.setUint32(o, regsIn[3 * i], true);
    s.mem.setUint32(o + 4, regsIn[3 * i + 1], true);
    s.mem.setUint16(o + 8, regsIn[3 * i + 2], true);
  }
  applyEnv(s);
}

// ---- FXSAVE / FXRSTOR (x87 part) -------------------------------------------------------------

/**
 * Writes bytes 0..23 and the register area 32..159 of the FXSAVE image:
 * FCW, FSW, abridged tag byte (1 = non-empty, by physical register), FOP,
 * FIP, FCS, FDP, FDS, then ST0..ST7 in 16-byte slots (stack order, upper 6
 * bytes zero). MXCSR (24..31) and the XMM area belong to the SSE unit.
 * Like the P6 (and unlike AMD, which stores them only while ES is set), the
 * pointers are always stored.
 */
export function fxsave(s: FpuState, ea: number): void {
  const h = s.host, m = s.mem, b = s.base;
  s.probeStore(ea, 512); // the whole image, SSE part included
  let ftw = 0;
  for (let p = 0; p < 8; p++) if (s.physTag(p) !== TAG_EMPTY) ftw |= 1 << p;
  h.write16(ea, s.cw);
  h.write16(ea + 2, s.sw);
  h.write16(ea + 4, ftw);
  h.write16(ea + 6, m.getUint16(b + OFF_FOP, true));
  h.write32(ea + 8, m.getUint32(b + OFF_FIP, true));
  h.write32(ea + 12, m.getUint16(b + OFF_FCS, true));
  h.write32(ea + 16, m.getUint32(b + OFF_FDP, true));
  h.write32(ea + 20, m.getUint16(b + OFF_FDS, true));
  for (let i = 0; i < 8; i++) {
    const p = ea + 32 + 16 * i;
    h.write32(p, s.lo(i));
    h.write32(p + 4, s.hi(i));
    h.write32(p + 8, s.se(i));
    h.write32(p + 12, 0);
  }
}

export function fxrstor(s: FpuState, ea: number): void {
  const h = s.host;
  envIn[0] = h.read16(ea);
  envIn[1] = h.read16(ea + 2);
  const ftw = h.read8(ea + 4);
  envIn[5] = h.read16(ea + 6) & 0x7ff;
  envIn[3] = h.read32(ea + 8);
  envIn[4] = h.read16(ea + 12);
  envIn[6] = h.read32(ea + 16);
  envIn[7] = h.read16(ea + 20);
  for (let i = 0; i < 8; i++) {
    const p = ea + 32 + 16 * i;
    regsIn[3 * i] = h.read32(p);
    regsIn[3 * i + 1] = h.read32(p + 4);
    regsIn[3 * i + 2] = h.read16(p + 8);
  }
  h.read8(ea + 511); // the host reads the whole 512-byte image (its SSE part too) before changing anything
  const top = (envIn[1] >>> 11) & 7;
  for (let i = 0; i < 8; i++) {
    const o = s.physOffset((top + i) & 7);
    s.mem.setUint32(o, regsIn[3 * i], true);
    s.mem.setUint32(o + 4, regsIn[3 * i + 1], true);
    s.mem.setUint16(o + 8, regsIn[3 * i + 2], true);
  }
  // Abridged tags are per physical register: 0 = empty.
  let tw = 0;
  for (let p = 0; p < 8; p++) if (!((ftw >>> p) & 1)) tw |= TAG_EMPTY << (2 * p);
  envIn[2] = tw;
  applyEnv(s);
}
