import { text } from 'node:stream/consumers';
import type { TokenCredential } from '@azure/identity';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type BlobClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { DependencyUnavailableError, ImagesError } from '../core/errors.js';
import { sleep } from './deadline.js';
import type { Settings } from './settings.js';

// Storage clients on the same connection the Functions host uses: a connection string locally,
// the managed identity against the service URIs in Azure (no account key anywhere).

export interface StorageClients {
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
  /** A table of the app's storage account (Azurite locally), created on first use. */
  table(name: string): TableClient;
}

/** What a caller is told to wait when Storage fails. */
const STORAGE_RETRY_AFTER_MS = 5_000;

/**
 * Every try has its own timeout: without one, a call sent while Storage was away waited for an
 * answer that never came, and held its request until the 220 s deadline.
 */
const PIPELINE = {
  retryOptions: { maxTries: 3, tryTimeoutInMs: 15_000, retryDelayInMs: 300, maxRetryDelayInMs: 2_000 },
} as const;

export function createStorageClients(
  settings: Pick<
    Settings,
    | 'AzureWebJobsStorage'
    | 'AzureWebJobsStorage__blobServiceUri'
    | 'AzureWebJobsStorage__queueServiceUri'
    | 'AzureWebJobsStorage__tableServiceUri'
  >,
  credential: () => TokenCredential,
): StorageClients {
  const connection = settings.AzureWebJobsStorage;
  if (connection) {
    return {
      blobs: BlobServiceClient.fromConnectionString(connection, PIPELINE),
      queues: QueueServiceClient.fromConnectionString(connection, PIPELINE),
      // Azurite serves tables over plain HTTP.
      table: (name) =>
        TableClient.fromConnectionString(connection, name, {
          ...PIPELINE,
          allowInsecureConnection: connection.includes('http://'),
        }),
    };
  }
  return {
    blobs: new BlobServiceClient(settings.AzureWebJobsStorage__blobServiceUri!, credential(), PIPELINE),
    queues: new QueueServiceClient(settings.AzureWebJobsStorage__queueServiceUri!, credential(), PIPELINE),
    table: (name) => new TableClient(settings.AzureWebJobsStorage__tableServiceUri!, name, credential(), PIPELINE),
  };
}

const created = new Map<string, Promise<unknown>>();

/**
 * Creates a container, queue or table once per instance (infra creates them in Azure; Azurite starts
 * empty). A failure is tried again on the next call.
 */
export function ensureCreated(resource: { url: string; createIfNotExists(): Promise<unknown> }): Promise<unknown> {
  let ready = created.get(resource.url);
  if (!ready) {
    ready = resource.createIfNotExists().catch((err: unknown) => {
      created.delete(resource.url);
      throw err;
    });
    created.set(resource.url, ready);
  }
  return ready;
}

/** Creates a table once per instance, as ensureCreated does containers and queues. */
export const ensureTable = (table: TableClient): Promise<unknown> =>
  ensureCreated({ url: `${table.url}/${table.tableName}`, createIfNotExists: () => table.createTable() });

/** A blob's text and the ETag of exactly that version; undefined when there is no such blob. */
export function readBlobText(blob: BlobClient): Promise<{ text: string; etag: string } | undefined> {
  return unless404(async () => {
    const answer = await blob.download();
    return { text: await text(answer.readableStreamBody!), etag: answer.etag! };
  });
}

/** Whether a storage error carries one of these HTTP statuses: answers the caller handles itself. */
export const hasStatus = (err: unknown, ...codes: number[]) =>
  codes.includes((err as { statusCode?: number }).statusCode ?? 0);

/** What `read` answers, or undefined where Storage answers 404: no such blob, entity or table. */
export async function unless404<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (hasStatus(err, 404)) return undefined;
    throw err;
  }
}

/**
 * Runs Storage calls; `work` handles the answers it expects (404, 409, 412) itself. Storage failing
 * (down, throttling, refusing, timing out) becomes a DependencyUnavailableError; a bug stays a bug.
 */
export async function usingStorage<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isStorageFailure(err)) throw err;
    throw new DependencyUnavailableError(
      'Storage',
      `${what}: Storage is unavailable. Try again later.`,
      STORAGE_RETRY_AFTER_MS,
      { cause: err },
    );
  }
}

/** The storage SDK's errors and the network's; not ours (ImagesError), not a bug's. */
const isStorageFailure = (err: unknown) =>
  err instanceof Error &&
  !(err instanceof ImagesError) &&
  (['RestError', 'AbortError', 'TimeoutError'].includes(err.name) ||
    typeof (err as { code?: unknown }).code === 'string');

/** How long a step waits Storage out before it gives up: well inside the queue run's 9 minutes. */
const STORAGE_PATIENCE_MS = 5 * 60_000;

const isStorageOutage = (err: unknown): boolean =>
  err instanceof DependencyUnavailableError && err.dependency === 'Storage';

/**
 * Runs a Storage step again while Storage is unavailable (1, 2, 4, then every 5 s), until it answers,
 * `signal` aborts or the patience runs out. A delivery that gave up during an outage could not even
 * put its message back (it would lie invisible for the host's 10 minutes), and what it holds may be
 * paid for. `retryIf` can stop it early (a step that is no longer safe to repeat).
 */
export async function patiently<T>(
  step: () => Promise<T>,
  signal?: AbortSignal,
  retryIf: () => boolean = () => true,
): Promise<T> {
  const until = Date.now() + STORAGE_PATIENCE_MS;
  for (let wait = 1_000; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await step();
    } catch (err) {
      if (!isStorageOutage(err) || !retryIf() || signal?.aborted || Date.now() + wait > until) throw err;
      await sleep(wait, signal).catch(() => {
        throw err;
      });
    }
  }
}
