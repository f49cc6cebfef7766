import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostProcess } from '../../dev/fakes/host/process.js';
import { ImageStore } from '../../src/lib/images/store.js';
import { startStack, uniqueName, type Stack } from '../support/stack.js';
import { until, untilHolds } from '../support/until.js';

// POST /api/gallery/zip under load: ZIPs are written as they are read, so 10 at once of ~90 MB from
// one caller key keep the host's peak RSS (VmHWM) under 600 MB; a real reader (unzip -t) checks each
// entry's CRC and size from the data descriptors; one more ZIP than the instance takes is a 429 with
// Retry-After; Storage failing once the ZIP has begun cuts the download short, never a 500. The
// images are big blobs put straight into Azurite, with the record the gallery reads beside each.

let stack: Stack;
let caller: { key: string; name: string };
/** Nine images of 10 MB: a ZIP of them all weighs ~90 MB. */
let big: string[];
const IMAGE_BYTES = 10 * 1024 * 1024;
const run = promisify(execFile);

beforeAll(async () => {
  stack = await startStack();
  const created = await stack.post('/api/keys', { name: uniqueName('zipper') });
  expect(created.status).toBe(201);
  caller = created.json;
  const noise = randomBytes(IMAGE_BYTES);
  big = await Promise.all(
    Array.from({ length: 9 }, (_, i) => seed(Buffer.concat([Buffer.from([i]), noise.subarray(1)]))),
  );
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** An image blob and its record, as the pipeline keeps them; the record names the caller. */
async function seed(bytes: Buffer): Promise<string> {
  const container = stack.blobs.getContainerClient(stack.container);
  await container.createIfNotExists();
  const blob = `${ImageStore.blobName(new Date(), 0)}.png`;
  await container.getBlockBlobClient(blob).uploadData(bytes, { blobHTTPHeaders: { blobContentType: 'image/png' } });
  const record = {
    prompt: 'seeded',
    requested_model: 'gpt-image-1-mini',
    served_model: 'gpt-image-1-mini',
    deployment: 'mini',
    n: 1,
    index: 0,
    created: 1,
    caller: { name: caller.name, kind: 'key' },
  };
  await container
    .getBlockBlobClient(`${blob}.json`)
    .uploadData(Buffer.from(JSON.stringify(record)), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  return blob;
}

function zip(blobs: string[], host: HostProcess = stack.host, signal?: AbortSignal): Promise<Response> {
  return fetch(`${host.url}/api/gallery/zip`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': caller.key },
    body: JSON.stringify({ blobs }),
    signal,
  });
}

/** Reads a body to its end, keeping only its length. */
async function drain(response: Response): Promise<number> {
  let total = 0;
  for await (const chunk of response.body!) total += chunk.length;
  return total;
}

const status = async (pid: number) => {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)![1]) / 1024;
  return { rssMb: mb('VmRSS'), peakMb: mb('VmHWM') };
};

describe('POST /api/gallery/zip, streamed', () => {
  it('is a ZIP a real reader accepts: stored images, deflated records, sizes and CRCs in data descriptors', async () => {
    const response = await zip(big.slice(0, 3));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    const bytes = Buffer.from(await response.arrayBuffer());
    // The first local header says its sizes and CRC follow the data (general purpose flag bit 3).
    expect(bytes.readUInt32LE(0)).toBe(0x04034b50);
    expect(bytes.readUInt16LE(6) & 0x08).toBe(0x08);
    const dir = await mkdtemp(join(tmpdir(), 'zips-'));
    try {
      await writeFile(join(dir, 'images.zip'), bytes);
      const { stdout } = await run('unzip', ['-t', join(dir, 'images.zip')]);
      expect(stdout).toMatch(/No errors detected/);
      const { stdout: listing } = await run('unzip', ['-v', join(dir, 'images.zip')]);
      const base = (blob: string) => blob.split('/').pop()!;
      for (const blob of big.slice(0, 3)) {
        expect(listing).toMatch(new RegExp(`${IMAGE_BYTES}\\s+Stored\\s+${IMAGE_BYTES}\\s.*${base(blob)}\\n`));
        expect(listing).toMatch(new RegExp(`Defl:N.*${base(blob)}\\.json\\n`));
      }
      const { stdout: one } = await run('unzip', ['-p', join(dir, 'images.zip'), base(big[1])], {
        encoding: 'buffer',
        maxBuffer: 2 * IMAGE_BYTES,
      });
      expect(one.equals(await stack.readBlob(big[1]))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('10 ZIPs of ~90 MB at once from one caller key keep the host under 600 MB', async () => {
    const pid = stack.host.process.pid!;
    const before = await status(pid);
    let sampledMb = 0;
    const sampler = setInterval(() => void status(pid).then((s) => (sampledMb = Math.max(sampledMb, s.rssMb))), 50);
    try {
      const sizes = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const response = await zip(big);
          expect(response.status).toBe(200);
          return drain(response);
        }),
      );
      for (const size of sizes) expect(size).toBeGreaterThan(9 * IMAGE_BYTES);
    } finally {
      clearInterval(sampler);
    }
    const after = await status(pid);
    console.log(
      `host RSS: ${before.rssMb.toFixed(0)} MB before, peak ${after.peakMb.toFixed(0)} MB (VmHWM), ${sampledMb.toFixed(0)} MB sampled, for 10 ZIPs of ${((9 * IMAGE_BYTES) / 2 ** 20).toFixed(0)} MB`,
    );
    expect(after.peakMb).toBeLessThan(600);
  }, 180_000);

  it('one ZIP more than the instance takes is a 429 with Retry-After; a slot is free again once its reader leaves', async () => {
    const host = await stack.anotherHost({ GALLERY_ZIP_MAX_IN_FLIGHT: '2' });
    const controllers = [new AbortController(), new AbortController()];
    // Two in flight: headers read, bodies left unread, so they wait on their readers.
    const open = await Promise.all(controllers.map((c) => zip(big, host, c.signal)));
    expect(open.map((r) => r.status)).toEqual([200, 200]);
    const refused = await zip(big.slice(0, 1), host);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await refused.json()).error).toMatchObject({
      code: 'TooManyRequests',
      message: expect.stringMatching(/ZIPs/),
    });
    for (const c of controllers) c.abort();
    await expect(Promise.all(open.map(drain))).rejects.toThrow();
    // The slots are given back once the aborted downloads have ended.
    const again = await until(async () => {
      const response = await zip(big.slice(0, 1), host);
      if (response.status !== 429) return response;
      await response.arrayBuffer();
      return undefined;
    }, 5_000);
    expect(again.status).toBe(200);
    expect(await drain(again)).toBeGreaterThan(IMAGE_BYTES);
  });

  it('Storage failing once the ZIP has begun cuts the download short, logged, never a 500', async () => {
    const first = await seed(randomBytes(IMAGE_BYTES));
    const second = await seed(randomBytes(1024));
    const logged = stack.host.output().length;
    const response = await zip([first, second]);
    expect(response.status).toBe(200);
    // The second image goes while the first is still being written: its read fails mid-ZIP.
    await stack.blobs.getContainerClient(stack.container).getBlobClient(second).delete();
    await expect(drain(response)).rejects.toThrow();
    await untilHolds(() => /The ZIP was cut short/.test(stack.host.output().slice(logged)));
    const output = stack.host.output().slice(logged);
    expect(output).toMatch(/The ZIP was cut short/);
    expect(output).not.toMatch(/ 500 |Failed with 500/);
  });
});
