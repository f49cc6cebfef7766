import { randomUUID } from 'node:crypto';
import { odata, type TableClient, type TableEntity, type TableTransaction } from '@azure/data-tables';
import { sleep } from '../platform/deadline.js';
import { BudgetExceededError, DependencyUnavailableError } from '../core/errors.js';
import { usd, usdText } from './pricing.js';
import { ensureTable, hasStatus, unless404, usingStorage } from '../platform/storage.js';

// The usage ledger and the budgets, in one Azure table (Azurite locally). One partition per UTC day:
//   usage|<caller>|<model>   totals: requests, images, nano-USD, unpriced images
//   budget|caller|<caller>   a budgeted caller's spend and the holds of its requests in flight
//   budget|app               the same for the whole app, when it has a budget
// A request holds its estimate on its budgets before the service is called, then settles (the hold
// becomes the actual cost) or releases it. Changes are entity group transactions conditional on the
// ETags read, retried with jitter on conflict, and an instance commits the changes that queue up
// meanwhile in one (group commit): concurrent requests, on any number of instances, never lose an
// increment, and a hold that would pass a budget is refused.

/** Longer than any request holds its estimate: a queue run (9 minutes) or a stream (220 s). A crash's hold lapses then. */
const HOLD_MS = 10 * 60_000;
const MAX_ATTEMPTS = 40;
/** An entity group transaction holds at most 100 entities; a change touches at most 3 rows. */
const MAX_CHANGES_PER_COMMIT = 32;

interface Totals {
  requests: number;
  images: number;
  nanoUsd: number;
  unpricedImages: number;
}

interface Counter {
  /** Settled spend of the day, in nano-USD. */
  spent: number;
  /** Requests in flight: hold id → [nano-USD, held until (ms since the epoch)]. */
  holds: Record<string, [number, number]>;
}

/** A request's estimate, held on its budgets until it settles. */
export interface Hold {
  id: string;
  day: string;
  /** The budget rows it is held on. */
  rows: string[];
  /** When it lapses (ms since the epoch). */
  until: number;
}

export interface Budget {
  caller: string;
  /** Nano-USD per day; undefined: none. */
  callerNanoUsd?: number;
  appNanoUsd?: number;
}

export interface Spend {
  caller: string;
  model: string;
  images: number;
  nanoUsd: number;
  unpricedImages: number;
  /** What the unpriced images count on the budgets (ALLOW_UNPRICED_MODELS' default estimate): not in the USD totals. */
  unpricedNanoUsd?: number;
}

export type UsageDimension = 'day' | 'caller' | 'model';

export interface UsageQuery {
  /** YYYY-MM-DD, both included. */
  from: string;
  to: string;
  caller?: string;
  groupBy: UsageDimension[];
}

export interface UsageRow {
  day?: string;
  caller?: string;
  model?: string;
  requests: number;
  images: number;
  usd: number;
  unpriced_images: number;
}

type Stored = { entity: Record<string, unknown>; etag: string | undefined };

interface Change {
  rows: string[];
  apply(rows: Map<string, Counter & Totals>, fresh: boolean): 'write' | 'stale';
  resolve(): void;
  reject(err: unknown): void;
}

const USAGE = 'usage|';
const CALLER_BUDGET = 'budget|caller|';
const APP_BUDGET = 'budget|app';
// Row keys keep a caller's name encoded: no '|', '/', '#' or '?' of its own.
const usageRow = (caller: string, model: string) =>
  `${USAGE}${encodeURIComponent(caller)}|${encodeURIComponent(model)}`;
/** The row keys that start with a prefix ending in '|', as a range: '}' sorts right after '|'. */
const prefixRange = (prefix: string): [string, string] => [prefix, `${prefix.slice(0, -1)}}`];
/** The usage rows a budget row adds up. */
const usagePrefixOf = (budgetRow: string) =>
  budgetRow === APP_BUDGET ? USAGE : `${USAGE}${budgetRow.slice(CALLER_BUDGET.length)}|`;

export const utcDay = (now: number): string => new Date(now).toISOString().slice(0, 10);

/** Until the budgets reset: the next midnight UTC. */
export function untilMidnightMs(now: number): number {
  const midnight = new Date(now);
  midnight.setUTCHours(24, 0, 0, 0);
  return midnight.getTime() - now;
}

