// The other thread of the ring tests (a Node worker_thread): depending on
// its role it produces a byte pattern into a ring or echoes one ring into
// another, using the same SpscRing class the page and the machine worker use.
import { parentPort, workerData } from 'node:worker_threads';
import { SpscRing } from '../../src/machine/worker/spsc-ring.ts';
import { patternByte } from './ring-pattern.ts';

interface PeerData { role: 'produce' | 'echo'; a: SharedArrayBuffer; b?: SharedArrayBuffer; count: number }
const { role, a, b, count } = workerData as PeerData;

if (role === 'produce') {
  const ring = new SpscRing(a);
  let k = 0;
  const chunk = new Uint8Array(1000);
  while (k < count) {
    const n = Math.min(chunk.length, count - k);
    for (let j = 0; j < n; j++) chunk[j] = patternByte(k + j);
    let done = 0;
    // Alternate bulk writes and single pushes so both producer paths are exercised.
    if ((k / 1000) % 2 === 0) {
      while (done < n) {
        const w = ring.write(chunk, done, n);
        done += w;
        if (w === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    } else {
      while (done < n) {
        if (ring.push(chunk[done])) done++;
        else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
    k += n;
  }
  parentPort!.postMessage('done');
} else {
  const from = new SpscRing(a);
  const to = new SpscRing(b!);
  const buf = new Uint8Array(333);
  let seen = 0;
  while (seen < count) {
    if (!from.waitForDataSync(5000)) break;
    const n = from.read(buf);
    let off = 0;
    while (off < n) off += to.write(buf, off, n);
    seen += n;
  }
  parentPort!.postMessage(seen);
}
