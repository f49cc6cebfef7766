import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient, type BlobClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { Settings } from './settings.js';

// Storage clients on the same connection the Functions host uses: a connection string locally,
// the managed identity against the service URIs in Azure (no account key anywhere).

export interface StorageClients {
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
  /** True when SAS must be user delegation SAS: there is no account key to sign with. */
  identityBased: boolean;
}

export function createStorageClients(settings: Settings, credential: () => TokenCredential): StorageClients {
  if (settings.AzureWebJobsStorage) {
    return {
      blobs: BlobServiceClient.fromConnectionString(settings.AzureWebJobsStorage),
      queues: QueueServiceClient.fromConnectionString(settings.AzureWebJobsStorage),
      identityBased: false,
    };
  }
  return {
    blobs: new BlobServiceClient(settings.AzureWebJobsStorage__blobServiceUri!, credential()),
    queues: new QueueServiceClient(settings.AzureWebJobsStorage__queueServiceUri!, credential()),
    identityBased: true,
  };
}

const created = new Map<string, Promise<unknown>>();

/**
 * Creates a container or queue once per instance (infra creates them in Azure; Azurite starts
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

/** A blob's text and the ETag of exactly that version; undefined when there is no such blob. */
export async function readBlobText(blob: BlobClient): Promise<{ text: string; etag: string } | undefined> {
  try {
    const answer = await blob.download();
    const chunks: Buffer[] = [];
    for await (const chunk of answer.readableStreamBody as AsyncIterable<Buffer>) chunks.push(chunk);
    return { text: Buffer.concat(chunks).toString('utf8'), etag: answer.etag! };
  } catch (err) {
    if (hasStatus(err, 404)) return undefined;
    throw err;
  }
}

/** Whether a storage error carries one of these HTTP statuses. */
export const hasStatus = (err: unknown, ...codes: number[]) => codes.includes((err as { statusCode?: number }).statusCode ?? 0);
