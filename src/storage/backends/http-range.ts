// Byte-range GETs with retry and exponential backoff, on the standard fetch
// (browsers and Node 20 alike). Every failure ends as a StorageError that
// says what to do about it.

import { StorageError, formatBytes } from '../errors.ts';

export interface RetryPolicy {
  /** Retries after the first attempt. Default 4. */
  retries: number;
  /** First backoff delay; doubles per retry, with jitter. Default 250 ms. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 250, maxDelayMs: 8000 };

export interface RangeClient {
  fetch: typeof fetch;
  retry: RetryPolicy;
  /** Called before each retry (for progress/diagnostics). */
  onRetry?: (attempt: number, reason: string, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** HTTP statuses worth retrying: timeouts, rate limits and server-side failures. */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function backoff(policy: RetryPolicy, attempt: number): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return d / 2 + Math.random() * (d / 2);
}

function describeStatusError(url: string, res: Response): StorageError {
  if (res.status === 404 || res.status === 410) {
    return new StorageError('not-found', `disk image ${url} was not found (HTTP ${res.status}); check the URL and that the file is being served`);
  }
  if (res.status === 401 || res.status === 403) {
    return new StorageError('not-found', `access to disk image ${url} was refused (HTTP ${res.status}); it must be readable without credentials`);
  }
  if (res.status === 416) {
    return new StorageError('out-of-range', `${url} answered 416 (range not satisfiable): the image is smaller than expected; was it replaced while in use?`);
  }
  return new StorageError('io', `fetching ${url} failed with HTTP ${res.status} ${res.statusText}`);
}

function rangeUnsupported(url: string): StorageError {
  return new StorageError(
    'range-unsupported',
    `the server for ${url} ignored the Range header (it answered 200 with the whole file), so the image cannot be read lazily; ` +
      `serve it from a server with byte-range support (vite, nginx, Apache, most CDNs) or load the whole image into memory`,
  );
}

/** Parses "bytes START-END/TOTAL". */
function parseContentRange(h: string | null): { start: number; end: number; total: number | null } | null {
  const m = h && /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h.trim());
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

interface RangeResult {
  bytes: Uint8Array;
  total: number | null;
}

/** GET bytes [start, end) of `url`, retrying transient failures. */
export async function getRange(client: RangeClient, url: string, start: number, end: number): Promise<RangeResult> {
  const sleep = client.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    let failure: string;
    try {
      const res = await client.fetch(url, { headers: { Range: `bytes=${start}-${end - 1}` }, cache: 'no-store' });
      if (res.status === 206) {
        const cr = parseContentRange(res.headers.get('Content-Range'));
        const body = new Uint8Array(await res.arrayBuffer());
        if (cr && cr.start !== start) {
          throw new StorageError('io', `${url} returned bytes from ${cr.start} when asked for ${start}; the server's range support is broken`);
        }
        if (body.length !== end - start && !(cr?.total != null && start + body.length === cr.total)) {
          failure = `short body: ${body.length} of ${end - start} bytes`;
        } else return { bytes: body, total: cr?.total ?? null };
      } else if (res.status === 200) {
        await res.body?.cancel();
        throw rangeUnsupported(url);
      } else if (!retryable(res.status)) {
        await res.body?.cancel();
        throw describeStatusError(url, res);
      } else {
        await res.body?.cancel();
        failure = `HTTP ${res.status}`;
      }
    } catch (e) {
      if (e instanceof StorageError) throw e;
      failure = e instanceof Error ? e.message : String(e); // network error: retry
    }
    if (attempt >= client.retry.retries) {
      throw new StorageError(
        'network',
        `could not fetch ${formatBytes(end - start)} at offset ${start} of ${url} after ${attempt + 1} attempts (last error: ${failure}); ` +
          `check the network connection and that the server is up`,
      );
    }
    const delay = backoff(client.retry, attempt);
    client.onRetry?.(attempt + 1, failure, delay);
    await sleep(delay);
  }
}

/** The image size, from a one-byte range request (HEAD is often missing or wrong on static hosts). */
export async function probeSize(client: RangeClient, url: string): Promise<number> {
  const { total } = await getRange(client, url, 0, 1);
  if (total === null) {
    throw new StorageError(
      'range-unsupported',
      `${url} did not report its total size in Content-Range; if it is on another origin, the server must send ` +
        `"Access-Control-Expose-Headers: Content-Range"`,
    );
  }
  return total;
}
