import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_ORIGINS, generateToken, normalizeOrigin, originAllowed, tokensEqual } from './auth.ts';

describe('tokens', () => {
  it('are random, URL-safe and long', () => {
    const a = generateToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(generateToken()).not.toBe(a);
  });

  it('compare equal only when identical, whatever the lengths', () => {
    const t = generateToken();
    expect(tokensEqual(t, t)).toBe(true);
    expect(tokensEqual(t.slice(0, -1), t)).toBe(false);
    expect(tokensEqual(`${t}x`, t)).toBe(false);
    expect(tokensEqual('', t)).toBe(false);
  });
});

describe('origins', () => {
  const policy = { allowed: new Set(DEFAULT_ALLOWED_ORIGINS), requireOrigin: false };

  it('normalizes the way browsers send Origin', () => {
    expect(normalizeOrigin('HTTP://LocalHost:5173')).toBe('http://localhost:5173');
    expect(normalizeOrigin('https://example.org:443')).toBe('https://example.org');
    expect(normalizeOrigin('http://localhost:5173/')).toBe('http://localhost:5173');
    expect(() => normalizeOrigin('localhost:5173')).toThrow(/http/);
    expect(() => normalizeOrigin('http://x.org/path')).toThrow(/without a path/);
    expect(() => normalizeOrigin('*')).toThrow(/not an origin/);
    expect(() => normalizeOrigin('ftp://x.org')).toThrow(/http/);
  });

  it('allows only listed origins', () => {
    expect(originAllowed('http://localhost:5173', policy)).toBe(true);
    expect(originAllowed('http://127.0.0.1:5173', policy)).toBe(true);
    expect(originAllowed('http://localhost:5174', policy)).toBe(false);
    expect(originAllowed('http://evil.example', policy)).toBe(false);
    expect(originAllowed('null', policy)).toBe(false); // file:// pages, sandboxed iframes
    expect(originAllowed('garbage', policy)).toBe(false);
  });

  it('lets non-browser clients (no Origin) through unless --require-origin', () => {
    expect(originAllowed(undefined, policy)).toBe(true);
    expect(originAllowed(undefined, { ...policy, requireOrigin: true })).toBe(false);
  });
});
