// Serves test disk images to a page as a static server with Range support
// would: /test-disks/disk-NAME.img (any NAME) answers Range requests from
// `image()`; /test-disks/norange.img answers 200 with the whole body, as a
// server without Range support; anything else is 404.
import type { Page, Route } from 'playwright-core';

export async function serveDisks(page: Page, image: () => Uint8Array, ranges: string[] = []): Promise<void> {
  await page.route((url) => url.pathname.startsWith('/test-disks/'), async (route: Route) => {
    const req = route.request();
    const name = new URL(req.url()).pathname.split('/').pop()!;
    if (!/^(disk-[\w-]+|norange)\.img$/.test(name)) return route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
    const img = image();
    const range = (await req.allHeaders())['range'];
    if (name === 'norange.img' || !range) return route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.from(img) });
    ranges.push(range);
    const m = /^bytes=(\d+)-(\d*)$/.exec(range)!;
    const start = Number(m[1]), end = Math.min(m[2] ? Number(m[2]) : img.length - 1, img.length - 1);
    return route.fulfill({
      status: 206,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${start}-${end}/${img.length}`, 'Accept-Ranges': 'bytes' },
      body: Buffer.from(img.subarray(start, end + 1)),
    });
  });
}
