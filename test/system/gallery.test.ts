import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { backfill } from '../../src/lib/gallery/backfill.js';
import { GalleryIndexer } from '../../src/lib/gallery/indexer.js';
import { ImageIndex, PAGE_SIZE, rowKeyOf, type GalleryItem } from '../../src/lib/gallery/imageIndex.js';
import { ImageStore, thumbnailBlobName } from '../../src/lib/images/store.js';
import { ZIP_MAX_IMAGES } from '../../src/lib/gallery/archive.js';
import { QUEUES } from '../../src/lib/jobs/queues.js';
import { decodeImage, webpSize } from '../support/images.js';
import { nameForms, rawRequest, refusedNames } from '../support/paths.js';
import { startStack, uniqueName, type Stack } from '../support/stack.js';

// The gallery end to end: each generation gets its thumbnail and its index entry through the
// image-thumbnails queue (the answer waits for the message, not for a Table write); the gallery routes list, filter, search and page them, and answer records,
// thumbnails, files and ZIPs only to a caller the app authenticates (the local host checks function
// keys as Azure does here). The index itself against Azurite: order, keyset pages, filters, the
// search's scan limit. The backfill rebuilds both. An Azurite of its own: the queue has a fixed name,
// and the other files' hosts would take its messages.

let azurite: Azurite;
let stack: Stack;
const FUNCTION_KEY = uniqueName('function-key');
const INDEX_TABLE = uniqueName('index').replaceAll('-', '');
const GENERATE = '/api/images/generations';
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

beforeAll(async () => {
  azurite = await startAzurite({ silent: true });
  stack = await startStack(
    { LOCAL_FUNCTION_KEY: FUNCTION_KEY, IMAGE_INDEX_TABLE: INDEX_TABLE },
    { connectionString: azurite.connectionString },
  );
});
afterAll(async () => {
  await stack?.stop();
  await azurite?.stop();
});

/** The thumbnail queue's work is done within seconds of the answer. */
const thumbnailOf = async (blob: string) => {
  const thumbnail = stack.blobs.getContainerClient(stack.container).getBlobClient(thumbnailBlobName(blob));
  await vi.waitUntil(() => thumbnail.exists(), { timeout: 15_000, interval: 100 });
  return thumbnail.downloadToBuffer();
};

