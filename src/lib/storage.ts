import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
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
