// Crash safety in a real Chromium: a Worker writes and flushes through the
// full stack (COW overlay on IndexedDB, and separately on OPFS) while the test
// kills it at a random moment — alternately by closing the page abruptly and by
// SIGKILLing the whole browser — then reopens the disk and checks that every
// write whose flush was acknowledged is there, and that every sector holds a
// complete sector of some version (no torn, misplaced or garbage data).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumAvailable, launchKillable, watchPage, type KillableBrowser } from '../support/browser.ts';
import { serveRepo, type ServedRepo } from '../support/server.ts';
import { STORAGE_PAGE, callWorker, openStoragePage } from './harness.ts';
import type { DiskSpec, FlushReport } from './storage-worker.ts';

const ROUNDS = Number(process.env.TS86_CRASH_ROUNDS ?? 20);
let site: ServedRepo;

beforeAll(async () => {
  if (!chromiumAvailable()) throw new Error('Chromium not found at /usr/bin/chromium (set TS86_CHROMIUM)');
  site = await serveRepo();
});
afterAll(async () => {
  await site?.close();
});

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tally {
  flushes: number;
  flushedWrites: number;
  lost: number;
  corrupt: number;
  details: string[];
}

async function check(page: Page, spec: DiskSpec, flushed: Int32Array, tally: Tally, round: number): Promise<void> {
  const { versions } = await callWorker(page, 'verify', spec);
  versions.forEach((v, s) => {
    if (v === -1) {
      tally.corrupt++;
      if (tally.details.length < 10) tally.details.push(`round ${round}: sector ${s} holds no valid sector`);
    } else if (v < flushed[s]!) {
      tally.lost++;
      if (tally.details.length < 10) tally.details.push(`round ${round}: sector ${s} has version ${v}, but version ${flushed[s]} was flushed`);
    }
  });
}

describe('crash safety in Chromium', () => {
  for (const backend of ['idb', 'opfs'] as const) {
    it(`${backend}: ${ROUNDS} random kills lose no flushed write`, { timeout: 600_000 }, async () => {
      const profile = await mkdtemp(join(tmpdir(), `ts86-crash-${backend}-`));
      const spec: DiskSpec = { backend, name: `crash-${backend}`, sectors: 2048, cacheBytes: 32 * 1024, chunkSize: 16 * 1024, journalPolicy: true };
      const flushed = new Int32Array(spec.sectors); // per sector: the newest version a durable flush covered
      const tally: Tally = { flushes: 0, flushedWrites: 0, lost: 0, corrupt: 0, details: [] };
      const r = rng(backend === 'idb' ? 11 : 12);
      const kills = { page: 0, browser: 0 };
      let chromium: KillableBrowser = await launchKillable(profile);
      try {
        for (let round = 0; round <= ROUNDS; round++) {
          const page = await chromium.context.newPage();
          const problems = watchPage(page);
          await page.exposeFunction('ts86ReportFlushed', (report: FlushReport) => {
            tally.flushes++;
            tally.flushedWrites += report.writes.length;
            for (const [s, v] of report.writes) if (v > flushed[s]!) flushed[s] = v;
          });
          await openStoragePage(page, site.url(STORAGE_PAGE));
          if (round === 0) await callWorker(page, 'destroy', spec);
          else await check(page, spec, flushed, tally, round);
          expect(tally.details, problems.join('\n')).toEqual([]);
          if (round === ROUNDS) break;
          const flushesBefore = tally.flushes;
          await page.evaluate(({ spec, seed, base }) => window.ts86StartCrashLoop(spec, seed, base), {
            spec,
            seed: round + 1,
            base: (round + 1) * 1_000_000,
          });
          // Let it get going (at least one durable flush), then kill at a random point.
          const deadline = Date.now() + 10_000;
          while (tally.flushes === flushesBefore && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
          await new Promise((res) => setTimeout(res, 50 + r() * 700));
          if (round % 2 === 0) {
            kills.page++;
            await page.close({ runBeforeUnload: false });
          } else {
            kills.browser++;
            await chromium.kill();
            chromium = await launchKillable(profile);
          }
        }
      } finally {
        await chromium.close();
        await rm(profile, { recursive: true, force: true });
      }
      console.log(
        `crash safety (${backend}): ${ROUNDS} rounds (${kills.page} page closes, ${kills.browser} browser SIGKILLs), ` +
          `${tally.flushes} durable flushes covering ${tally.flushedWrites} writes; writes lost: ${tally.lost}, corrupt sectors: ${tally.corrupt}`,
      );
      expect(tally.flushes).toBeGreaterThanOrEqual(ROUNDS);
      expect(tally.lost).toBe(0);
      expect(tally.corrupt).toBe(0);
    });
  }
});