/** A GET with exactly these headers: no function key unless given. */
async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.host.url}${path}`, { headers });
  const bytes = Buffer.from(await response.arrayBuffer());
  let json: any;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, bytes, json };
}
const asOperator = { 'x-functions-key': FUNCTION_KEY };

/** Generates, then waits for the queue to index each image (with its thumbnail): the answer does not wait for that. */
async function generate(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<string[]> {
  const answer = await stack.post(GENERATE, { quality: 'low', ...body }, headers);
  expect(answer.status, answer.text).toBe(200);
  const blobs: string[] = answer.json.data.map((d: any) => d.storage.blob);
  const table = TableClient.fromConnectionString(azurite.connectionString, INDEX_TABLE, {
    allowInsecureConnection: true,
  });
  const indexed = (blob: string) =>
    table.getEntity<{ thumbnail?: string }>(stack.container, rowKeyOf(blob)).then(
      (e) => e.thumbnail !== undefined,
      () => false,
    );
  await vi.waitUntil(async () => (await Promise.all(blobs.map(indexed))).every(Boolean), {
    timeout: 15_000,
    interval: 100,
  });
  return blobs;
}

describe('keeping an image', () => {
  it('is indexed by the queue within seconds, with a WebP thumbnail of at most 256 px beside it, which its entry names, for PNG and JPEG', async () => {
    const [png] = await generate({ prompt: 'A lighthouse at dusk, watercolour', size: '1536x1024' });
    // Listed once the queue has run (generate waits for it): the entry the answer no longer waits for is not lost.
    expect((await get('/api/gallery/images', asOperator)).json.data.map((i: GalleryItem) => i.blob)).toContain(png);
    const [jpeg] = await generate({
      prompt: 'A paper boat on a pond',
      size: '1024x1536',
      output_format: 'jpeg',
      output_compression: 80,
    });
    for (const [blob, expected] of [
      [png, { width: 256, height: 171 }],
      [jpeg, { width: 171, height: 256 }],
    ] as const) {
      expect(webpSize(await thumbnailOf(blob))).toEqual(expected);
      expect(await stack.blobNames()).toEqual(expect.arrayContaining([blob, `${blob}.json`]));
    }
    await vi.waitUntil(
      async () => (await get('/api/gallery/images', asOperator)).json.data.every((i: GalleryItem) => i.thumbnail),
      { timeout: 5_000 },
    );
    const page = await get('/api/gallery/images', asOperator);
    expect(page.status).toBe(200);
    // Newest first.
    expect(page.json.data.slice(0, 2).map((i: GalleryItem) => i.blob)).toEqual([jpeg, png]);
    expect(page.json.data[0]).toMatchObject({
      thumbnail: thumbnailBlobName(jpeg),
      content_type: 'image/jpeg',
      prompt: 'A paper boat on a pond',
      caller: 'anonymous',
      served_model: 'gpt-image-2',
      size: '1024x1536',
      output_format: 'jpeg',
      cost_usd: expect.any(Number),
    });
  });

  it('streamed images are indexed and thumbnailed too', async () => {
    const answer = await stack.post(GENERATE, {
      prompt: 'A comet over the sea',
      stream: true,
      partial_images: 1,
      quality: 'low',
    });
    expect(answer.status).toBe(200);
    const blob = /"blob":"([^"]+)"/.exec(answer.text)![1];
    expect(webpSize(await thumbnailOf(blob)).width).toBe(256);
    const found = await get(`/api/gallery/images?q=${encodeURIComponent('COMET over')}`, asOperator);
    expect(found.json.data.map((i: GalleryItem) => i.blob)).toEqual([blob]);
  });
});

describe('the image-thumbnails queue', () => {
  it('drops a message that names no image, telling the log, without retrying or parking it', async () => {
    const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(QUEUES.thumbnails);
    await queue.createIfNotExists();
    for (const text of [
      'not json',
      '{"blob":"../../secrets.json"}',
      '{"blob":"2026/01/01/000000000-00000000-0000-0000-0000-000000000000-0.png"}',
    ])
      await queue.sendMessage(text);
    await vi.waitUntil(
      () => (stack.host.output().match(/Dropped a thumbnail request|there is no such image/g) ?? []).length >= 3,
      { timeout: 15_000, interval: 100 },
    );
    await vi.waitUntil(async () => (await queue.getProperties()).approximateMessagesCount === 0, { timeout: 5_000 });
    const poison = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(
      `${QUEUES.thumbnails}-poison`,
    );
    expect(await poison.exists()).toBe(false);
  });
});

describe('the gallery routes', () => {
  let three: string[];
  let keyed: { key: string; blob: string };

  beforeAll(async () => {
    three = await generate({ prompt: 'Three kites in a storm', n: 3, model: 'mini' });
    const created = await stack.post('/api/keys', { name: 'studio-user' });
    const [blob] = await generate({ prompt: 'A kite of my own' }, { 'api-key': created.json.key });
    keyed = { key: created.json.key, blob };
  });

  it('filter by model and caller, and search the prompt in any case', async () => {
    const byModel = await get('/api/gallery/images?model=gpt-image-1-mini', asOperator);
    expect(byModel.json.data.map((i: GalleryItem) => i.blob).sort()).toEqual([...three].sort());
    const byCaller = await get('/api/gallery/images?caller=studio-user', asOperator);
    expect(byCaller.json.data.map((i: GalleryItem) => i.blob)).toEqual([keyed.blob]);
    const search = await get('/api/gallery/images?q=KITE', asOperator);
    expect(search.json.data).toHaveLength(4);
    expect(search.json.scanned).toBeGreaterThanOrEqual(4);
    const today = new Date().toISOString().slice(0, 10);
    expect((await get(`/api/gallery/images?from=${today}&to=${today}&q=kite`, asOperator)).json.data).toHaveLength(4);
    expect((await get('/api/gallery/images?to=2020-01-01', asOperator)).json.data).toEqual([]);
  });

  it('refuse a bad filter with 400 naming it', async () => {
    for (const [query, param] of [
      ['model=dall-e-9', 'model'],
      ['from=yesterday', 'from'],
      ['from=2026-02-02&to=2026-02-01', 'to'],
      ['continuation=abc', 'continuation'],
      ['colour=red', 'colour'],
      [`q=${'x'.repeat(201)}`, 'q'],
    ]) {
      const answer = await get(`/api/gallery/images?${query}`, asOperator);
      expect(answer.status, query).toBe(400);
      expect(answer.json.error).toMatchObject({ code: 'invalid_request_error', param });
    }
  });

  it('answer the record, the thumbnail and the file of an image', async () => {
    const blob = three[0];
    await thumbnailOf(blob);
    const detail = await get(`/api/gallery/records/${blob}`, asOperator);
    expect(detail.status).toBe(200);
    expect(detail.json.kept_record).toEqual(JSON.parse((await stack.readBlob(`${blob}.json`)).toString('utf8')));
    expect(detail.json).toMatchObject({ blob, served_model: 'gpt-image-1-mini', deployment: 'mini' });
    const thumbnail = await get(`/api/gallery/thumbnails/${blob}`, asOperator);
    expect(thumbnail.headers.get('content-type')).toBe('image/webp');
    expect(thumbnail.headers.get('cache-control')).toMatch(/^private/);
    expect(thumbnail.bytes.equals(await stack.readBlob(thumbnailBlobName(blob)))).toBe(true);
    const file = await get(`/api/gallery/files/${blob}`, asOperator);
    expect(file.bytes.equals(await stack.readBlob(blob))).toBe(true);
    expect(
      (await get('/api/gallery/records/2026/01/01/000000000-00000000-0000-0000-0000-000000000000-0.png', asOperator))
        .status,
    ).toBe(404);
  });

  it('answer them for the name sent raw or encoded (the host leaves %2F encoded), and refuse any other name', async () => {
    const blob = three[1];
    const thumbnail = await thumbnailOf(blob);
    const image = await stack.readBlob(blob);
    for (const [form, name] of Object.entries(nameForms(blob))) {
      const detail = await get(`/api/gallery/records/${name}`, asOperator);
      expect([detail.status, detail.json?.blob], form).toEqual([200, blob]);
      expect((await get(`/api/gallery/thumbnails/${name}`, asOperator)).bytes.equals(thumbnail), form).toBe(true);
      expect((await get(`/api/gallery/files/${name}`, asOperator)).bytes.equals(image), form).toBe(true);
    }
    for (const name of refusedNames(blob)) {
      for (const route of ['records', 'thumbnails', 'files']) {
        const answer = await rawRequest(stack.host.url, `/api/gallery/${route}/${name}`, asOperator);
        expect([400, 404], `${route}/${name.slice(0, 80)}: ${answer.status} ${answer.text}`).toContain(answer.status);
      }
    }
  });

  it('zip the selected images with their records; refuse too many, a bad name or a missing image', async () => {
    const response = await fetch(`${stack.host.url}/api/gallery/zip`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...asOperator },
      body: JSON.stringify({ blobs: three }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    const entries = unzipSync(new Uint8Array(await response.arrayBuffer()));
    const names = three.map((b) => b.split('/').pop()!);
    expect(Object.keys(entries).sort()).toEqual([...names, ...names.map((n) => `${n}.json`)].sort());
    for (const name of names) {
      expect([...entries[name].subarray(0, 8)]).toEqual(PNG);
      expect(decodeImage(Buffer.from(entries[name])).width).toBeGreaterThan(0);
      expect(JSON.parse(Buffer.from(entries[`${name}.json`]).toString('utf8')).prompt).toBe('Three kites in a storm');
    }
    const zip = (body: unknown) => stack.post('/api/gallery/zip', body);
    const tooMany = await zip({ blobs: Array.from({ length: ZIP_MAX_IMAGES + 1 }, (_, i) => `${three[0]}?${i}`) });
    expect([tooMany.status, tooMany.json.error.param]).toEqual([400, 'blobs']);
    const badName = await zip({ blobs: [three[0], '../secrets.json'] });
    expect([badName.status, badName.json.error.param]).toEqual([400, 'blobs.1']);
    expect((await zip({ blobs: [] })).json.error.param).toBe('blobs');
    expect((await zip({ blobs: [three[0]], extra: 1 })).json.error.param).toBe('extra');
    expect((await zip({ blobs: [three[0].replace(/\d{9}-/, '000000000-')] })).status).toBe(404);
  });

  it("show a caller key its own images only; another caller's image is not found to it", async () => {
    const mine = { 'api-key': keyed.key };
    const page = await get('/api/gallery/images', mine);
    expect(page.json.data.map((i: GalleryItem) => i.blob)).toEqual([keyed.blob]);
    expect((await get('/api/gallery/images?caller=anonymous', mine)).json.data.map((i: GalleryItem) => i.blob)).toEqual(
      [keyed.blob],
    );
    expect((await get(`/api/gallery/files/${keyed.blob}`, mine)).status).toBe(200);
    for (const path of [
      `/api/gallery/files/${three[0]}`,
      `/api/gallery/thumbnails/${three[0]}`,
      `/api/gallery/records/${three[0]}`,
    ]) {
      const answer = await get(path, mine);
      expect(answer.status, path).toBe(404);
      expect(answer.bytes.subarray(0, 8).equals(Buffer.from(PNG))).toBe(false);
    }
    const zip = await fetch(`${stack.host.url}/api/gallery/zip`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...mine },
      body: JSON.stringify({ blobs: [keyed.blob, three[0]] }),
    });
    expect(zip.status).toBe(404);
  });

  it('answer nothing without credentials: no list, record, thumbnail, image, ZIP or model list', async () => {
    const blob = three[0];
    const paths = [
      '/api/gallery/images',
      '/api/gallery/images?q=kite',
      `/api/gallery/records/${blob}`,
      `/api/gallery/thumbnails/${blob}`,
      `/api/gallery/files/${blob}`,
      '/api/models',
      '/api/models/mini/schema',
    ];
    const attempts: Record<string, string>[] = [
      {},
      { 'api-key': 'igk_not-a-key' },
      { 'x-functions-key': 'wrong' },
      { authorization: 'Bearer igk_nope' },
      {
        'x-ms-client-principal': Buffer.from(
          JSON.stringify({ auth_typ: 'aad', claims: [{ typ: 'name', val: 'mallory' }] }),
        ).toString('base64'),
      },
    ];
    for (const headers of attempts) {
      for (const path of paths) {
        const answer = await get(path, headers);
        expect(answer.status, `${path} with ${Object.keys(headers).join(',') || 'nothing'}`).toBe(401);
        expect(answer.json.error.code).toBe('Unauthorized');
        expect(answer.bytes.toString('latin1')).not.toMatch(/kites|RIFF|PNG|"blob"/);
      }
      const zip = await fetch(`${stack.host.url}/api/gallery/zip`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ blobs: [blob] }),
      });
      expect(zip.status).toBe(401);
    }
    // The function-key routes the host guards.
    for (const path of [`/api/images/files/${blob}`, `/api/images/links/${blob}`])
      expect((await get(path)).status, path).toBe(401);
  });
});

describe('the studio page', () => {
  it('is served without credentials, holds no data, and caches its hashed assets for good', async () => {
    const shell = await get('/api/studio');
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-type')).toMatch(/^text\/html/);
    expect(shell.headers.get('cache-control')).toBe('no-cache');
    expect(shell.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    const html = shell.bytes.toString('utf8');
    expect(html).not.toMatch(/kites|lighthouse|\d{4}\/\d{2}\/\d{2}\/|igk_[\w-]{20}/);
    const assets = [...html.matchAll(/(?:src|href)="(\/api\/studio\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.map((a) => a.split('.').pop()).sort()).toEqual(['css', 'js']);
    for (const asset of assets) {
      const response = await fetch(`${stack.host.url}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-encoding')).toBe('gzip');
    }
    expect((await get('/api/studio/assets/main-AAAAAAAA.js')).status).toBe(404);
    expect((await get('/api/studio/assets/..%2F..%2Findex.js')).status).toBe(404);
  });
});

