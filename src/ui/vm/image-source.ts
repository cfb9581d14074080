// Turning an ImageSource (URL, File/Blob, or bytes) into the bytes the
// machine loads, with a name for messages and progress reports.
import type { ImageSource } from './types.ts';
import { download, type Progress } from './downloader.ts';

export interface LoadedImage { name: string; bytes: Uint8Array }

/** A short name for messages: a file's name, or the last part of a URL's path. */
export function sourceName(source: ImageSource): string {
  if (typeof Blob !== 'undefined' && source instanceof Blob) return (source as File).name || 'file';
  if (typeof source === 'string' || source instanceof URL) {
    const path = (typeof source === 'string' ? source : source.pathname).split(/[?#]/)[0];
    return decodeURIComponent(path.split('/').filter(Boolean).pop() ?? String(source));
  }
  return 'image';
}

/** Copies caller-owned bytes, so transferring them to the worker cannot detach the caller's buffer. */
function ownBytes(source: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (source instanceof ArrayBuffer) return new Uint8Array(source.slice(0));
  return new Uint8Array(source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength));
}

export async function loadImage(source: ImageSource, what: string, onProgress: (p: Progress & { source: string }) => void, signal?: AbortSignal): Promise<LoadedImage> {
  const name = sourceName(source);
  if (typeof source === 'string' || source instanceof URL) {
    // Absolute, so messages say exactly what was asked of which server.
    const url = new URL(String(source), globalThis.document?.baseURI ?? globalThis.location?.href).href;
    const bytes = await download(url, what, (p) => onProgress({ ...p, source: url }), signal);
    return { name, bytes };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    onProgress({ loaded: 0, total: source.size, source: name });
    const bytes = new Uint8Array(await source.arrayBuffer());
    onProgress({ loaded: bytes.length, total: bytes.length, source: name });
    return { name, bytes };
  }
  const bytes = ownBytes(source as ArrayBuffer | ArrayBufferView);
  return { name, bytes };
}