export class UsageLedger {
  /** What this instance last read or wrote of each of today's rows, with its ETag: the first try needs no read. */
  private known = { day: '', rows: new Map<string, Stored>() };
  /** Changes waiting for the transaction in flight, by day. */
  private readonly queued = new Map<string, Change[]>();
  private readonly committing = new Set<string>();

  constructor(
    private readonly table: TableClient,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Holds `nanoUsd` on the caller's and the app's budgets for today; throws a BudgetExceededError
   * when either would be passed. Undefined when no budget applies: nothing to hold.
   */
  async reserve(budget: Budget, nanoUsd: number): Promise<Hold | undefined> {
    const limits = new Map<string, number>();
    if (budget.callerNanoUsd !== undefined)
      limits.set(`${CALLER_BUDGET}${encodeURIComponent(budget.caller)}`, budget.callerNanoUsd);
    if (budget.appNanoUsd !== undefined) limits.set(APP_BUDGET, budget.appNanoUsd);
    if (limits.size === 0) return undefined;
    const day = utcDay(this.now());
    const hold: Hold = { id: randomUUID(), day, rows: [...limits.keys()], until: 0 };
    await this.change(day, hold.rows, (rows, fresh) => {
      const now = this.now();
      for (const [row, limit] of limits) {
        const counter = rows.get(row)!;
        const committed = counter.spent + heldNano(counter, now);
        if (committed + nanoUsd <= limit) continue;
        // Judged on what this instance last saw: read afresh before refusing.
        if (!fresh) return 'stale';
        throw refusal(row, budget.caller, limit, committed, nanoUsd, now);
      }
      hold.until = now + HOLD_MS;
      for (const row of hold.rows) rows.get(row)!.holds[hold.id] = [nanoUsd, hold.until];
      return 'write';
    });
    return hold;
  }

  /**
   * The request is done: its hold becomes what it spent, and the day's totals grow by it. `again`:
   * a settlement tried anew after a failure that may have reached Storage; a hold that has not
   * lapsed yet and that no row holds any more was settled then, and is not counted twice.
   */
  async settle(hold: Hold | undefined, spend: Spend, again = false): Promise<void> {
    const day = hold?.day ?? utcDay(this.now());
    const usage = usageRow(spend.caller, spend.model);
    await this.change(day, [usage, ...(hold?.rows ?? [])], (rows, fresh) => {
      if (again && hold && this.now() < hold.until) {
        if (!fresh) return 'stale';
        if (hold.rows.every((row) => !(hold.id in rows.get(row)!.holds))) return 'write';
      }
      const totals = rows.get(usage)! as Totals;
      totals.requests += 1;
      totals.images += spend.images;
      totals.nanoUsd += spend.nanoUsd;
      totals.unpricedImages += spend.unpricedImages;
      for (const row of hold?.rows ?? []) {
        const counter = rows.get(row)!;
        delete counter.holds[hold!.id];
        counter.spent += spend.nanoUsd + (spend.unpricedNanoUsd ?? 0);
      }
      return 'write';
    });
  }

  /** Nothing was generated: the hold goes, and nothing is spent. */
  async release(hold: Hold | undefined): Promise<void> {
    if (!hold) return;
    await this.change(hold.day, hold.rows, (rows) => {
      for (const row of hold.rows) delete rows.get(row)!.holds[hold.id];
      return 'write';
    });
  }

  /** Totals between two days, grouped by any of day, caller and model. */
  async totals(query: UsageQuery): Promise<UsageRow[]> {
    const [low, high] = prefixRange(
      query.caller === undefined ? USAGE : `${USAGE}${encodeURIComponent(query.caller)}|`,
    );
    const filter = odata`PartitionKey ge ${query.from} and PartitionKey le ${query.to} and RowKey ge ${low} and RowKey lt ${high}`;
    const groups = new Map<string, { group: Partial<Record<UsageDimension, string>>; totals: Totals }>();
    await usingStorage('Reading the usage ledger', async () => {
      await ensureTable(this.table);
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        const [, caller, model] = (entity.rowKey ?? '').split('|').map(decodeURIComponent);
        const keys: Record<UsageDimension, string> = { day: entity.partitionKey ?? '', caller, model };
        const group = Object.fromEntries(query.groupBy.map((d) => [d, keys[d]]));
        const id = JSON.stringify(group);
        const sum = groups.get(id)?.totals ?? { requests: 0, images: 0, nanoUsd: 0, unpricedImages: 0 };
        const add = totalsOf(entity);
        groups.set(id, {
          group,
          totals: {
            requests: sum.requests + add.requests,
            images: sum.images + add.images,
            nanoUsd: sum.nanoUsd + add.nanoUsd,
            unpricedImages: sum.unpricedImages + add.unpricedImages,
          },
        });
      }
    });
    const order = (row: UsageRow) => [row.day, row.caller, row.model].map((v) => v ?? '').join('|');
    return [...groups.values()]
      .map(({ group, totals }) => ({
        ...group,
        requests: totals.requests,
        images: totals.images,
        usd: usd(totals.nanoUsd),
        unpriced_images: totals.unpricedImages,
      }))
      .sort((a, b) => order(a).localeCompare(order(b)));
  }

