import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../dev/fakes/emulator/index.js';
import { DependencyUnavailableError, ServiceFailedError, ServiceTimeoutError } from '../../src/lib/core/errors.js';
import { ImageIndex } from '../../src/lib/gallery/imageIndex.js';
import { GalleryIndexer } from '../../src/lib/gallery/indexer.js';
import { ImageStore } from '../../src/lib/images/store.js';
import { StaticApiKey } from '../../src/lib/generation/apiKeys.js';
import { ImagePipeline } from '../../src/lib/images/pipeline.js';
import { ImageService } from '../../src/lib/generation/azureOpenAI.js';
import { localSettings } from '../support/settings.js';
import { keptRecord, smallPng } from '../support/kept.js';
import { uniqueName } from '../support/stack.js';
import { quietFor } from '../support/until.js';

// Keeping fails: the caller gets an error, and no record points at a missing image. The real
// storage client against Azurite, with a failure put into its HTTP client for chosen blobs.

let emulator: OpenAIEmulator;
const servers: Server[] = [];
beforeAll(async () => {
  emulator = await startOpenAIEmulator({ apiKeys: ['k'], deployments: { 'gpt-image-2': 'gpt-image-2' } });
});
afterAll(async () => {
  await emulator?.close();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Azurite behind a proxy that answers 500 to the requests `failWhen` picks. */
async function storeFailingOn(failWhen: (method: string, path: string) => boolean) {
  const { connectionString, blobEndpoint } = inject('azurite');
  const target = new URL(blobEndpoint);
  const proxy = await listen((req, res) => {
    const path = decodeURIComponent(req.url ?? '');
    if (failWhen(req.method ?? '', path)) {
      req.resume();
      res.writeHead(500, { 'x-ms-error-code': 'InternalError' }).end();
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  const proxied = connectionString.replace(blobEndpoint, `${proxy}/devstoreaccount1`);
  const blobs = BlobServiceClient.fromConnectionString(proxied, { retryOptions: { maxTries: 1 } });
  const container = uniqueName('keep');
  const store = new ImageStore(blobs, { container, urlTtlMinutes: 60, downloadTimeoutMs: 500 });
  const list = async () => {
    const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
    const names: string[] = [];
    if (await client.exists()) for await (const b of client.listBlobsFlat()) names.push(b.name);
    return names;
  };
  return { store, list, container };
}

const record = keptRecord('p');
const png = smallPng;
const isBlobPut = (method: string, path: string) => method === 'PUT' && !path.includes('restype=container');

describe('ImageStore.keep', () => {
  it('takes the image away again when its record cannot be written', async () => {
    const { store, list } = await storeFailingOn((method, path) => isBlobPut(method, path) && path.endsWith('.json'));
    const error = await store.keep({ bytes: png }, 'a/b', record).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error).toMatchObject({ dependency: 'Storage', retryAfterMs: 5000 });
    expect(await list()).toEqual([]);
  });

  it('refuses bytes that are not an image, storing nothing', async () => {
    const { store, list } = await storeFailingOn(() => false);
    const error = await store.keep({ bytes: Buffer.from('<html>nope</html>') }, 'a/c', record).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceFailedError);
    expect(error).toMatchObject({ code: 'UpstreamInvalidImage' });
    expect(await list()).toEqual([]);
  });

  it('keeps an image the service answered with a URL, unchanged', async () => {
    const { store, list, container } = await storeFailingOn(() => false);
    const url = await listen((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png));
    const kept = await store.keep({ url: `${url}/img.png` }, 'x/y', record);
    expect(kept.blob).toBe('x/y.png');
    expect(await list()).toEqual(['x/y.png', 'x/y.png.json']);
    const { connectionString } = inject('azurite');
    const stored = await BlobServiceClient.fromConnectionString(connectionString)
      .getContainerClient(container)
      .getBlobClient(kept.blob)
      .downloadToBuffer();
    expect(stored.equals(png)).toBe(true);
  });

  it('a service URL that no longer serves the image is 502; one that never answers is a timeout of its own', async () => {
    const { store, list } = await storeFailingOn(() => false);
    const gone = await listen((_req, res) => res.writeHead(404).end());
    const error = await store.keep({ url: `${gone}/x.png` }, 'x/gone', record).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceFailedError);
    expect(error).toMatchObject({ code: 'UpstreamImageUnavailable', message: expect.stringMatching(/answered 404/) });
    const unreachable = await store
      .keep({ url: 'http://127.0.0.1:1/x.png' }, 'x/down', record)
      .catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ code: 'UpstreamImageUnavailable' });
    const silent = await listen(() => undefined);
    const started = Date.now();
    const timedOut = await store.keep({ url: `${silent}/x.png` }, 'x/silent', record).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(ServiceTimeoutError);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await list()).toEqual([]);
  });
});

