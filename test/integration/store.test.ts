import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../dev/emulator/index.js';
import { ApiError } from '../../src/lib/errors.js';
import { ImageStore, type ImageRecord } from '../../src/lib/imageStore.js';
import { StaticApiKey } from '../../src/lib/keys.js';
import { ImagePipeline } from '../../src/lib/pipeline.js';
import { ImageService } from '../../src/lib/service.js';
import { uniqueName } from '../support/stack.js';

// Keeping fails: the caller gets an error, and no record points at a missing image. The real
// storage client against Azurite, with a failure put into its HTTP client for chosen blobs.

let emulator: OpenAIEmulator;
const proxies: Server[] = [];
beforeAll(async () => {
  emulator = await startOpenAIEmulator({ apiKeys: ['k'] });
});
afterAll(async () => {
  await emulator?.close();
  for (const proxy of proxies) proxy.close();
});

/** Azurite behind a proxy that answers 500 to the requests `failWhen` picks. */
async function storeFailingOn(failWhen: (method: string, path: string) => boolean) {
  const { connectionString, blobEndpoint } = inject('azurite');
  const target = new URL(blobEndpoint);
  const proxy = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '');
    if (failWhen(req.method ?? '', path)) {
      req.resume();
      res.writeHead(500, { 'x-ms-error-code': 'InternalError' }).end();
      return;
    }
    const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxies.push(proxy);
  const proxied = connectionString.replace(blobEndpoint, `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/devstoreaccount1`);
  const blobs = BlobServiceClient.fromConnectionString(proxied, { retryOptions: { maxTries: 1 } });
  const container = uniqueName('keep');
  const store = new ImageStore(
    { blobs, queues: QueueServiceClient.fromConnectionString(connectionString), identityBased: false },
    { container, urlTtlMinutes: 60 },
  );
  const list = async () => {
    const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
    const names: string[] = [];
    if (await client.exists()) for await (const b of client.listBlobsFlat()) names.push(b.name);
    return names;
  };
  return { store, list };
}

const record: ImageRecord = { prompt: 'p', model: 'dall-e-3', deployment: 'dall-e-3', api_version: 'v', size: '1024x1024', quality: 'standard', n: 1, index: 0, created: 1 };
const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(64, 1)]);
const isBlobPut = (method: string, path: string) => method === 'PUT' && !path.includes('restype=container');

describe('ImageStore.keep', () => {
  it('takes the image away again when its record cannot be written', async () => {
    const { store, list } = await storeFailingOn((method, path) => isBlobPut(method, path) && path.endsWith('.json'));
    const error = await store.keep({ bytes: png }, 'a/b', record).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(503);
    expect(await list()).toEqual([]);
  });

  it('refuses bytes that are not an image, storing nothing', async () => {
    const { store, list } = await storeFailingOn(() => false);
    const error = (await store.keep({ bytes: Buffer.from('<html>nope</html>') }, 'a/c', record).catch((e: unknown) => e)) as ApiError;
    expect([error.status, error.code]).toEqual([502, 'UpstreamInvalidImage']);
    expect(await list()).toEqual([]);
  });

  it('streams an image from the service URL into the blob unchanged', async () => {
    const { store, list } = await storeFailingOn(() => false);
    emulator.configure({ realisticSize: true });
    try {
      const created = await fetch(`${emulator.url}/openai/deployments/dall-e-3/images/generations?api-version=2024-10-21`, {
        method: 'POST',
        headers: { 'api-key': 'k', 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'streamed' }),
      }).then((r) => r.json() as Promise<{ data: { url: string }[] }>);
      const expected = Buffer.from(await (await fetch(created.data[0]!.url)).arrayBuffer());
      expect(expected.length).toBeGreaterThan(1_000_000);
      const kept = await store.keep({ url: created.data[0]!.url }, 'x/y', record);
      expect(kept.blob).toBe('x/y.png');
      expect(await list()).toEqual(['x/y.png', 'x/y.png.json']);
      const { connectionString } = inject('azurite');
      const stored = await BlobServiceClient.fromConnectionString(connectionString).getContainerClient(kept.container).getBlobClient(kept.blob).downloadToBuffer();
      expect(stored.equals(expected)).toBe(true);
    } finally {
      emulator.configure({ realisticSize: false });
    }
  });

  it('is 502 when the service URL no longer serves the image, storing nothing', async () => {
    const { store, list } = await storeFailingOn(() => false);
    const gone = `${emulator.url}/files/no-such-image.png?se=2099-01-01T00:00:00Z&sig=x`;
    const error = (await store.keep({ url: gone }, 'x/gone', record).catch((e: unknown) => e)) as ApiError;
    expect([error.status, error.code]).toEqual([502, 'UpstreamImageUnavailable']);
    expect(error.message).toMatch(/answered 404/);
    const expired = (await store.keep({ url: gone.replace('2099', '2001') }, 'x/expired', record).catch((e: unknown) => e)) as ApiError;
    expect(expired.message).toMatch(/answered 403/);
    const unreachable = (await store.keep({ url: 'http://127.0.0.1:1/x.png' }, 'x/down', record).catch((e: unknown) => e)) as ApiError;
    expect([unreachable.status, unreachable.code]).toEqual([502, 'UpstreamImageUnavailable']);
    expect(await list()).toEqual([]);
  });
});

describe('ImagePipeline', () => {
  it('keeps all images of a request or none', async () => {
    const { store, list } = await storeFailingOn((method, path) => isBlobPut(method, path) && /-1\.png$/.test(path));
    const pipeline = new ImagePipeline({
      deployments: { deployments: new Map([['gpt-image-1', 'gpt-image-1']]), defaultDeployment: 'gpt-image-1' },
      apiVersion: '2025-04-01-preview',
      service: new ImageService({ endpoint: emulator.url, apiVersion: '2025-04-01-preview', auth: { kind: 'key', keys: new StaticApiKey('k') }, timeoutMs: 5000, maxRetries: 0 }),
      store,
    });
    const error = (await pipeline.run({ prompt: 'three', n: 3, quality: 'low' }).catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(503);
    expect(await list()).toEqual([]);
    const ok = await pipeline.run({ prompt: 'one', quality: 'low' });
    expect(ok.data).toHaveLength(1);
    expect(await list()).toHaveLength(2);
  });
});
