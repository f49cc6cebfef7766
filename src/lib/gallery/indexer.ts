import { isJsonObject } from '../core/json.js';
import { itemOf, type ImageIndex } from './imageIndex.js';
import { isImageBlobName, thumbnailBlobName, type ImageStore, type KeptImage } from '../images/store.js';
import { sniffImageFormat } from '../images/format.js';
import type { ImageRecord } from '../images/record.js';
import { makeThumbnail } from './thumbnails.js';

// What follows an image being kept, for the gallery: one durable message on the image-thumbnails
// queue, whose trigger makes the thumbnail (tens of milliseconds of decoding) and writes the index
// entry naming it. The answer waits for the message alone: once it is on the queue, the entry cannot
// be lost (the host retries, then parks it), so no Table write holds up the caller. When the message
// cannot be sent, the entry is written at once instead (the repair) and the message tried once more.
// The record stays the source of truth: whatever still fails is told and left to the backfill, never
// the caller's failure, since the image is paid for and kept.

export type Log = (message: string) => void;

export type ThumbnailOutcome = 'made' | 'existed' | 'gone';

export class GalleryIndexer {
  constructor(
    private readonly store: ImageStore,
    private readonly index: ImageIndex,
    private readonly queues: { sendThumbnail(blob: string): Promise<void> },
  ) {}

  /** Asks for a kept image's thumbnail and index entry; where that fails, indexes it now. A failure is logged. */
  async kept(kept: KeptImage, record: ImageRecord, log: Log = console.warn): Promise<void> {
    let failed: unknown;
    try {
      return await this.queues.sendThumbnail(kept.blob);
    } catch (err) {
      failed = err;
    }
    // The entry now (Merge: the queue may yet name a thumbnail first), and the message once more.
    const [indexed, asked] = await Promise.allSettled([
      this.index.put(itemOf({ ...record, blob: kept.blob, content_type: kept.contentType }), 'Merge'),
      this.queues.sendThumbnail(kept.blob),
    ]);
    if (indexed.status === 'rejected')
      log(
        `The gallery index has no entry for ${kept.blob}: ${(indexed.reason as Error).message}. npm run backfill writes it.`,
      );
    if (asked.status === 'rejected')
      log(`No thumbnail was asked for ${kept.blob}: ${(failed as Error).message}. npm run backfill makes it.`);
  }

  /**
   * Makes an image's thumbnail (or, with onlyIfMissing, keeps the one it has) and writes its index
   * entry, from its record, naming the thumbnail. An image that is no longer there is 'gone'.
   */
  async thumbnail(blob: string, options: { onlyIfMissing?: boolean } = {}): Promise<ThumbnailOutcome> {
    const record = await this.store.readRecord(blob);
    if (!record) return 'gone';
    let outcome: ThumbnailOutcome = 'existed';
    if (!(options.onlyIfMissing && (await this.store.hasThumbnail(blob)))) {
      try {
        const image = await this.store.read(blob);
        if (!image) return 'gone';
        const format = sniffImageFormat(image.bytes);
        if (!format) throw new Error(`${blob} is not a PNG, JPEG or WebP image`);
        await this.store.putThumbnail(blob, (await makeThumbnail(image.bytes, format)).bytes);
      } catch (err) {
        // No thumbnail (yet): the image is still listed, without one, while the queue retries.
        await this.index.put(itemOf(record), 'Merge');
        throw err;
      }
      outcome = 'made';
    }
    await this.index.put(itemOf(record, thumbnailBlobName(blob)));
    return outcome;
  }

  /** A message of the image-thumbnails queue: one that names no kept image is told and dropped, never retried. */
  async fromQueue(message: unknown, log: Log): Promise<void> {
    const blob = isJsonObject(message) && typeof message.blob === 'string' ? message.blob : undefined;
    if (blob === undefined || !isImageBlobName(blob)) {
      log(`Dropped a thumbnail request that names no image blob: ${JSON.stringify(message).slice(0, 200)}`);
      return;
    }
    // Gone: the image was taken away again (a generation that failed), or is another app's.
    if ((await this.thumbnail(blob)) === 'gone') log(`No thumbnail for ${blob}: there is no such image.`);
  }
}
