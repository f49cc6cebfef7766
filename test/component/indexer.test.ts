import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { describe, expect, inject, it } from 'vitest';
import { DependencyUnavailableError } from '../../src/lib/core/errors.js';
import { ImageIndex } from '../../src/lib/gallery/imageIndex.js';
import { GalleryIndexer } from '../../src/lib/gallery/indexer.js';
import { ImageStore, thumbnailBlobName } from '../../src/lib/images/store.js';
import { keptRecord, smallPng } from '../support/kept.js';
import { uniqueName } from '../support/stack.js';

// What the answer waits for when an image is kept: the thumbnail message alone, which makes both the
// thumbnail and the index entry; the Table write is off the answer's path, and a kept image still
// always gets its entry: from the queue, from the repair when the message cannot be sent, and
// without a thumbnail when none can be made. Azurite: blobs, a queue of the test's own, the table.

const record = keptRecord('a kept image');
const png = smallPng;

async function setup(send?: (blob: string, real: (blob: string) => Promise<void>) => Promise<void>) {
  const { connectionString } = inject('azurite');
  const store = new ImageStore(BlobServiceClient.fromConnectionString(connectionString), {
    container: uniqueName('indexer'),
    urlTtlMinutes: 60,
  });
  const index = new ImageIndex(
    TableClient.fromConnectionString(connectionString, uniqueName('index').replaceAll('-', ''), {
      allowInsecureConnection: true,
    }),
    'images',
  );
  const queue = QueueServiceClient.fromConnectionString(connectionString).getQueueClient(uniqueName('thumbnails'));
  await queue.createIfNotExists();
  const real = async (blob: string) => void (await queue.sendMessage(JSON.stringify({ blob })));
  const indexer = new GalleryIndexer(store, index, { sendThumbnail: (blob) => (send ? send(blob, real) : real(blob)) });
  const entry = async (blob: string) => (await index.list({})).data.find((item) => item.blob === blob);
  /** What the queue trigger does with each message waiting: the messages, as it got them. */
  const runQueue = async (log: (m: string) => void = () => undefined) => {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    for (const m of receivedMessageItems) await indexer.fromQueue(JSON.parse(m.messageText), log);
    return receivedMessageItems.map((m) => JSON.parse(m.messageText) as unknown);
  };
  const keep = async (bytes: Buffer) => store.keep({ bytes }, ImageStore.blobName(new Date(), 0), record);
  return { indexer, entry, runQueue, keep };
}

describe('a kept image and the gallery', () => {
  it('is indexed by its thumbnail message: the answer waits for no Table write, and the queue writes the entry', async () => {
    const { indexer, entry, runQueue, keep } = await setup();
    const kept = await keep(png);
    const logged: string[] = [];
    await indexer.kept(kept, record, (m) => logged.push(m));
    // What the answer waited for wrote no entry: only the message.
    expect(await entry(kept.blob)).toBeUndefined();
    expect(await runQueue()).toEqual([{ blob: kept.blob }]);
    expect(await entry(kept.blob)).toMatchObject({
      blob: kept.blob,
      thumbnail: thumbnailBlobName(kept.blob),
      prompt: 'a kept image',
      content_type: 'image/png',
    });
    expect(logged).toEqual([]);
  });

  it('whose message cannot be sent is indexed at once, and the message is tried again', async () => {
    let calls = 0;
    const { indexer, entry, runQueue, keep } = await setup((blob, real) =>
      ++calls === 1
        ? Promise.reject(
            new DependencyUnavailableError('Storage', 'Sending to image-thumbnails: Storage is unavailable.', 5000),
          )
        : real(blob),
    );
    const kept = await keep(png);
    const logged: string[] = [];
    await indexer.kept(kept, record, (m) => logged.push(m));
    expect(await entry(kept.blob)).toMatchObject({ blob: kept.blob, prompt: 'a kept image' });
    expect((await entry(kept.blob))?.thumbnail).toBeUndefined();
    expect(logged).toEqual([]);
    // The second try put the message on the queue: the thumbnail follows.
    expect(await runQueue()).toEqual([{ blob: kept.blob }]);
    expect(await entry(kept.blob)).toMatchObject({ thumbnail: thumbnailBlobName(kept.blob) });
  });

  it('whose message never goes is still indexed, and the log says the thumbnail is missing', async () => {
    const { indexer, entry, runQueue, keep } = await setup(() => Promise.reject(new Error('the queue is down')));
    const kept = await keep(png);
    const logged: string[] = [];
    await indexer.kept(kept, record, (m) => logged.push(m));
    expect(await entry(kept.blob)).toMatchObject({ blob: kept.blob });
    expect(logged).toEqual([`No thumbnail was asked for ${kept.blob}: the queue is down. npm run backfill makes it.`]);
    expect(await runQueue()).toEqual([]);
  });

  it('whose thumbnail cannot be made is listed without one while the queue retries', async () => {
    const { indexer, entry, keep } = await setup();
    // A PNG signature on bytes that do not decode: kept (the store sniffs the signature), never thumbnailed.
    const kept = await keep(Buffer.concat([png.subarray(0, 8), Buffer.alloc(200, 7)]));
    await indexer.kept(kept, record);
    await expect(indexer.fromQueue({ blob: kept.blob }, () => undefined)).rejects.toThrow();
    expect(await entry(kept.blob)).toMatchObject({ blob: kept.blob, prompt: 'a kept image' });
    expect((await entry(kept.blob))?.thumbnail).toBeUndefined();
  });
});
