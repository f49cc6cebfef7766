import type { ContainerClient } from '@azure/storage-blob';
import type { AzureErrorBody } from './errors.js';
import type { ImagesResponse, JobStatus } from './schemas.js';
import { ensureCreated, hasStatus, readBlobText } from './storage.js';

// Asynchronous jobs' state, one JSON blob per job in the jobs container: no service beyond Storage.
// ETags make the claim of a job safe when a queue message is delivered twice.

export interface JobState {
  id: string;
  status: JobStatus;
  /** Unix seconds. */
  created: number;
  /** The request body, as validated later by the worker. */
  request: Record<string, unknown>;
  /** How many times a worker started it. */
  attempts: number;
  /** SHA-256 of the job's poll token (jobs accepted over HTTP): the token itself is never stored. */
  poll_token_sha256?: string;
  result?: ImagesResponse;
  error?: AzureErrorBody['error'];
}

export interface StoredJob {
  state: JobState;
  etag: string;
}

export class JobStore {
  constructor(private readonly container: ContainerClient) {}

  /** Creates the job and answers it as stored; undefined when a job with that id exists already. */
  async create(id: string, request: Record<string, unknown>, pollTokenSha256?: string): Promise<StoredJob | undefined> {
    const state: JobState = { id, status: 'notStarted', created: Math.floor(Date.now() / 1000), request, attempts: 0 };
    if (pollTokenSha256) state.poll_token_sha256 = pollTokenSha256;
    try {
      return { state, etag: await this.write(state, { ifNoneMatch: '*' }) };
    } catch (err) {
      if (hasStatus(err, 409, 412)) return undefined;
      throw err;
    }
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const found = await readBlobText(this.blob(id));
    return found && { state: JSON.parse(found.text) as JobState, etag: found.etag };
  }

  /** Writes a new state; with an etag, only if nobody wrote in between (else false). */
  async put(state: JobState, etag?: string): Promise<string | false> {
    try {
      return await this.write(state, etag ? { ifMatch: etag } : {});
    } catch (err) {
      if (hasStatus(err, 412)) return false;
      throw err;
    }
  }

  private async write(state: JobState, conditions: { ifMatch?: string; ifNoneMatch?: string }): Promise<string> {
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
