// Fetching a boot image with progress: the body is read as a stream so the
// page can show bytes and percent while a multi-megabyte kernel arrives, and
// every failure becomes a sentence that says what to check.
import { vmError } from './errors.ts';

export interface Progress { loaded: number; total: number | null }

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function download(url: string, what: string, onProgress: (p: Progress) => void, signal?: AbortSignal, accept = 'application/octet-stream'): Promise<Uint8Array> {
  let response: Response;
  try {
    // A specific type, without text/html or */*: dev servers with a single-page-app fallback (vite)
    // would otherwise answer a missing file with index.html and 200 instead of 404.
    response = await fetch(url, { signal, headers: { Accept: accept } });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw vmError('download',
      `Could not download the ${what} from ${url}: the request failed (${(e as Error).message}). ` +
      'Check the URL; a server on another origin must allow it with CORS and Cross-Origin-Resource-Policy headers (see docs/hosting.md).');
  }
  if (!response.ok) {
    throw vmError('download', `Could not download the ${what} from ${url}: the server answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`);
  }
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('text/html')) {
    throw vmError('download', `Could not download the ${what} from ${url}: the server sent an HTML page instead of a file. Check the URL.`);
  }
  const header = response.headers.get('content-length');
  // Content-Length counts encoded bytes; with compression it says nothing about the body we read.
  const encoded = response.headers.get('content-encoding');
  const total = header !== null && !encoded ? Number(header) : null;
  onProgress({ loaded: 0, total });
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress({ loaded: bytes.length, total: bytes.length });
    return bytes;
  }
  const reader = response.body.getReader();
  let buf = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, loaded + value.length));
      bigger.set(buf.subarray(0, loaded));
      buf = bigger;
    }
    buf.set(value, loaded);
    loaded += value.length;
    onProgress({ loaded, total });
  }
  if (total !== null && loaded !== total) {
    throw vmError('download', `The download of the ${what} from ${url} was cut short: got ${plural(loaded, 'byte')} of ${total}.`);
  }
  return buf.length === loaded ? buf : buf.slice(0, loaded);
}