describe('the index (Table Storage)', () => {
  const table = () =>
    TableClient.fromConnectionString(azurite.connectionString, uniqueName('idx').replaceAll('-', ''), {
      allowInsecureConnection: true,
    });
  const START = Date.UTC(2026, 10, 1);
  const MINUTE = 60_000;
  const SUBJECTS = ['lighthouse', 'kite', 'comet'];
  /** Image i was kept i minutes after START, by one of three callers, on one of two models. */
  const item = (i: number): GalleryItem => {
    const blob = `${ImageStore.blobName(new Date(START + i * MINUTE), 0)}.png`;
    return {
      blob,
      record: `${blob}.json`,
      content_type: 'image/png',
      prompt: `Picture ${i}: a ${SUBJECTS[i % 3]}`,
      caller: ['alice', 'bob', 'carol'][i % 3],
      requested_model: i % 2 ? 'dall-e-3' : 'gpt-image-2',
      served_model: 'gpt-image-2',
      deployment: 'gpt-image-2',
      created: new Date(START + i * MINUTE).toISOString(),
    };
  };
  let index: ImageIndex;
  const items = Array.from({ length: 130 }, (_, i) => item(i));

  beforeAll(async () => {
    index = new ImageIndex(table(), 'images');
    for (const it of items) await index.put(it);
    // Another container's images share the table, never the partition.
    await new ImageIndex((index as unknown as { table: TableClient }).table, 'other').put(item(500));
  }, 60_000);

  it('lists newest first, 50 a page, and the continuation reads on without a gap or a repeat', async () => {
    const seen: string[] = [];
    let continuation: string | undefined;
    let pages = 0;
    do {
      const page = await index.list({ ...(continuation && { continuation }) });
      expect(page.data.length).toBeLessThanOrEqual(PAGE_SIZE);
      seen.push(...page.data.map((i) => i.blob));
      continuation = page.continuation;
      pages++;
    } while (continuation);
    expect(pages).toBe(3);
    expect(seen).toEqual(items.map((i) => i.blob).reverse());
    expect(rowKeyOf(items[1].blob) < rowKeyOf(items[0].blob)).toBe(true);
  });

  it('filters by caller, by model (requested or served) and by time, in the table', async () => {
    const bob = await index.list({ caller: 'bob' });
    expect(bob.data.map((i) => i.blob)).toEqual(
      items
        .filter((_, i) => i % 3 === 1)
        .reverse()
        .map((i) => i.blob)
        .slice(0, 43),
    );
    const dalle = await index.list({ model: 'dall-e-3' });
    expect(dalle.data).toHaveLength(PAGE_SIZE);
    expect(dalle.data.every((i) => i.requested_model === 'dall-e-3')).toBe(true);
    expect((await index.list({ model: 'gpt-image-2' })).data).toHaveLength(PAGE_SIZE);
    // Minutes 10 to 19, both ends included.
    const window = await index.list({
      from: new Date(START + 10 * MINUTE).toISOString(),
      to: new Date(START + 19 * MINUTE).toISOString(),
    });
    expect(window.data.map((i) => i.prompt.split(':')[0])).toEqual(
      Array.from({ length: 10 }, (_, k) => `Picture ${19 - k}`),
    );
    expect((await index.list({ from: '2026-11-01', to: '2026-11-01' })).data).toHaveLength(PAGE_SIZE);
    expect((await index.list({ to: '2026-10-31' })).data).toEqual([]);
  });

  it('searches the prompt here, reading at most the scan limit a page, and pages through every match', async () => {
    const first = await index.list({ q: 'KITE' }, { scan: 40 });
    expect(first.scanned).toBe(40);
    expect(first.data.length).toBeLessThan(PAGE_SIZE);
    expect(first.continuation).toBeDefined();
    const all: string[] = [];
    let continuation: string | undefined;
    do {
      const page = await index.list({ q: 'kite', ...(continuation && { continuation }) }, { scan: 40 });
      all.push(...page.data.map((i) => i.blob));
      continuation = page.continuation;
    } while (continuation);
    expect(all).toEqual(
      items
        .filter((i) => i.prompt.includes('kite'))
        .reverse()
        .map((i) => i.blob),
    );
  });
});

