import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ApiError, invalidRequest, toApiError } from './errors.js';
import type { JobState, JobStore } from './jobs.js';
import type { ImagePipeline } from './pipeline.js';
import { ImageQueues, MAX_DEQUEUE_COUNT } from './queues.js';
import { jobId, type ImagesResponse, type Job } from './schemas.js';

// Asynchronous jobs: accepted over HTTP (Prefer: respond-async) or put on image-requests by any
// producer, run by the queue trigger through the same pipeline as the synchronous call.

export interface QueueDelivery {
  /** The queue message's id: a job id for messages that bring none, stable across deliveries. */
  messageId: string;
  dequeueCount: number;
}

/** Queue results and job results carry URLs, not image bytes: a queue message holds 64 KB. */
function withoutInlineImages(answer: ImagesResponse): ImagesResponse {
  return { ...answer, data: answer.data.map(({ b64_json: _bytes, ...image }) => image) };
}

export class ImageJobs {
  constructor(
    private readonly pipeline: ImagePipeline,
    private readonly jobs: JobStore,
    private readonly queues: ImageQueues,
  ) {}

  /**
   * Writes the job, then queues it; the body was validated by the caller. The poll token lets the
   * job's Location be read without the function key (a valet key): Power Automate sends no
   * credentials when it polls.
   */
  async accept(body: Record<string, unknown>): Promise<{ job: JobState; pollToken: string }> {
    const id = randomUUID();
    const pollToken = randomBytes(32).toString('base64url');
    const { state } = (await this.jobs.create(id, body, sha256(pollToken)))!; // a fresh UUID: no job has it
    await this.queues.sendRequest({ ...body, id });
    return { job: state, pollToken };
  }

  /**
   * A job as callers see it, its image URLs signed afresh. With a poll token, only the job that
   * token was issued for: a wrong token reads as no such job.
   */
  async status(id: string, pollToken?: string): Promise<Job | undefined> {
    if (!jobId.safeParse(id).success) return undefined;
    const stored = await this.jobs.get(id);
    if (!stored) return undefined;
    if (pollToken !== undefined && !sameDigest(stored.state.poll_token_sha256, sha256(pollToken))) return undefined;
    const { status, created, result, error } = stored.state;
    return { id, status, created, ...(result && { result: await this.pipeline.refreshUrls(result) }), ...(error && { error }) };
  }

  /**
   * Handles one image-requests message. Returns when the message is done with (succeeded, failed
   * for good, or put back for later after a 429); throws when the host should deliver it again.
   */
  async process(message: unknown, delivery: QueueDelivery, signal?: AbortSignal): Promise<void> {
    const parsed = parseMessage(message, delivery);
    if (parsed instanceof ApiError) return this.fail(`msg-${delivery.messageId}`, parsed, message, delivery);
    const { id, body } = parsed;

    // Created here unless HTTP accepted it; another delivery may create it between the two calls.
    const stored = (await this.jobs.get(id)) ?? (await this.jobs.create(id, body)) ?? (await this.jobs.get(id))!;
    const { state, etag } = stored;
    // Delivered again after the work was done (a crash before the message was deleted): answer
    // again, never generate again.
    if (state.status === 'succeeded') return this.queues.sendResult({ id, status: 'succeeded', data: state.result!.data });
    if (state.status === 'failed') return this.queues.sendResult({ id, status: 'failed', error: state.error });

    let resolved;
    try {
      resolved = this.pipeline.validate(state.request);
    } catch (err) {
      return this.fail(id, toApiError(err), message, delivery, state);
    }
    const running: JobState = { ...state, status: 'running', attempts: state.attempts + 1 };
    if (!(await this.jobs.put(running, etag))) throw new Error(`Job ${id} was taken by another delivery; trying later.`);

    try {
      const result = withoutInlineImages(await this.pipeline.generate(resolved, { jobId: id, signal }));
      await this.jobs.put({ ...running, status: 'succeeded', result, error: undefined });
      await this.queues.sendResult({ id, status: 'succeeded', data: result.data });
    } catch (err) {
      const error = toApiError(err);
      if (error.status === 429) {
        // The quota is spent: the job waits on the queue for Retry-After, without using up attempts.
        await this.jobs.put({ ...running, status: 'notStarted' });
        await this.queues.sendRequest({ ...body, id }, Number(error.headers['Retry-After'] ?? 10));
        return;
      }
      if (error.isClientError || delivery.dequeueCount >= MAX_DEQUEUE_COUNT) return this.fail(id, error, message, delivery, running);
      await this.jobs.put({ ...running, status: 'notStarted', error: error.toJSON().error });
      throw error;
    }
  }

  /** A job that can never succeed: recorded, answered on image-results, and parked on the poison queue with its reason. */
  private async fail(id: string, error: ApiError, message: unknown, delivery: QueueDelivery, state?: JobState): Promise<void> {
    const reason = error.toJSON().error;
    if (state) await this.jobs.put({ ...state, status: 'failed', error: reason });
    await this.queues.sendResult({ id, status: 'failed', error: reason });
    await this.queues.sendPoison({ id, reason, dequeueCount: delivery.dequeueCount, message });
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function sameDigest(expected: string | undefined, actual: string): boolean {
  return expected !== undefined && expected.length === actual.length && timingSafeEqual(Buffer.from(expected), Buffer.from(actual));
}

function parseMessage(message: unknown, delivery: QueueDelivery): { id: string; body: Record<string, unknown> } | ApiError {
  let value = message;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      value = JSON.parse(value.toString());
    } catch {
      return invalidRequest('The queue message is not JSON.');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalidRequest('The queue message must be a JSON object.');
  const { id, ...body } = value as Record<string, unknown>;
  if (id === undefined) return { id: `msg-${delivery.messageId}`, body };
  const checked = jobId.safeParse(id);
  if (!checked.success) return invalidRequest(`Invalid value for 'id': ${checked.error.issues[0]!.message}.`, 'id');
  return { id: checked.data, body };
}