  /**
   * Queues a change of some of a day's rows. `apply` changes the rows it is given, or throws (a
   * refusal) before changing any; it answers 'stale' when it will judge only on a fresh read.
   */
  private change(day: string, rows: string[], apply: Change['apply']): Promise<void> {
    return new Promise((resolve, reject) => {
      const queue = this.queued.get(day) ?? [];
      queue.push({ rows, apply, resolve, reject });
      this.queued.set(day, queue);
      if (queue.length === 1 && !this.committing.has(day)) void this.commitQueued(day);
    });
  }

  /**
   * One transaction at a time per day and instance, holding every change queued meanwhile (group
   * commit): requests in flight on one instance do not contend with each other, only instances do.
   */
  private async commitQueued(day: string): Promise<void> {
    this.committing.add(day);
    try {
      for (let queue = this.queued.get(day); queue?.length; queue = this.queued.get(day)) {
        const batch = queue.splice(0, MAX_CHANGES_PER_COMMIT);
        if (queue.length === 0) this.queued.delete(day);
        try {
          await usingStorage('Updating the usage ledger', () => this.commit(day, batch));
        } catch (err) {
          for (const change of batch) change.reject(err);
        }
      }
    } finally {
      this.committing.delete(day);
    }
  }

  /**
   * Reads the rows the changes touch (what this instance knows, else Storage), applies each change,
   * and writes the rows of those that went through in one entity group transaction conditional on
   * the ETags read; on a conflict, reads afresh and applies them all again.
   */
  private async commit(day: string, batch: Change[]): Promise<void> {
    await ensureTable(this.table);
    const keys = [...new Set(batch.flatMap((c) => c.rows))];
    let fresh = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = new Map(
        await Promise.all(keys.map(async (row) => [row, await this.read(day, row, fresh)] as const)),
      );
      const values = new Map([...stored].map(([row, s]) => [row, decode(s.entity)]));
      const outcomes: { change: Change; refused?: unknown }[] = [];
      let stale = false;
      for (const change of batch) {
        try {
          if (change.apply(values, fresh) === 'stale') stale = true;
          outcomes.push({ change });
        } catch (refused) {
          outcomes.push({ change, refused });
        }
      }
      if (stale) {
        fresh = true;
        continue;
      }
      const written = [...new Set(outcomes.flatMap((o) => (o.refused === undefined ? o.change.rows : [])))];
      const writes = written.map((row) => ({
        entity: encode(day, row, values.get(row)!, this.now()),
        etag: stored.get(row)!.etag,
      }));
      try {
        const etags = await this.write(writes);
        etags.forEach((etag, i) => this.remember(day, written[i], { entity: writes[i].entity, etag }));
      } catch (err) {
        // Another instance changed or created a row since it was read.
        if (!hasStatus(err, 409, 412)) throw err;
        for (const row of keys) this.known.rows.delete(row);
        fresh = true;
        await sleep(Math.random() * Math.min(250, 4 * 2 ** attempt));
        continue;
      }
      for (const { change, refused } of outcomes) {
        if (refused === undefined) change.resolve();
        else change.reject(refused);
      }
      return;
    }
    throw new DependencyUnavailableError('Storage', 'The usage ledger is too busy to update; try again.', 1000);
  }

  /** Writes on the ETags read (none: a row to create); a single entity on its own, a round trip cheaper than a transaction. */
  private async write(writes: { entity: TableEntity; etag: string | undefined }[]): Promise<(string | undefined)[]> {
    if (writes.length === 1) {
      const [{ entity, etag }] = writes;
      return [
        (etag === undefined
          ? await this.table.createEntity(entity)
          : await this.table.updateEntity(entity, 'Replace', { etag })
        ).etag,
      ];
    }
    const actions: TableTransaction['actions'] = writes.map(({ entity, etag }) =>
      etag === undefined ? ['create', entity] : ['update', entity, 'Replace', { etag }],
    );
    return actions.length === 0
      ? []
      : (await this.table.submitTransaction(actions)).subResponses.map((sub) => sub.etag);
  }

  private async read(day: string, row: string, fresh: boolean): Promise<Stored> {
    const cached = fresh || this.known.day !== day ? undefined : this.known.rows.get(row);
    if (cached) return cached;
    const entity = await unless404(() => this.table.getEntity<Record<string, unknown>>(day, row));
    if (entity) {
      const stored = { entity, etag: entity.etag };
      this.remember(day, row, stored);
      return stored;
    }
    // A budget row starts from what its scope already spent today (a budget set during the day).
    const seed = row.startsWith('budget|') ? await this.spentSoFar(day, row) : 0;
    return {
      entity: { partitionKey: day, rowKey: row, ...(row.startsWith('budget|') && { spent: seed }) },
      etag: undefined,
    };
  }

  private remember(day: string, row: string, stored: Stored): void {
    if (this.known.day !== day) this.known = { day, rows: new Map() };
    this.known.rows.set(row, stored);
  }

  private async spentSoFar(day: string, budgetRow: string): Promise<number> {
    const [low, high] = prefixRange(usagePrefixOf(budgetRow));
    let spent = 0;
    const filter = odata`PartitionKey eq ${day} and RowKey ge ${low} and RowKey lt ${high}`;
    for await (const entity of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter, select: ['nanoUsd'] },
    }))
      spent += totalsOf(entity).nanoUsd;
    return spent;
  }
}