describe('npm run backfill', () => {
  it('rebuilds the missing thumbnails and index entries from the records, and changes nothing the second time', async () => {
    const [blob] = await generate({ prompt: 'An old image, before the gallery' });
    await thumbnailOf(blob);
    const { connectionString } = azurite;
    const blobs = BlobServiceClient.fromConnectionString(connectionString);
    const container = blobs.getContainerClient(stack.container);
    await container.deleteBlob(thumbnailBlobName(blob));
    const table = TableClient.fromConnectionString(connectionString, INDEX_TABLE, { allowInsecureConnection: true });
    await table.deleteEntity(stack.container, rowKeyOf(blob));
    expect((await get('/api/gallery/images?q=before%20the%20gallery', asOperator)).json.data).toEqual([]);

    const store = new ImageStore(blobs, { container: stack.container, urlTtlMinutes: 60 });
    const indexer = new GalleryIndexer(store, new ImageIndex(table, stack.container), {
      sendThumbnail: () => Promise.reject(new Error('not asked')),
    });
    const report = await backfill(store, indexer);
    expect(report).toMatchObject({ thumbnailsMade: 1, failed: 0 });
    expect(report.indexed).toBe(report.images);
    const found = await get('/api/gallery/images?q=before%20the%20gallery', asOperator);
    expect(found.json.data).toEqual([expect.objectContaining({ blob, thumbnail: thumbnailBlobName(blob) })]);
    expect(webpSize(await stack.readBlob(thumbnailBlobName(blob))).width).toBe(256);
    expect(await backfill(store, indexer)).toMatchObject({ images: report.images, thumbnailsMade: 0, failed: 0 });
  });
});
