import type { TableClient, TableEntity } from '@azure/data-tables';
import { ensureTable, hasStatus, unless404 } from '../platform/storage.js';

// What every instance knows of each backend: throttled until when, and its circuit. One row per
// backend in a table of the app's storage account; each instance keeps a copy no older than
// MAX_AGE_MS, so a mark one instance sets is honoured by every other within a second, its write
// included. Writes are conditional on the ETag read: a change that loses the race is worked out
// again on the newer row, so two instances never undo each other. When the table fails, the
// instance goes on with its own copy (and logs it): the state must never fail a generation.

export interface BackendMark {
  /** Until when (ms since the epoch) the backend refuses requests with 429; 0: it does not. */
  throttledUntil: number;
  /** The circuit: 0 closed; else open until then, and half-open after it until a trial request closes it. */
  openUntil: number;
  /** While half-open, until when another request is the trial (its lease); 0: none is. */
  trialUntil: number;
}

export const CLOSED: Readonly<BackendMark> = Object.freeze({ throttledUntil: 0, openUntil: 0, trialUntil: 0 });

/** A change to a mark, worked out on the newest row; undefined declines it (say, a trial another request holds). */
export type MarkChange = (mark: Readonly<BackendMark>) => BackendMark | undefined;

/** Older than this, the copy is read again before a backend is chosen. */
const MAX_AGE_MS = 750;
/** A call to the table gives up after this: a generation waits for the state no longer. */
const CALL_TIMEOUT_MS = 1_000;
/** After the table failed, the local copy is used without asking it for this long. */
const STORAGE_BACKOFF_MS = 5_000;
/** Conditional writes that lose this many races in a row give up; the local copy keeps the change. */
const MAX_WRITE_TRIES = 5;

const PARTITION = 'backend';

interface Row {
  mark: BackendMark;
  etag?: string;
  /** A write of `mark` in flight, or one Storage refused: a read of the table must not undo it. */
  pending?: 'writing' | 'failed';
}

export interface BackendStateOptions {
  now?: () => number;
  log?: (message: string) => void;
}

export class BackendState {
  private readonly rows = new Map<string, Row>();
  private readAt = -Infinity;
  private reading?: Promise<void>;
  private storageDownUntil = 0;
  private readonly now: () => number;
  private readonly log: (message: string) => void;

  constructor(
    private readonly table: TableClient,
    options: BackendStateOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
  }

  /** Every backend's mark, read again from the table first when the copy is too old. */
  async marks(): Promise<ReadonlyMap<string, Readonly<BackendMark>>> {
    const now = this.now();
    if (now - this.readAt >= MAX_AGE_MS && now >= this.storageDownUntil) {
      this.reading ??= this.read().finally(() => (this.reading = undefined));
      await this.reading;
    }
    return new Map([...this.rows].map(([name, row]) => [name, row.mark]));
  }

  /**
   * Applies a change to this instance's copy at once, then writes it to the table; answers the mark
   * that holds, or undefined when the change was declined (here, or on a newer row another instance wrote).
   */
  async change(name: string, change: MarkChange): Promise<BackendMark | undefined> {
    const local: Row = this.rows.get(name) ?? { mark: CLOSED };
    let next = change(local.mark);
    if (!next) return undefined;
    let etag = local.etag;
    // While the table is failing, this instance's copy is all there is: no call waits on it.
    if (this.now() < this.storageDownUntil) {
      this.rows.set(name, { mark: next, etag, pending: 'failed' });
      return next;
    }
    this.rows.set(name, { mark: next, etag, pending: 'writing' });
    try {
      await this.ready();
      for (let tries = 1; ; tries++) {
        try {
          const entity: TableEntity<BackendMark> = { partitionKey: PARTITION, rowKey: name, ...next };
          const signal = AbortSignal.timeout(CALL_TIMEOUT_MS);
          const written = etag
            ? await this.table.updateEntity(entity, 'Replace', { etag, abortSignal: signal })
            : await this.table.createEntity(entity, { abortSignal: signal });
          this.settle(name, next, { mark: next, etag: written.etag });
          return next;
        } catch (err) {
          if (!hasStatus(err, 404, 409, 412) || tries >= MAX_WRITE_TRIES) throw err;
        }
        // Another instance wrote first: the change again, on its row.
        const fresh = await this.readRow(name);
        const mine = next;
        etag = fresh?.etag;
        next = change(fresh?.mark ?? CLOSED);
        if (!next) {
          this.settle(name, mine, fresh ?? { mark: CLOSED });
          return undefined;
        }
        if (this.rows.get(name)?.mark === mine) this.rows.set(name, { mark: next, etag, pending: 'writing' });
      }
    } catch (err) {
      this.storageFailed('writing', err);
      const row = this.rows.get(name);
      if (row && row.mark === next) row.pending = 'failed';
      return next;
    }
  }

  /** Takes what the table now holds, unless this instance changed the row again since it set `mine`. */
  private settle(name: string, mine: BackendMark, row: Row): void {
    if (this.rows.get(name)?.mark === mine) this.rows.set(name, row);
  }

  private async read(): Promise<void> {
    try {
      await this.ready();
      const entities = this.table.listEntities<BackendMark>({
        queryOptions: { filter: `PartitionKey eq '${PARTITION}'` },
        abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      for await (const entity of entities) {
        const name = entity.rowKey!;
        const local = this.rows.get(name);
        const shared = { mark: markOf(entity), etag: entity.etag };
        if (local?.pending === 'writing') continue;
        // What this instance marked while the table was away is kept beside what the others marked.
        this.rows.set(
          name,
          local?.pending === 'failed' ? { ...shared, mark: latest(local.mark, shared.mark) } : shared,
        );
      }
      if (this.storageDownUntil > 0) this.log('Backend state: the table answers again; marks are shared again.');
      this.storageDownUntil = 0;
      this.readAt = this.now();
    } catch (err) {
      this.storageFailed('reading', err);
    }
  }

  private async readRow(name: string): Promise<Row | undefined> {
    return unless404(async () => {
      const entity = await this.table.getEntity<BackendMark>(PARTITION, name, {
        abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      return { mark: markOf(entity), etag: entity.etag };
    });
  }

  /** The table exists (Azurite starts empty; infra creates it in Azure); no longer than a call may take. */
  private ready(): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise(
      (_, reject) => (timer = setTimeout(() => reject(new Error('the table did not answer in time')), CALL_TIMEOUT_MS)),
    );
    return Promise.race([ensureTable(this.table), timeout]).finally(() => clearTimeout(timer));
  }

  private storageFailed(doing: string, err: unknown): void {
    if (this.now() >= this.storageDownUntil) {
      this.log(
        `Backend state: ${doing} table ${this.table.tableName} failed (${(err as Error).message}); this instance goes on with its own marks.`,
      );
    }
    this.storageDownUntil = this.now() + STORAGE_BACKOFF_MS;
  }
}

const markOf = (entity: Partial<BackendMark>): BackendMark => ({
  throttledUntil: Number(entity.throttledUntil ?? 0),
  openUntil: Number(entity.openUntil ?? 0),
  trialUntil: Number(entity.trialUntil ?? 0),
});

const latest = (a: BackendMark, b: BackendMark): BackendMark => ({
  throttledUntil: Math.max(a.throttledUntil, b.throttledUntil),
  openUntil: Math.max(a.openUntil, b.openUntil),
  trialUntil: Math.max(a.trialUntil, b.trialUntil),
});
