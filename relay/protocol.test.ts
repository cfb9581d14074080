import { describe, expect, it } from 'vitest';
import { LIMITS, negotiateVersion, parseClientMessage, PROTOCOL_VERSIONS } from './protocol.ts';

const parse = (v: unknown) => parseClientMessage(typeof v === 'string' ? v : JSON.stringify(v));

describe('parseClientMessage', () => {
  it('accepts hello and the VM commands', () => {
    expect(parse({ type: 'hello', versions: [1], token: 't', client: 'page' })).toEqual({
      ok: true,
      message: { type: 'hello', versions: [1], token: 't', client: 'page' },
    });
    for (const type of ['pause', 'resume', 'reset', 'powerdown', 'quit', 'status']) {
      expect(parse({ type, id: 7 })).toEqual({ ok: true, message: { type, id: 7 } });
    }
  });

  it('accepts a full start request', () => {
    const start = {
      type: 'start', id: 'a', kernel: 'bzImage', initrd: 'initrd.img', append: 'console=ttyS0', memoryMiB: 128,
      disk: 'd.raw', diskInterface: 'ide', arch: 'x86_64', noReboot: true, network: 'user',
    };
    expect(parse(start)).toEqual({ ok: true, message: start });
    expect(parse({ type: 'start', kernel: 'k' })).toEqual({ ok: true, message: { type: 'start', kernel: 'k' } });
  });

  it('names what is wrong, with machine-readable codes', () => {
    expect(parse('not json')).toMatchObject({ ok: false, code: 'bad-json' });
    expect(parse('[1,2]')).toMatchObject({ ok: false, code: 'bad-message' });
    expect(parse('null')).toMatchObject({ ok: false, code: 'bad-message' });
    expect(parse({ id: 1 })).toMatchObject({ ok: false, code: 'bad-message', message: /type/, id: 1 });
    expect(parse({ type: 'frobnicate', id: 2 })).toMatchObject({ ok: false, code: 'unknown-type', id: 2 });
    expect(parse({ type: 'start', id: 3 })).toMatchObject({ ok: false, code: 'bad-message', message: /kernel is required/, id: 3 });
    expect(parse({ type: 'start', kernel: 5 })).toMatchObject({ ok: false, code: 'bad-message', message: /kernel must be a string/ });
    expect(parse({ type: 'start', kernel: '' })).toMatchObject({ ok: false, message: /must not be empty/ });
    expect(parse({ type: 'start', kernel: 'a\0b' })).toMatchObject({ ok: false, message: /NUL/ });
    expect(parse({ type: 'start', kernel: 'k', memoryMb: 64 })).toMatchObject({ ok: false, message: /unknown field "memoryMb"/ });
    expect(parse({ type: 'start', kernel: 'k', memoryMiB: 1.5 })).toMatchObject({ ok: false, message: /memoryMiB/ });
    expect(parse({ type: 'start', kernel: 'k', memoryMiB: 1 })).toMatchObject({ ok: false, message: /at least 16/ });
    expect(parse({ type: 'start', kernel: 'k', arch: 'arm' })).toMatchObject({ ok: false, message: /arch must be one of/ });
    expect(parse({ type: 'start', kernel: 'k', noReboot: 'yes' })).toMatchObject({ ok: false, message: /noReboot/ });
    expect(parse({ type: 'start', kernel: 'k', append: 'a\nb' })).toMatchObject({ ok: false, message: /control characters/ });
    expect(parse({ type: 'start', kernel: 'k', append: 'x'.repeat(LIMITS.maxAppend + 1) })).toMatchObject({ ok: false, message: /longer/ });
    expect(parse({ type: 'pause', extra: 1 })).toMatchObject({ ok: false, message: /unknown field/ });
    expect(parse({ type: 'pause', id: { x: 1 } })).toMatchObject({ ok: false, message: /id must be/ });
    expect(parse({ type: 'pause', id: 'x'.repeat(LIMITS.maxIdLength + 1) })).toMatchObject({ ok: false, message: /id must be/ });
    expect(parse({ type: 'hello', versions: [1] })).toMatchObject({ ok: false, message: /token is required/ });
    expect(parse({ type: 'hello', versions: [], token: 't' })).toMatchObject({ ok: false, message: /versions/ });
    expect(parse({ type: 'hello', versions: ['1'], token: 't' })).toMatchObject({ ok: false, message: /versions/ });
    expect(parse({ type: 'hello', versions: [1], token: 't'.repeat(LIMITS.maxTokenLength + 1) })).toMatchObject({ ok: false });
  });

  it('never throws, whatever the input', () => {
    const junk = ['', '{', '{"type":null}', '{"type":"start","kernel":{"toString":1}}', '{"__proto__":{"type":"hello"}}', '1e999', '"x"'];
    for (const j of junk) expect(parse(j).ok).toBe(false);
  });
});

describe('negotiateVersion', () => {
  it('picks the highest common version, or null', () => {
    expect(negotiateVersion([1, 2, 3], [1, 2])).toBe(2);
    expect(negotiateVersion([3, 1], [1, 3])).toBe(3);
    expect(negotiateVersion([99])).toBeNull();
    expect(negotiateVersion([...PROTOCOL_VERSIONS])).toBe(Math.max(...PROTOCOL_VERSIONS));
  });
});
