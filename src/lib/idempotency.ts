import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { ApiError, invalidRequest } from './errors.js';
import { ensureCreated, hasStatus, readBlobText } from './storage.js';

// Idempotency-Key: Logic Apps and Power Automate retry on timeouts, and every image costs money.
// The first request with a key claims it (a conditional blob create); a repeat with the same body
// gets the first answer back; the same key with another body is 422.

/** What a repeat is answered with. */
export interface StoredAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

interface Entry {
  fingerprint: string;
  expiresAt: number;
  /** Until when the first request holds the key while it runs; past it, a crashed run's key is free. */
  lockedUntil: number;
  answer?: StoredAnswer;
}

export type Claim = { kind: 'claimed'; release(): Promise<void>; complete(answer: StoredAnswer): Promise<void> } | { kind: 'replay'; answer: StoredAnswer };

export const MAX_KEY_LENGTH = 255;
/** Longer than any run may take: the HTTP trigger's 230 s. */
const LOCK_MS = 5 * 60_000;

/** The same JSON however its keys are ordered or spaced. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export class IdempotencyStore {
  constructor(
    private readonly container: ContainerClient,
    private readonly ttlMs: number,
  ) {}

  /** Claims `key` for a request, or returns the answer an earlier request with it got. */
  async claim(key: string, request: unknown): Promise<Claim> {
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw invalidRequest(`Invalid value for 'Idempotency-Key': it must be 1 to ${MAX_KEY_LENGTH} characters.`, 'Idempotency-Key');
    }
    await ensureCreated(this.container);
    // The key is hashed: it is the caller's text and may hold anything.
    const blob = this.container.getBlockBlobClient(`idempotency/${sha256(key)}.json`);
    const fingerprint = sha256(canonicalJson(request));
    const now = Date.now();
    const existing = await readBlobText(blob);
    let condition: { ifMatch?: string; ifNoneMatch?: string } = { ifNoneMatch: '*' };
    if (existing) {
      const entry = JSON.parse(existing.text) as Entry;
      if (entry.expiresAt > now) {
        if (entry.fingerprint !== fingerprint) {
          throw new ApiError(422, 'IdempotencyKeyReused', "This 'Idempotency-Key' was used with a different request body.", { param: 'Idempotency-Key' });
        }
        if (entry.answer) return { kind: 'replay', answer: entry.answer };
        if (entry.lockedUntil > now) {
          throw new ApiError(409, 'IdempotencyKeyInUse', "A request with this 'Idempotency-Key' is still running; retry after Retry-After.", {
            param: 'Idempotency-Key',
            headers: { 'Retry-After': '10' },
          });
        }
      }
      condition = { ifMatch: existing.etag };
    }
    const entry: Entry = { fingerprint, expiresAt: now + this.ttlMs, lockedUntil: now + LOCK_MS };
    let etag: string;
    try {
      etag = await write(entry, condition);
    } catch (err) {
      if (!hasStatus(err, 409, 412)) throw err;
      // Another request claimed it between our read and write: judge against that one.
      return this.claim(key, request);
    }
    async function write(value: Entry, conditions: { ifMatch?: string; ifNoneMatch?: string }): Promise<string> {
      const json = JSON.stringify(value);
      return (await blob.upload(json, Buffer.byteLength(json), { conditions })).etag!;
    }
    return {
      kind: 'claimed',
      release: async () => {
        await blob.deleteIfExists({ conditions: { ifMatch: etag } }).catch(() => undefined);
      },
      complete: async (answer) => {
        await write({ ...entry, answer }, { ifMatch: etag });
      },
    };
  }
}
