import { randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import {
  BlobSASPermissions,
  StorageSharedKeyCredential,
  type BlobServiceClient,
  type ContainerClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { withDeadline } from '../platform/deadline.js';
import { ServiceFailedError, ServiceTimeoutError } from '../core/errors.js';
import { CONTENT_TYPES, EXTENSIONS, sniffImageFormat, THUMBNAIL_CONTENT_TYPE } from './format.js';
import type { ImageRecord } from './record.js';
import { ensureCreated, readBlobText, unless404, usingStorage } from '../platform/storage.js';

// Keeps each image in a blob container beside a JSON record of how it was made (and, once the
// thumbnail queue has made it, a WebP thumbnail), and hands out read-only SAS URLs for one blob each.

export interface KeptImage {
  container: string;
  blob: string;
  record: string;
  contentType: string;
}

/** A record as kept: the image's blob and type written into it. */
export type KeptRecord = ImageRecord & { container: string; blob: string; content_type: string };

/** Image bytes from the service: inline (b64_json, decoded once) or at a short-lived URL. */
export type ImageSource = { bytes: Buffer } | { url: string };

export interface ImageStoreOptions {
  container: string;
  urlTtlMinutes: number;
  /** How long an image the service answered with a URL may take to download. */
  downloadTimeoutMs?: number;
}

/** The names blobName() gives an image (2026/11/26/003145123-<uuid>-0.png): nothing else is served as one. */
const IMAGE_BLOB = new RegExp(
  `^\\d{4}/\\d{2}/\\d{2}/\\d{9}-[0-9a-f-]{36}-\\d+\\.(${Object.values(EXTENSIONS).join('|')})$`,
);
export const isImageBlobName = (name: string): boolean => IMAGE_BLOB.test(name);

/** The thumbnail beside an image: 2026/11/26/003145123-<uuid>-0.thumb.webp (never a name isImageBlobName takes). */
export const thumbnailBlobName = (blob: string): string => `${blob.replace(/\.\w+$/, '')}.thumb.webp`;

/** Azurite honours user delegation SAS only up to this version; Azure accepts it too. */
const SAS_VERSION = '2021-08-06';
const CLOCK_SKEW_MS = 5 * 60_000;
/** A user delegation key serves many SAS; it is asked for once a day, not per image. */
const DELEGATION_KEY_LIFETIME_MS = 24 * 60 * 60_000;
const MAX_DELEGATION_KEY_MS = 7 * 24 * 60 * 60_000 - 60_000;
/** A service URL that does not answer in this time is a timeout of its own, not the caller's 220 s. */
const DOWNLOAD_TIMEOUT_MS = 30_000;
/** Kept bytes never change under their name: a browser may keep them for a year. */
export const IMMUTABLE = 'private, max-age=31536000, immutable';

export class ImageStore {
  private readonly container: ContainerClient;
  private delegation?: { key: Promise<UserDelegationKey>; expiresOn: number };

  constructor(
    private readonly blobs: BlobServiceClient,
    private readonly options: ImageStoreOptions,
  ) {
    this.container = blobs.getContainerClient(options.container);
  }

  /** A blob name that sorts by time and that no caller can steer. */
  static blobName(created: Date, index: number): string {
    const iso = created.toISOString(); // 2026-11-25T00:31:45.123Z
    const day = iso.slice(0, 10).replaceAll('-', '/');
    const time = iso.slice(11, 23).replace(/[:.]/g, '');
    return `${day}/${time}-${randomUUID()}-${index}`;
  }

  /** Stores the image, then its record: a record never points at a missing image. */
  async keep(source: ImageSource, baseName: string, record: ImageRecord, signal?: AbortSignal): Promise<KeptImage> {
    const bytes =
      'bytes' in source
        ? source.bytes
        : await download(source.url, this.options.downloadTimeoutMs ?? DOWNLOAD_TIMEOUT_MS, signal);
    const format = sniffImageFormat(bytes);
    if (!format)
      throw new ServiceFailedError(
        'Azure OpenAI returned bytes that are not a PNG, JPEG or WebP image.',
        'UpstreamInvalidImage',
        true,
      );
    const blob = `${baseName}.${EXTENSIONS[format]}`;
    const contentType = CONTENT_TYPES[format];
    const kept: KeptImage = { container: this.options.container, blob, record: `${blob}.json`, contentType };
    const json = JSON.stringify(
      { ...record, container: kept.container, blob: kept.blob, content_type: contentType },
      null,
      2,
    );
    try {
      await usingStorage('Keeping the image', async () => {
        await ensureCreated(this.container);
        // A buffer, not a stream: a retried upload sends the whole body again.
        await this.container.getBlockBlobClient(blob).uploadData(bytes, {
          blobHTTPHeaders: { blobContentType: contentType, blobCacheControl: IMMUTABLE },
          abortSignal: signal,
        });
        await this.container.getBlockBlobClient(kept.record).upload(json, Buffer.byteLength(json), {
          blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
          abortSignal: signal,
        });
      });
      return kept;
    } catch (err) {
      await this.remove(kept);
      throw err;
    }
  }

  /** Stores a thumbnail beside its image; answers its name. */
  async putThumbnail(blob: string, bytes: Uint8Array): Promise<string> {
    const name = thumbnailBlobName(blob);
    await usingStorage('Keeping the thumbnail', () =>
      this.container.getBlockBlobClient(name).uploadData(bytes, {
        blobHTTPHeaders: { blobContentType: THUMBNAIL_CONTENT_TYPE, blobCacheControl: IMMUTABLE },
      }),
    );
    return name;
  }

  /** Whether a kept image has its thumbnail. */
  hasThumbnail(blob: string): Promise<boolean> {
    return usingStorage('Reading the thumbnail', () => this.container.getBlobClient(thumbnailBlobName(blob)).exists());
  }

  /** A kept image's thumbnail; undefined when it has none (yet). */
  readThumbnail(blob: string): Promise<Buffer | undefined> {
    return this.readBytes(thumbnailBlobName(blob), 'Reading the thumbnail');
  }

  /** A kept image's record as it was written; undefined when there is no such image. */
  async readRecord(blob: string): Promise<KeptRecord | undefined> {
    if (!isImageBlobName(blob)) return undefined;
    const found = await usingStorage('Reading the record', () =>
      readBlobText(this.container.getBlobClient(`${blob}.json`)),
    );
    return found && (JSON.parse(found.text) as KeptRecord);
  }

  /** Every kept image's blob name, oldest first (the backfill's walk). */
  async *imageBlobs(): AsyncIterable<string> {
    if (!(await usingStorage('Listing the images', () => this.container.exists()))) return;
    for await (const item of this.container.listBlobsFlat()) if (isImageBlobName(item.name)) yield item.name;
  }

  /** The sizes of kept images, in bytes; undefined for one that is not there. */
  async sizes(blobs: string[]): Promise<(number | undefined)[]> {
    return usingStorage('Reading the images', () =>
      Promise.all(
        blobs.map(async (blob) =>
          unless404(async () => (await this.container.getBlobClient(blob).getProperties()).contentLength),
        ),
      ),
    );
  }

  private async readBytes(name: string, what: string): Promise<Buffer | undefined> {
    return usingStorage(what, () => unless404(() => this.container.getBlobClient(name).downloadToBuffer()));
  }

  /** A kept image's bytes and content type; undefined when there is no such image. */
  async read(blob: string): Promise<{ bytes: Buffer; contentType: string } | undefined> {
    if (!isImageBlobName(blob)) return undefined;
    return usingStorage('Reading the image', () =>
      unless404(async () => {
        const answer = await this.container.getBlobClient(blob).download();
        return {
          bytes: await buffer(answer.readableStreamBody!),
          contentType: answer.contentType ?? 'application/octet-stream',
        };
      }),
    );
  }

  /** A kept image's bytes as they are read, a chunk at a time; undefined when there is no such image. */
  async readStream(blob: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    if (!isImageBlobName(blob)) return undefined;
    return usingStorage('Reading the image', () =>
      unless404(
        async () =>
          (await this.container.getBlobClient(blob).download()).readableStreamBody as AsyncIterable<Uint8Array>,
      ),
    );
  }

  /** Whether a kept image exists: a link is signed only for one. */
  async exists(blob: string): Promise<boolean> {
    return (
      isImageBlobName(blob) &&
      (await usingStorage('Reading the image', () => this.container.getBlobClient(blob).exists()))
    );
  }

  /** Best effort: what one failed request stored is taken away again. */
  async remove(kept: Pick<KeptImage, 'blob' | 'record'>): Promise<void> {
    await Promise.allSettled([
      this.container.deleteBlob(kept.record),
      this.container.deleteBlob(kept.blob),
      this.container.deleteBlob(thumbnailBlobName(kept.blob)),
    ]);
  }

  /** A read-only URL for one blob, readable without credentials until it expires. */
  async readUrl(blob: string, now = Date.now()): Promise<{ url: string; expiresOn: Date }> {
    const expiresOn = new Date(now + this.options.urlTtlMinutes * 60_000);
    const options = {
      permissions: BlobSASPermissions.parse('r'),
      startsOn: new Date(now - CLOCK_SKEW_MS),
      expiresOn,
      version: SAS_VERSION,
    };
    const client = this.container.getBlobClient(blob);
    const url =
      this.blobs.credential instanceof StorageSharedKeyCredential
        ? await client.generateSasUrl(options)
        : await client.generateUserDelegationSasUrl(
            options,
            await usingStorage('Signing the URL', () => this.userDelegationKey(expiresOn.getTime())),
          );
    return { url, expiresOn };
  }

  /** One key for many SAS, asked for once (concurrent requests share the request) and again before it expires. */
  private userDelegationKey(mustOutlive: number): Promise<UserDelegationKey> {
    if (this.delegation && this.delegation.expiresOn > mustOutlive) return this.delegation.key;
    const startsOn = new Date(Date.now() - CLOCK_SKEW_MS);
    // Azure signs delegation keys for at most 7 days.
    const expiresOn = Math.min(Date.now() + MAX_DELEGATION_KEY_MS, mustOutlive + DELEGATION_KEY_LIFETIME_MS);
    const key = this.blobs.getUserDelegationKey(startsOn, new Date(expiresOn));
    const delegation = { key, expiresOn };
    this.delegation = delegation;
    key.catch(() => {
      if (this.delegation === delegation) this.delegation = undefined;
    });
    return key;
  }
}

/** Fetches an image the service answered with a URL, within its own time limit. */
async function download(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
  try {
    return await withDeadline(
      timeoutMs,
      async (limit) => {
        const response = await fetch(url, { signal: limit });
        if (!response.ok) {
          await response.body?.cancel();
          throw new ServiceFailedError(
            `The image download from Azure OpenAI answered ${response.status}.`,
            'UpstreamImageUnavailable',
            true,
          );
        }
        return Buffer.from(await response.arrayBuffer());
      },
      signal,
    );
  } catch (err) {
    if (err instanceof ServiceFailedError) throw err;
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      throw new ServiceTimeoutError('The image download from Azure OpenAI did not finish in time.', { cause: err });
    }
    throw new ServiceFailedError(
      'The image could not be downloaded from Azure OpenAI.',
      'UpstreamImageUnavailable',
      true,
      { cause: err },
    );
  }
}
