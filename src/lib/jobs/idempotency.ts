import type { BlobRequestConditions, ContainerClient } from '@azure/storage-blob';
import { IdempotencyKeyInUseError, IdempotencyKeyReusedError, InvalidRequestError } from '../core/errors.js';
import { canonicalJson, sha256 } from '../core/json.js';
import { ensureCreated, hasStatus, readBlobText, usingStorage } from '../platform/storage.js';

// Idempotency-Key: Logic Apps and Power Automate retry on timeouts, and every image costs money.
// run() wraps the work, as Powertools' makeIdempotent wraps a handler: the first request with a key
// claims it (a conditional blob create) and stores what the work returned; a repeat with the same
// body gets that back without running again; the same key with another body is refused.

interface Entry {
  fingerprint: string;
  expiresAt: number;
  /** Until when the first request holds the key while it runs; past it, a crashed run's key is free. */
  lockedUntil: number;
  /** What the work returned: never a secret (the caller stores only what may be shown again). */
  value?: unknown;
}

export const MAX_KEY_LENGTH = 255;
/** Longer than any run may take: the HTTP trigger's 230 s. */
const LOCK_MS = 5 * 60_000;
/** What a repeat that arrives while the first request runs is told to wait. */
const IN_USE_RETRY_AFTER_MS = 10_000;

export interface Outcome<T> {
  value: T;
  /** True when an earlier request's value was returned and `work` did not run. */
  replayed: boolean;
}

export class IdempotencyStore {
  constructor(
    private readonly container: ContainerClient,
    private readonly ttlMs: number,
  ) {}

  /**
   * Runs `work` once per key and request. Without a key it simply runs. A failed run frees the key
   * so the request can be tried again. Keys are the caller's own: `scope` (who calls) keeps one
   * caller's key from replaying another's answer.
   */
  async run<T>(key: string | undefined, request: unknown, work: () => Promise<T>, scope = ''): Promise<Outcome<T>> {
    if (key === undefined) return { value: await work(), replayed: false };
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new InvalidRequestError(
        `Invalid value for 'Idempotency-Key': it must be 1 to ${MAX_KEY_LENGTH} characters.`,
        'Idempotency-Key',
      );
    }
    const claim = await usingStorage('Claiming the Idempotency-Key', () =>
      this.claim(scope === '' ? key : `${scope}\u0000${key}`, sha256(canonicalJson(request))),
    );
    if (claim.kind === 'replay') return { value: claim.value as T, replayed: true };
    let value: T;
    try {
      value = await work();
    } catch (err) {
      await claim.release();
      throw err;
    }
    // The work is done and paid for: a key that cannot be completed now stays locked until LOCK_MS, not failed.
    await claim.complete(value).catch(() => undefined);
    return { value, replayed: false };
  }

  private async claim(
    key: string,
    fingerprint: string,
  ): Promise<
    | { kind: 'replay'; value: unknown }
    | { kind: 'claimed'; release(): Promise<void>; complete(value: unknown): Promise<void> }
  > {
    await ensureCreated(this.container);
    // The key is hashed: it is the caller's text and may hold anything.
    const blob = this.container.getBlockBlobClient(`idempotency/${sha256(key)}.json`);
    const now = Date.now();
    const existing = await readBlobText(blob);
    let conditions: BlobRequestConditions = { ifNoneMatch: '*' };
    if (existing) {
      const entry = JSON.parse(existing.text) as Entry;
      if (entry.expiresAt > now) {
        if (entry.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
        if (entry.value !== undefined) return { kind: 'replay', value: entry.value };
        if (entry.lockedUntil > now) throw new IdempotencyKeyInUseError(IN_USE_RETRY_AFTER_MS);
      }
      conditions = { ifMatch: existing.etag };
    }
    const entry: Entry = { fingerprint, expiresAt: now + this.ttlMs, lockedUntil: now + LOCK_MS };
    const write = async (value: Entry, when: BlobRequestConditions) => {
      const json = JSON.stringify(value);
      return (await blob.upload(json, Buffer.byteLength(json), { conditions: when })).etag!;
    };
    let etag: string;
    try {
      etag = await write(entry, conditions);
    } catch (err) {
      if (!hasStatus(err, 409, 412)) throw err;
      // Another request claimed it between our read and write: judge against that one.
      return this.claim(key, fingerprint);
    }
    return {
      kind: 'claimed',
      release: async () => {
        await blob.deleteIfExists({ conditions: { ifMatch: etag } }).catch(() => undefined);
      },
      complete: async (value) => {
        await write({ ...entry, value }, { ifMatch: etag });
      },
    };
  }
}
