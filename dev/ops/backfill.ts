import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultAzureCredential } from '@azure/identity';
import { backfill } from '../../src/lib/gallery/backfill.js';
import { GalleryIndexer } from '../../src/lib/gallery/indexer.js';
import { ImageIndex } from '../../src/lib/gallery/imageIndex.js';
import { ImageStore } from '../../src/lib/images/store.js';
import { settingsSchema } from '../../src/lib/platform/settings.js';
import { createStorageClients } from '../../src/lib/platform/storage.js';

// `npm run backfill`: thumbnails and gallery index entries for every kept image that lacks them,
// rebuilt from the records. Reads the storage settings from the environment, else from
// local.settings.json (Azurite locally). Against Azure: the storage account's blob and table URIs,
// signed in with the Azure CLI (Storage Blob Data Contributor and Storage Table Data Contributor).

async function main(): Promise<void> {
  const file = join(process.cwd(), 'local.settings.json');
  const local = existsSync(file)
    ? ((JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, string> }).Values ?? {})
    : {};
  const value = (name: string) => process.env[name]?.trim() || local[name]?.trim() || undefined;
  const shape = settingsSchema.in.shape;
  const settings = {
    AzureWebJobsStorage: value('AzureWebJobsStorage'),
    AzureWebJobsStorage__blobServiceUri: value('AzureWebJobsStorage__blobServiceUri'),
    AzureWebJobsStorage__queueServiceUri: value('AzureWebJobsStorage__queueServiceUri'),
    AzureWebJobsStorage__tableServiceUri: value('AzureWebJobsStorage__tableServiceUri'),
    IMAGES_CONTAINER: shape.IMAGES_CONTAINER.parse(value('IMAGES_CONTAINER')),
    IMAGE_INDEX_TABLE: shape.IMAGE_INDEX_TABLE.parse(value('IMAGE_INDEX_TABLE')),
  };
  if (
    !settings.AzureWebJobsStorage &&
    !(settings.AzureWebJobsStorage__blobServiceUri && settings.AzureWebJobsStorage__tableServiceUri)
  ) {
    throw new Error(
      'set AzureWebJobsStorage, or AzureWebJobsStorage__blobServiceUri and AzureWebJobsStorage__tableServiceUri',
    );
  }
  const storage = createStorageClients(
    settings,
    () => new DefaultAzureCredential({ managedIdentityClientId: value('AZURE_CLIENT_ID') }),
  );
  const store = new ImageStore(storage.blobs, { container: settings.IMAGES_CONTAINER, urlTtlMinutes: 60 });
  const index = new ImageIndex(storage.table(settings.IMAGE_INDEX_TABLE), settings.IMAGES_CONTAINER);
  // Thumbnails are made here, not asked of the queue.
  const indexer = new GalleryIndexer(store, index, { sendThumbnail: () => Promise.resolve() });
  const started = Date.now();
  const report = await backfill(store, indexer, { log: (line) => console.warn(`backfill: ${line}`) });
  console.log(
    `backfill: ${report.images} images in ${settings.IMAGES_CONTAINER}: ${report.indexed} indexed in ${settings.IMAGE_INDEX_TABLE}, ` +
      `${report.thumbnailsMade} thumbnails made, ${report.failed} failed, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  if (report.failed > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`backfill: ${(err as Error).message}`);
  process.exit(1);
});
