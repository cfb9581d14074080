// Who may talk to the relay: holders of the per-run token, from pages whose
// Origin is on the allow-list. The token stops other local users and
// processes; the Origin check stops any web page the user happens to visit
// from driving a VM through the user's browser (cross-site WebSocket
// hijacking), which a token alone would not if the token ever leaked into a
// page.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 192 random bits, URL-safe, so it can go in a URL fragment unescaped. */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Constant-time comparison. Both sides are hashed first so the comparison
 * takes the same time whatever the presented token's length (timingSafeEqual
 * itself requires equal lengths and would otherwise leak ours).
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export const DEFAULT_ALLOWED_ORIGINS: readonly string[] = [
  'http://127.0.0.1:5173', // vite dev
  'http://localhost:5173',
  'http://127.0.0.1:4173', // vite preview
  'http://localhost:4173',
];

/**
 * Canonical form of an origin given on the command line: scheme://host[:port]
 * in lower case, default ports dropped, as browsers send it. Throws with a
 * readable message on anything else (paths, wildcards, missing scheme).
 */
export function normalizeOrigin(origin: string): string {
  if (origin === 'null') return 'null'; // file:// pages and sandboxed iframes; only if asked for explicitly
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error(`not an origin: ${JSON.stringify(origin)} (expected e.g. http://localhost:5173)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`origin ${JSON.stringify(origin)} must be http:// or https://`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new Error(`origin ${JSON.stringify(origin)} must be just scheme://host[:port], without a path`);
  }
  return url.origin;
}

export interface OriginPolicy {
  allowed: ReadonlySet<string>;
  /**
   * Browsers always send Origin on WebSocket upgrades, so a request without
   * one comes from a non-browser program, which could run QEMU itself anyway;
   * it still needs the token. --require-origin refuses those too.
   */
  requireOrigin: boolean;
}

export function originAllowed(header: string | undefined, policy: OriginPolicy): boolean {
  if (header === undefined) return !policy.requireOrigin;
  let canonical: string;
  try {
    canonical = normalizeOrigin(header);
  } catch {
    return false;
  }
  return policy.allowed.has(canonical);
}
