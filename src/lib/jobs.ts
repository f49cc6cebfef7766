import type { BlobRequestConditions, ContainerClient } from '@azure/storage-blob';
import type { Caller } from './caller.js';
import type { JsonObject } from './json.js';
import type { Answer } from './pipeline.js';
import type { AzureErrorBody, ImagesResponse, JobStatus } from './schemas.js';
import { ensureCreated, hasStatus, readBlobText, usingStorage } from './storage.js';

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
  /** While running: until when (ms since the epoch) the delivery that runs it holds it. */
  lease_until?: number;
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