const num = (value: unknown) => (typeof value === 'number' ? value : 0);

function totalsOf(entity: Record<string, unknown>): Totals {
  return {
    requests: num(entity.requests),
    images: num(entity.images),
    nanoUsd: num(entity.nanoUsd),
    unpricedImages: num(entity.unpricedImages),
  };
}

function decode(entity: Record<string, unknown>): Counter & Totals {
  return {
    ...totalsOf(entity),
    spent: num(entity.spent),
    holds: typeof entity.holds === 'string' ? (JSON.parse(entity.holds) as Counter['holds']) : {},
  };
}

/** A row as stored: a usage row its totals, a budget row its spend and the holds that have not lapsed. */
function encode(day: string, row: string, value: Counter & Totals, now: number): TableEntity<Record<string, unknown>> {
  if (row.startsWith(USAGE)) {
    const { requests, images, nanoUsd, unpricedImages } = value;
    return { partitionKey: day, rowKey: row, requests, images, nanoUsd, unpricedImages };
  }
  const holds = Object.fromEntries(Object.entries(value.holds).filter(([, [, until]]) => until > now));
  return { partitionKey: day, rowKey: row, spent: value.spent, holds: JSON.stringify(holds) };
}

const heldNano = (counter: Counter, now: number) =>
  Object.values(counter.holds).reduce((sum, [nanoUsd, until]) => (until > now ? sum + nanoUsd : sum), 0);

function refusal(
  row: string,
  caller: string,
  limit: number,
  committed: number,
  nanoUsd: number,
  now: number,
): BudgetExceededError {
  const wait = untilMidnightMs(now);
  if (row === APP_BUDGET)
    return new BudgetExceededError("This request would pass the app's daily budget; it resets at 00:00 UTC.", wait);
  return new BudgetExceededError(
    `This request (at most ${usdText(nanoUsd)}) would pass the daily budget of caller '${caller}' (${usdText(limit)}; ${usdText(committed)} spent or held today). It resets at 00:00 UTC.`,
    wait,
  );
}
