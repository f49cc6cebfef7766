import type { Readable } from 'node:stream';
import type { Caller } from '../core/caller.js';
import { checkZipBytes, parseZipRequest, zipStream, type ZipEntry } from './archive.js';
import { InvalidRequestError, NotFoundError, TooManyRequestsError } from '../core/errors.js';
import { itemOf, type GalleryItem, type GalleryPage, type GalleryQuery, type ImageIndex } from './imageIndex.js';
import { isImageBlobName, type ImageStore, type KeptRecord } from '../images/store.js';

// What the studio reads of the kept images, for an authenticated caller: pages of the index, one
// image's record, its thumbnail and its bytes, and several as a ZIP. Function-key callers and
// signed-in principals see every image; a caller key sees the images it made, and any other is
// "not found" to it, as if it did not exist.

export interface ImageDetail extends GalleryItem {
  /** The record, exactly as kept beside the image. */
  kept_record: KeptRecord;
}

const baseName = (blob: string) => blob.split('/').pop()!;

/** About what a ZIP of the largest selection takes to download: when a refused one may try again. */
const ZIP_RETRY_AFTER_MS = 10_000;

export class Gallery {
  /** ZIPs this instance is writing now. */
  private zipsInFlight = 0;

  constructor(
    private readonly index: ImageIndex,
    private readonly store: ImageStore,
    private readonly options: { maxZipsInFlight: number },
  ) {}

  list(query: GalleryQuery, caller: Caller): Promise<GalleryPage> {
    return this.index.list(caller.kind === 'key' ? { ...query, caller: caller.name } : query);
  }

  async detail(blob: string, caller: Caller): Promise<ImageDetail> {
    const record = await this.visibleRecord(blob, caller, true);
    return { ...itemOf(record), kept_record: record };
  }

  async thumbnail(blob: string, caller: Caller): Promise<Buffer> {
    await this.visibleRecord(blob, caller);
    const bytes = await this.store.readThumbnail(blob);
    if (!bytes)
      throw new NotFoundError(`Image '${blob}' has no thumbnail yet: npm run backfill makes the missing ones.`);
    return bytes;
  }

  async file(blob: string, caller: Caller): Promise<{ bytes: Buffer; contentType: string }> {
    await this.visibleRecord(blob, caller);
    const image = await this.store.read(blob);
    if (!image) throw notFound(blob);
    return image;
  }

  /**
   * The selected images and their records as one ZIP, written as it is read; a selection past its
   * bounds is refused before any image is read, and one ZIP past the instance's limit with a 429.
   */
  async zip(body: unknown, caller: Caller): Promise<Readable> {
    if (this.zipsInFlight >= this.options.maxZipsInFlight) {
      throw new TooManyRequestsError(
        `This instance is writing as many ZIPs as it takes at once (${this.options.maxZipsInFlight}); retry after Retry-After.`,
        ZIP_RETRY_AFTER_MS,
      );
    }
    this.zipsInFlight++;
    let zip: Readable | undefined;
    try {
      const { blobs } = parseZipRequest(body);
      for (const [i, blob] of blobs.entries())
        if (!isImageBlobName(blob))
          throw new InvalidRequestError(
            `Invalid value for 'blobs.${i}': '${blob}' is not an image blob name.`,
            `blobs.${i}`,
          );
      const records = await Promise.all(blobs.map((blob) => this.visibleRecord(blob, caller, true)));
      const sizes = await this.store.sizes(blobs);
      const missing = sizes.findIndex((s) => s === undefined);
      if (missing >= 0) throw notFound(blobs[missing]);
      checkZipBytes(sizes as number[]);
      const entries = blobs.flatMap((blob, i): ZipEntry[] => [
        {
          name: baseName(blob),
          compress: false,
          open: async () => {
            const bytes = await this.store.readStream(blob);
            // Gone since it was checked: the ZIP cannot be whole.
            if (!bytes) throw notFound(blob);
            return bytes;
          },
        },
        {
          name: `${baseName(blob)}.json`,
          compress: true,
          open: async () => Buffer.from(JSON.stringify(records[i], null, 2)),
        },
      ]);
      zip = zipStream(entries);
      return zip;
    } finally {
      if (zip) zip.once('close', () => this.zipsInFlight--);
      else this.zipsInFlight--;
    }
  }

  /**
   * The record of an image this caller may see. Only a caller key's reads need it (to know whose
   * image it is) unless `always`; a missing image, or another caller's, is not found.
   */
  private async visibleRecord(blob: string, caller: Caller, always: true): Promise<KeptRecord>;
  private async visibleRecord(blob: string, caller: Caller): Promise<KeptRecord | undefined>;
  private async visibleRecord(blob: string, caller: Caller, always = false): Promise<KeptRecord | undefined> {
    if (!isImageBlobName(blob)) throw notFound(blob);
    if (caller.kind !== 'key' && !always) return undefined;
    const record = await this.store.readRecord(blob);
    if (!record || (caller.kind === 'key' && record.caller?.name !== caller.name)) throw notFound(blob);
    return record;
  }
}

const notFound = (blob: string) => new NotFoundError(`There is no image '${blob}'.`);
