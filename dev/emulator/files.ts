// Where `url` answers point: the emulator keeps each image in memory behind a SAS-like link
// (se = expiry, sig = secret) and answers the way Azure Blob Storage does once it expires.

import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { CONTENT_TYPES, FILE_EXTENSIONS, type ImageFormat } from './images.js';

interface StoredFile {
  bytes: Buffer;
  format: ImageFormat;
  sig: string;
  expiresAt: number;
}

export const FILE_ROUTE = /^\/files\/([A-Za-z0-9-]+)\.(png|jpg)$/;

/** Images behind `url` answers, oldest evicted first once past `maxBytes` or their expiry. */
export class FileStore {
  private readonly files = new Map<string, StoredFile>();
  private totalBytes = 0;

  constructor(public maxBytes: number) {}

  get size(): number {
    return this.files.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Stores the image and returns the path and query of its link. */
  put(bytes: Buffer, format: ImageFormat, ttlSeconds: number, now = Date.now()): string {
    const id = randomUUID();
    const sig = randomBytes(24).toString('base64url');
    const expiresAt = now + ttlSeconds * 1000;
    this.files.set(id, { bytes, format, sig, expiresAt });
    this.totalBytes += bytes.length;
    this.evict(now);
    const se = encodeURIComponent(new Date(expiresAt).toISOString());
    // sv/sr/sp mirror a real read-only blob SAS so callers that pass the query on see the familiar shape.
    return `/files/${id}.${FILE_EXTENSIONS[format]}?sv=2021-08-06&sr=b&sp=r&se=${se}&sig=${sig}`;
  }

  /** Answers a GET/HEAD for a link, with Blob Storage's statuses and XML error bodies. */
  serve(res: ServerResponse, id: string, extension: string, query: URLSearchParams, headOnly: boolean, now = Date.now()): void {
    const se = Date.parse(query.get('se') ?? '');
    if (Number.isNaN(se)) return sendBlobError(res, 403, 'AuthenticationFailed', 'se is mandatory. Cannot be empty');
    if (se <= now) return sendBlobError(res, 403, 'AuthenticationFailed', expiredDetail(se, now));
    const file = this.files.get(id);
    if (!file || FILE_EXTENSIONS[file.format] !== extension) return sendBlobError(res, 404, 'BlobNotFound');
    if (query.get('sig') !== file.sig) return sendBlobError(res, 403, 'AuthenticationFailed', 'Signature did not match.');
    if (file.expiresAt <= now) return sendBlobError(res, 403, 'AuthenticationFailed', expiredDetail(file.expiresAt, now));
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[file.format],
      'content-length': String(file.bytes.length),
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-version': '2021-08-06',
    });
    res.end(headOnly ? undefined : file.bytes);
  }

  clear(): void {
    this.files.clear();
    this.totalBytes = 0;
  }

  private evict(now: number): void {
    for (const [id, file] of this.files) {
      const overBudget = this.totalBytes > this.maxBytes && this.files.size > 1;
      if (!overBudget && file.expiresAt > now) continue;
      this.files.delete(id);
      this.totalBytes -= file.bytes.length;
    }
  }
}

function expiredDetail(expiry: number, now: number): string {
  return `Signature not valid in the specified time frame: Start [${new Date(expiry - 86_400_000).toUTCString()}] - Expiry [${new Date(expiry).toUTCString()}] - Current [${new Date(now).toUTCString()}]`;
}

const BLOB_MESSAGES: Record<string, string> = {
  AuthenticationFailed:
    'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
  BlobNotFound: 'The specified blob does not exist.',
};

function sendBlobError(res: ServerResponse, status: number, code: string, detail?: string): void {
  const requestId = String(res.getHeader('x-request-id') ?? randomUUID());
  const message = `${BLOB_MESSAGES[code]}\nRequestId:${requestId}\nTime:${new Date().toISOString()}`;
  const body =
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message>` +
    (detail ? `<AuthenticationErrorDetail>${detail}</AuthenticationErrorDetail>` : '') +
    '</Error>';
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(body)),
    'x-ms-error-code': code,
  });
  res.end(body);
}
