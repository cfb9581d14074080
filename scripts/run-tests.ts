// `npm test`: runs the whole suite (unit, CPU differential, guest, relay and
// browser tests) through vitest, then prints the closing line CI reads:
// "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, '.test-results');
const report = join(outDir, 'vitest.json');
mkdirSync(outDir, { recursive: true });

const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { cwd: root, stdio: 'inherit' });

let passed = 0;
let failed = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8')) as { numPassedTests: number; numFailedTests: number; testResults: { status: string; message?: string; name: string }[] };
  passed = r.numPassedTests;
  failed = r.numFailedTests;
  // A test file that failed to load has no test results but must count as a failure.
  for (const f of r.testResults) if (f.status === 'failed' && f.message) failed += 1;
} else {
  failed = 1;
}
if (run.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && run.status === 0 ? 0 : 1);
