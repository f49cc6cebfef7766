import type { BlobRequestConditions, ContainerClient } from '@azure/storage-blob';
import type { Caller } from '../core/caller.js';
import type { JsonObject } from '../core/json.js';
import type { Answer } from '../images/pipeline.js';
import type { AzureErrorBody, ImagesResponse, JobStatus } from '../core/schemas.js';
import { ensureCreated, hasStatus, patiently, readBlobText, usingStorage } from '../platform/storage.js';

// Asynchronous jobs' state, one JSON blob per job in the jobs container: no service beyond Storage.
// Every change is conditional on the ETag read, so two deliveries of one job never both run it.

export interface JobState {
  id: string;
  status: JobStatus;
  /** Unix seconds. */
  created: number;
  /** The request body and the deployment its path named, validated again when the job runs. */
  request: JsonObject;
  path_deployment?: string;
  /** Who asked for it, over HTTP: it spends as they would have. Absent for messages put on the queue directly. */
  caller?: Caller;
  /** How many times a worker started it. */
  attempts: number;
  /** While running: until when (ms since the epoch) the delivery that runs it holds it, unless it renews. */
  lease_until?: number;
  /** While running: the delivery that holds it (instance and invocation). */
  lease_holder?: string;
  /** SHA-256 of each poll token handed out (jobs accepted over HTTP): the tokens themselves are never stored. */
  poll_token_sha256?: string[];
  result?: ImagesResponse;
  served?: Answer['served'];
  error?: AzureErrorBody['error'];
  /** The status the synchronous call would have answered with `error`, and its Retry-After. */
  error_status?: number;
  error_retry_after_seconds?: number;
  /** The queue its result goes to; none for a job accepted over HTTP that did not ask for one. */
  result_queue?: string;
  /** Whether the result went out (its queue, its webhooks). */
  notified?: boolean;
}

export interface StoredJob {
  state: JobState;
  etag: string;
}

export type NewJob = Pick<JobState, 'request' | 'path_deployment' | 'caller' | 'poll_token_sha256' | 'result_queue'>;

export class JobStore {
  constructor(private readonly container: ContainerClient) {}

  /** Creates the job and answers it as stored; undefined when a job with that id exists already. */
  create(id: string, job: NewJob): Promise<StoredJob | undefined> {
    const state: JobState = { id, status: 'notStarted', created: Math.floor(Date.now() / 1000), attempts: 0, ...job };
    return usingStorage('Creating the job', async () => {
      try {
        return { state, etag: await this.write(state, { ifNoneMatch: '*' }) };
      } catch (err) {
        if (hasStatus(err, 409, 412)) return undefined;
        throw err;
      }
    });
  }

  get(id: string): Promise<StoredJob | undefined> {
    return usingStorage('Reading the job', async () => {
      const found = await readBlobText(this.blob(id));
      return found && { state: JSON.parse(found.text) as JobState, etag: found.etag };
    });
  }

  /** Writes a new state only if nobody wrote since `etag`; the new ETag, or false when somebody did. */
  put(state: JobState, etag: string): Promise<string | false> {
    return usingStorage('Updating the job', async () => {
      try {
        return await this.write(state, { ifMatch: etag });
      } catch (err) {
        if (hasStatus(err, 412)) return false;
        throw err;
      }
    });
  }

  /** Best effort: a job whose message could not be sent is taken away again. */
  async delete(id: string): Promise<void> {
    await this.blob(id)
      .deleteIfExists()
      .catch(() => undefined);
  }

  /** Keeps a text too large for a queue message; answers the blob's name. */
  keepText(name: string, text: string): Promise<string> {
    return usingStorage('Keeping the message', async () => {
      await ensureCreated(this.container);
      await this.container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
      return name;
    });
  }

  private async write(state: JobState, conditions: BlobRequestConditions): Promise<string> {
    await ensureCreated(this.container);
    const json = JSON.stringify(state);
    const answer = await this.blob(state.id).upload(json, Buffer.byteLength(json), {
      conditions,
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
    });
    return answer.etag!;
  }

  private blob(id: string) {
    return this.container.getBlockBlobClient(`jobs/${id}.json`);
  }
}

/** How a running delivery holds its job; the defaults, or shorter ones in tests. */
export interface LeaseTimes {
  /** A lease not renewed runs out after this: its holder stopped, or lost Storage. */
  leaseMs: number;
  /** How often the holder renews it while it works (and every 2 s while Storage fails). */
  renewEveryMs: number;
  /**
   * A lease found run out is taken over only if it stays as it was this long while Storage answers:
   * one that ran out during a Storage outage says nothing of its holder, which renews within seconds
   * of Storage's return and may hold a generation already paid for.
   */
  takeoverQuietMs: number;
}

export const LEASE_TIMES: LeaseTimes = { leaseMs: 30_000, renewEveryMs: 10_000, takeoverQuietMs: 15_000 };
const RENEW_RETRY_MS = 2_000;

/**
 * A running delivery's hold on its job: renewed while it works, so that a delivery that stopped
 * (crashed, gave up) lets go within `leaseMs`, while one that works is never taken over. Writes go
 * one at a time; one that meets another write (a poll token added) is made again on the newer job.
 */
export class JobLease {
  private current: StoredJob;
  private chain: Promise<unknown> = Promise.resolve();
  private timer?: ReturnType<typeof setTimeout>;
  private ended = false;

  constructor(
    private readonly jobs: JobStore,
    stored: StoredJob,
    readonly holder: string,
    private readonly times: LeaseTimes,
    private readonly signal?: AbortSignal,
  ) {
    this.current = stored;
    this.renewIn(times.renewEveryMs);
  }

  get state(): JobState {
    return this.current.state;
  }

  /** Whether this delivery still holds the job as `state` has it. */
  holds(state: JobState): boolean {
    return state.status === 'running' && state.lease_holder === this.holder;
  }

  /**
   * Writes `change` of the job while `may` allows it (by default: while this delivery holds it),
   * waiting out a Storage outage; the job as written, or undefined when `may` no longer allows it.
   */
  write(
    change: (state: JobState) => JobState,
    may: (state: JobState) => boolean = (state) => this.holds(state),
  ): Promise<StoredJob | undefined> {
    return this.serially(() => patiently(() => this.writeNow(change, may), this.signal));
  }

  /** Stops renewing: the delivery is done with the job. */
  end(): void {
    this.ended = true;
    clearTimeout(this.timer);
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async writeNow(
    change: (state: JobState) => JobState,
    may: (state: JobState) => boolean,
  ): Promise<StoredJob | undefined> {
    for (;;) {
      const { state, etag } = this.current;
      if (!may(state)) return undefined;
      const next = change(state);
      const written = await this.jobs.put(next, etag);
      if (written) return (this.current = { state: next, etag: written });
      const fresh = await this.jobs.get(state.id);
      if (!fresh) return undefined;
      this.current = fresh;
    }
  }

  private renewIn(ms: number): void {
    if (this.ended) return;
    this.timer = setTimeout(() => {
      this.serially(() =>
        this.writeNow(
          (state) => ({ ...state, lease_until: Date.now() + this.times.leaseMs }),
          (state) => !this.ended && this.holds(state),
        ),
      ).then(
        (renewed) => {
          // Not held any more (ended, or taken over after it ran out): nothing left to renew.
          if (renewed) this.renewIn(this.times.renewEveryMs);
        },
        () => this.renewIn(RENEW_RETRY_MS),
      );
    }, ms);
  }
}
