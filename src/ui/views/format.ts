// Numbers as people read them in the status bar and progress rows.
import type { Detection } from '../vm/types.ts';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** 0:07, 1:02:03. */
export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const two = (v: number): string => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

export function formatMips(mips: number): string {
  return mips >= 100 ? mips.toFixed(0) : mips.toFixed(1);
}

/** "2.1 MiB of 5.4 MiB (39%)", or "2.1 MiB" when the size is unknown. */
export function formatProgress(loaded: number, total: number | null): string {
  if (total === null || total <= 0) return formatBytes(loaded);
  return `${formatBytes(loaded)} of ${formatBytes(total)} (${Math.floor((loaded / total) * 100)}%)`;
}

/** A code scanner match as a sentence for the message list. */
export function detectionText(d: Detection): string {
  const where = `guest physical address 0x${d.phys.toString(16).padStart(8, '0')}`;
  // The ordinal tells two detections at one address apart (the page was rewritten and run again).
  return `Code scanner, detection ${d.index}: signature ${d.name} matched at ${where}, in a code page about to run for the first time since it was written` +
    (d.kind === 'hash' ? ' (the whole page matched a hash signature).' : '.');
}
