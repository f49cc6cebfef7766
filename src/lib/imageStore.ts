import { randomUUID } from 'node:crypto';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { Readable } from 'node:stream';
import {
  BlobSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type ContainerClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { ApiError } from './errors.js';
import { CONTENT_TYPES, EXTENSIONS, SNIFF_BYTES, sniffImageFormat } from './imageFormat.js';
import { ensureCreated, type StorageClients } from './storage.js';

// Keeps each image in a blob container beside a JSON record of how it was made, and hands out
// read-only SAS URLs for one blob each.

/** What the record says of an image, beside where it is kept. */
export interface ImageRecord {
  prompt: string;
  revised_prompt?: string;
  model: string;
  deployment: string;
  api_version: string;
  size: string;
  quality: string;
  style?: string;
  output_format?: string;
  output_compression?: number;
  background?: string;
  n: number;
  index: number;
  created: number;
  request_id?: string;
  job_id?: string;
  user?: string;
  prompt_filter_results?: unknown;
  content_filter_results?: unknown;
  usage?: unknown;
}

export interface KeptImage {
  container: string;
  blob: string;
  record: string;
  contentType: string;
}

/** Image bytes from the service: inline (b64_json, decoded once) or at its short-lived URL. */
export type ImageSource = { bytes: Buffer } | { url: string };

export interface ImageStoreOptions {
  container: string;
  urlTtlMinutes: number;
}

/** Azurite honours user delegation SAS only up to this version; Azure accepts it too. */
const SAS_VERSION = '2021-08-06';
const CLOCK_SKEW_MS = 5 * 60_000;
/** A user delegation key serves many SAS; it is asked for once a day, not per image. */
const DELEGATION_KEY_LIFETIME_MS = 24 * 60 * 60_000;
const MAX_DELEGATION_KEY_MS = 7 * 24 * 60 * 60_000 - 60_000;

export class ImageStore {
  private readonly container: ContainerClient;
  private delegation?: { key: Promise<UserDelegationKey>; expiresOn: number };

  constructor(
    private readonly storage: StorageClients,
    private readonly options: ImageStoreOptions,
  ) {
    this.container = storage.blobs.getContainerClient(options.container);
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
    const { head, body, length } = 'bytes' in source ? inline(source.bytes) : await download(source.url, signal);
    const format = sniffImageFormat(head);
    if (!format) {
      body.destroy();
      throw new ApiError(502, 'UpstreamInvalidImage', 'Azure OpenAI returned bytes that are not a PNG, JPEG or WebP image.');
    }
    const blob = `${baseName}.${EXTENSIONS[format]}`;
    const contentType = CONTENT_TYPES[format];
    const kept: KeptImage = { container: this.options.container, blob, record: `${blob}.json`, contentType };
    try {
      await ensureCreated(this.container);
      const image = this.container.getBlockBlobClient(blob);
      const blobHTTPHeaders = { blobContentType: contentType, blobCacheControl: 'private, max-age=31536000, immutable' };
      if (length !== undefined) {
        await image.upload(() => body, length, { blobHTTPHeaders, abortSignal: signal });
      } else {
        await image.uploadStream(body, 4 * 1024 * 1024, 4, { blobHTTPHeaders, abortSignal: signal });
      }
      const json = JSON.stringify({ ...record, container: kept.container, blob: kept.blob, content_type: contentType }, null, 2);
      await this.container
        .getBlockBlobClient(kept.record)
        .upload(json, Buffer.byteLength(json), { blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' }, abortSignal: signal });
      return kept;
    } catch (err) {
      await this.remove(kept);
      if (err instanceof ApiError) throw err;
      throw new ApiError(503, 'StorageUnavailable', 'The image could not be kept in Blob Storage. Try again later.', {
        headers: { 'Retry-After': '5' },
        cause: err,
      });
    }
  }

  /** Best effort: what one failed request stored is taken away again. */
  async remove(kept: KeptImage): Promise<void> {
    await Promise.allSettled([this.container.deleteBlob(kept.record), this.container.deleteBlob(kept.blob)]);
  }

  /** A read-only URL for one blob, readable without credentials until it expires. */
  async readUrl(blob: string, now = Date.now()): Promise<{ url: string; expiresOn: Date }> {
    const startsOn = new Date(now - CLOCK_SKEW_MS);
    const expiresOn = new Date(now + this.options.urlTtlMinutes * 60_000);
    const values = {
      containerName: this.options.container,
      blobName: blob,
      permissions: BlobSASPermissions.parse('r'),
      startsOn,
      expiresOn,
      version: SAS_VERSION,
    };
    const credential = this.storage.blobs.credential;
    const query =
      credential instanceof StorageSharedKeyCredential
        ? generateBlobSASQueryParameters(values, credential)
        : generateBlobSASQueryParameters(values, await this.userDelegationKey(expiresOn.getTime()), this.storage.blobs.accountName);
    return { url: `${this.container.getBlobClient(blob).url}?${query.toString()}`, expiresOn };
  }

  /** One key for many SAS, asked for once (concurrent requests share the request) and again before it expires. */
  private userDelegationKey(mustOutlive: number): Promise<UserDelegationKey> {
    if (this.delegation && this.delegation.expiresOn > mustOutlive) return this.delegation.key;
    const startsOn = new Date(Date.now() - CLOCK_SKEW_MS);
    // Azure signs delegation keys for at most 7 days.
    const expiresOn = Math.min(Date.now() + MAX_DELEGATION_KEY_MS, mustOutlive + DELEGATION_KEY_LIFETIME_MS);
    const key = this.storage.blobs.getUserDelegationKey(startsOn, new Date(expiresOn));
    const delegation = { key, expiresOn };
    this.delegation = delegation;
    key.catch(() => {
      if (this.delegation === delegation) this.delegation = undefined;
    });
    return key;
  }
}

interface Body {
  head: Buffer;
  body: Readable;
  length?: number;
}

function inline(bytes: Buffer): Body {
  return { head: bytes.subarray(0, SNIFF_BYTES), body: Readable.from([bytes]), length: bytes.length };
}

/** Streams the service's image: its first bytes are read to check the format, the rest flows to Blob. */
async function download(url: string, signal?: AbortSignal): Promise<Body> {
  let response: IncomingMessage;
  try {
    // node:http rather than fetch: a Node stream flows straight into the upload, with no web-stream hop per chunk.
    response = await new Promise<IncomingMessage>((resolve, reject) => {
      (url.startsWith('https:') ? httpsGet : httpGet)(url, { signal }, resolve).once('error', reject);
    });
  } catch (err) {
    throw new ApiError(502, 'UpstreamImageUnavailable', 'The image could not be downloaded from Azure OpenAI.', { cause: err });
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    response.resume();
    throw new ApiError(502, 'UpstreamImageUnavailable', `The image download from Azure OpenAI answered ${status}.`);
  }
  const length = Number(response.headers['content-length']) || undefined;
  const head = await readHead(response, SNIFF_BYTES);
  if (response.readableEnded) return { head, body: Readable.from([head]), length };
  response.unshift(head);
  return { head, body: response, length };
}

/** The first chunks of a stream, at least `bytes` long unless the stream is shorter. */
async function readHead(stream: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < bytes) {
    const chunk: Buffer | null = stream.read();
    if (chunk) {
      chunks.push(chunk);
      total += chunk.length;
      continue;
    }
    if (stream.readableEnded) break;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        stream.off('readable', done).off('end', done).off('error', reject);
        resolve();
      };
      stream.once('readable', done).once('end', done).once('error', reject);
    });
  }
  return Buffer.concat(chunks);
}