describe('ImagePipeline', () => {
  it('keeps all images of a request or none', async () => {
    const { store, list } = await storeFailingOn((method, path) => isBlobPut(method, path) && /-1\.png$/.test(path));
    const pipeline = new ImagePipeline({
      deployments: localSettings({ AZURE_OPENAI_ENDPOINT: emulator.url }),
      apiVersion: 'v1',
      generator: new ImageService({
        endpoint: emulator.url,
        apiVersion: 'v1',
        auth: { kind: 'key', keys: new StaticApiKey('k') },
        timeoutMs: 5000,
        maxRetries: 0,
      }),
      store,
    });
    const error = await pipeline
      .generate(pipeline.resolve({ prompt: 'three', n: 3, quality: 'low' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(await list()).toEqual([]);
    const ok = await pipeline.generate(pipeline.resolve({ prompt: 'one', quality: 'low' }));
    expect(ok.body.data).toHaveLength(1);
    expect(await list()).toHaveLength(2);
  });

  it('answers the images when neither the gallery index nor the thumbnail queue can be written, and says so in the log', async () => {
    const { store, list } = await storeFailingOn(() => false);
    // A table nobody answers: every write fails at once.
    const table = TableClient.fromConnectionString(
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;',
      'gone',
      {
        allowInsecureConnection: true,
        retryOptions: { maxRetries: 0 },
      },
    );
    const queues = { sendThumbnail: () => Promise.reject(new Error('the queue is down')) };
    const pipeline = new ImagePipeline({
      deployments: localSettings({ AZURE_OPENAI_ENDPOINT: emulator.url }),
      apiVersion: 'v1',
      generator: new ImageService({
        endpoint: emulator.url,
        apiVersion: 'v1',
        auth: { kind: 'key', keys: new StaticApiKey('k') },
        timeoutMs: 5000,
        maxRetries: 0,
      }),
      store,
      gallery: new GalleryIndexer(store, new ImageIndex(table, 'images'), queues),
    });
    const logged: string[] = [];
    const answer = await pipeline.generate(pipeline.resolve({ prompt: 'indexed or not', quality: 'low' }), {
      log: (m) => logged.push(m),
    });
    expect(answer.body.data).toHaveLength(1);
    expect(await list()).toHaveLength(2);
    const blob = answer.body.data[0].storage!.blob;
    expect(logged.join('\n')).toMatch(
      new RegExp(`The gallery index has no entry for ${blob}: .*npm run backfill writes it`),
    );
    expect(logged.join('\n')).toContain(
      `No thumbnail was asked for ${blob}: the queue is down. npm run backfill makes it.`,
    );
  });

  it('answers only once what a generator still does for the generation (the ledger) is done, and records its caller and cost', async () => {
    const { store, container } = await storeFailingOn(() => false);
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const cost = { basis: 'usage' as const, nanoUsd: 2_180_000, tableVersion: 'v' };
    const generator = {
      generate: async () => ({
        created: 1,
        images: [{ b64_json: png.toString('base64') }],
        output: {},
        extra: {},
        cost,
        settled,
      }),
      stream: () => Promise.reject(new Error('not here')),
    };
    const pipeline = new ImagePipeline({
      deployments: localSettings({ AZURE_OPENAI_ENDPOINT: emulator.url }),
      apiVersion: 'v1',
      generator,
      store,
    });
    let answered = false;
    const answer = pipeline
      .generate(pipeline.resolve({ prompt: 'one' }), { caller: { name: 'team', kind: 'key' } })
      .then((a) => ((answered = true), a));
    await quietFor(300, 'no answer while the ledger is still at work');
    expect(answered).toBe(false);
    settle();
    const { body } = await answer;
    const blobs = BlobServiceClient.fromConnectionString(inject('azurite').connectionString).getContainerClient(
      container,
    );
    const kept = JSON.parse((await blobs.getBlobClient(body.data[0].storage!.record).downloadToBuffer()).toString());
    expect(kept).toMatchObject({
      caller: { name: 'team', kind: 'key' },
      cost: { usd: 0.00218, basis: 'usage', table_version: 'v' },
    });
  });
});
