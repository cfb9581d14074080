import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpBlockDevice, type HttpProgress } from '../../src/storage/backends/http.ts';
import { SECTOR_SIZE } from '../../src/storage/block-device.ts';
import { firstDifference, sectors } from './fakes.ts';

const image = sectors(2048, 5); // 1 MiB
let server: Server;
let origin: string;
const log: string[] = [];
let failuresLeft = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    log.push(`${url} ${req.headers.range ?? ''}`);
    if (url === '/missing.img') {
      res.writeHead(404).end();
      return;
    }
    if (url === '/flaky.img' && failuresLeft > 0) {
      failuresLeft--;
      res.writeHead(503).end();
      return;
    }
    if (url === '/norange.img') {
      res.writeHead(200, { 'Content-Length': image.length }).end(Buffer.from(image));
      return;
    }
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    if (!m) {
      res.writeHead(200).end(Buffer.from(image));
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), image.length - 1);
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${image.length}`, 'Content-Length': end - start + 1 });
    res.end(Buffer.from(image.subarray(start, end + 1)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const fastRetry = { retries: 3, baseDelayMs: 1, maxDelayMs: 2 };

describe('HttpBlockDevice', () => {
  it('finds the size with a one-byte range probe and reads lazily in chunks', async () => {
    log.length = 0;
    const disk = await HttpBlockDevice.open({ url: `${origin}/disk.img`, chunkSize: 64 * 1024, retry: fastRetry });
    expect(disk.capacity).toBe(2048);
    expect(disk.readOnly).toBe(true);
    expect(log).toEqual(['/disk.img bytes=0-0']);
    const out = new Uint8Array(3 * SECTOR_SIZE);
    await disk.readv(200, [out]); // byte 102400: chunk 1
    expect(firstDifference(out, image.subarray(200 * SECTOR_SIZE, 203 * SECTOR_SIZE))).toBeNull();
    expect(log[1]).toBe('/disk.img bytes=65536-131071');
  });

  it('merges consecutive chunks into one request, shares in-flight fetches and retains chunks', async () => {
    log.length = 0;
    const disk = await HttpBlockDevice.open({ url: `${origin}/disk.img`, chunkSize: 64 * 1024, size: image.length, retry: fastRetry });
    const a = new Uint8Array(300 * SECTOR_SIZE);
    const b = new Uint8Array(SECTOR_SIZE);
    await Promise.all([disk.readv(0, [a]), disk.readv(10, [b])]);
    expect(log).toEqual(['/disk.img bytes=0-196607']); // chunks 0..2 once
    expect(firstDifference(a, image.subarray(0, a.length))).toBeNull();
    expect(firstDifference(b, image.subarray(10 * SECTOR_SIZE, 11 * SECTOR_SIZE))).toBeNull();
    await disk.readv(5, [new Uint8Array(SECTOR_SIZE)]);
    expect(log.length).toBe(1); // retained
  });

  it('reports progress', async () => {
    const disk = await HttpBlockDevice.open({ url: `${origin}/disk.img`, chunkSize: 128 * 1024, size: image.length, retry: fastRetry });
    const events: HttpProgress[] = [];
    disk.onProgress((p) => events.push(p));
    await disk.readv(0, [new Uint8Array(image.length)]);
    const last = events.at(-1)!;
    expect(last.fetchedBytes).toBe(image.length);
    expect(last.totalBytes).toBe(image.length);
    expect(last.requests).toBe(events.length);
  });

  it('retries transient server errors with backoff', async () => {
    failuresLeft = 2;
    const disk = await HttpBlockDevice.open({ url: `${origin}/flaky.img`, size: image.length, retry: fastRetry });
    const retries: string[] = [];
    disk.onProgress((p) => p.retryReason && retries.push(p.retryReason));
    const out = new Uint8Array(SECTOR_SIZE);
    await disk.readv(7, [out]);
    expect(firstDifference(out, image.subarray(7 * SECTOR_SIZE, 8 * SECTOR_SIZE))).toBeNull();
    expect(retries).toEqual(['HTTP 503', 'HTTP 503']);
  });

  it('gives up after the retry budget with an actionable network error', async () => {
    failuresLeft = 100;
    const disk = await HttpBlockDevice.open({ url: `${origin}/flaky.img`, size: image.length, retry: fastRetry });
    await expect(disk.readv(0, [new Uint8Array(SECTOR_SIZE)])).rejects.toMatchObject({
      code: 'network',
      message: expect.stringMatching(/after 4 attempts \(last error: HTTP 503\); check the network connection/),
    });
    failuresLeft = 0;
  });

  it('says clearly when the image does not exist', async () => {
    await expect(HttpBlockDevice.open({ url: `${origin}/missing.img`, retry: fastRetry })).rejects.toMatchObject({
      code: 'not-found',
      message: expect.stringMatching(/missing\.img was not found \(HTTP 404\)/),
    });
  });

  it('says clearly when the server ignores Range', async () => {
    await expect(HttpBlockDevice.open({ url: `${origin}/norange.img`, retry: fastRetry })).rejects.toMatchObject({
      code: 'range-unsupported',
      message: expect.stringMatching(/ignored the Range header/),
    });
  });

  it('says clearly when nothing is listening', async () => {
    await expect(HttpBlockDevice.open({ url: 'http://127.0.0.1:1/x.img', retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 1 } })).rejects.toMatchObject({
      code: 'network',
    });
  });
});
