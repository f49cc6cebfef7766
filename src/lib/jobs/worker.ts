import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { errorAnswer } from '../core/errorAnswer.js';
import { sleep } from '../platform/deadline.js';
import { QUEUE_CALLER, type Caller } from '../core/caller.js';
import {
  fromZodIssues,
  ImagesError,
  InvalidRequestError,
  NotFoundError,
  ServiceThrottledError,
} from '../core/errors.js';
import { isJsonObject, sameDigest, sha256, type JsonObject } from '../core/json.js';
import { patiently } from '../platform/storage.js';
import { JobLease, LEASE_TIMES, type JobState, type JobStore, type LeaseTimes, type StoredJob } from './jobStore.js';
import type { Answer, ImagePipeline } from '../images/pipeline.js';
import {
  MAX_DEQUEUE_COUNT,
  MAX_MESSAGE_BYTES,
  messageBytes,
  QUEUES,
  resultQueueProblem,
  type ImageQueues,
} from './queues.js';
import { jobId, subscriptionRequest, type ImagesResponse, type Job, type JobEvent } from '../core/schemas.js';
import { delivery as deliveryMessage, type Subscription, type Webhooks } from './webhooks.js';

// Asynchronous jobs: accepted over HTTP (Prefer: respond-async) or put on image-requests by any
// producer, run by the queue trigger through the same pipeline as the synchronous call. However
// many deliveries of one job race, one generation runs: the running delivery holds a lease, which it
// renews while it works (jobs.ts), and waits out a short Storage outage rather than give up what it holds.

export interface QueueDelivery {
  /** The queue message's id: a job id for messages that bring none, stable across deliveries. */
  messageId: string;
  dequeueCount: number;
  /** The host's invocation id: with the instance, who holds the job's lease. */
  invocationId?: string;
}

/**
 * The names the Storage Queues trigger gives its own metadata (lower-cased). The real trigger lays a
 * JSON message's top-level properties over them, ignoring case: a body's `id` or `ID` becomes
 * `triggerMetadata.id`, a body's `dequeueCount` the count.
 */
const TRIGGER_METADATA = new Set([
  'id',
  'dequeuecount',
  'popreceipt',
  'insertiontime',
  'expirationtime',
  'nextvisibletime',
  'queuetrigger',
]);

/** What a queue message id can be: Storage gives GUIDs. */
const QUEUE_MESSAGE_ID = /^[A-Za-z0-9-]{1,64}$/;

/**
 * The delivery, from the trigger's metadata less what the message's body hid: a body that has an `id`
 * (in any case) hides the message's own id, so the delivery is then named after the message itself
 * (`sha256-` and 32 hex digits of its JSON): stable across deliveries, and no name the body chooses.
 * A hidden dequeueCount counts as the first attempt (such a message is refused: parseMessage).
 */
export function queueDelivery(
  message: unknown,
  metadata: Record<string, unknown> | undefined,
  invocationId?: string,
): QueueDelivery {
  const hidden = new Set(isJsonObject(message) ? Object.keys(message).map((name) => name.toLowerCase()) : []);
  const id = hidden.has('id') ? undefined : metadata?.id;
  const count = hidden.has('dequeuecount') ? Number.NaN : Number(metadata?.dequeueCount ?? 1);
  const text =
    typeof message === 'string'
      ? message
      : Buffer.isBuffer(message)
        ? message.toString('utf8')
        : JSON.stringify(message);
  return {
    messageId: typeof id === 'string' && QUEUE_MESSAGE_ID.test(id) ? id : `sha256-${sha256(text ?? '').slice(0, 32)}`,
    dequeueCount: Number.isInteger(count) && count >= 1 ? count : 1,
    invocationId,
  };
}

/** What a poller is told to wait: images take seconds to a minute. */
export const POLL_AFTER_SECONDS = 5;

/** This instance, in the lease holders it writes. */
const INSTANCE = `${hostname()}:${process.pid}`;

/** Queue results and job results carry URLs, not image bytes: a queue message holds 64 KiB. */
function withoutInlineImages(answer: ImagesResponse): ImagesResponse {
  return { ...answer, data: answer.data.map(({ b64_json: _bytes, ...image }) => image) };
}

type Claim =
  { kind: 'ended'; stored: StoredJob } | { kind: 'busy'; retryAfterMs: number } | { kind: 'run'; stored: StoredJob };

export class JobWorker {
  constructor(
    private readonly pipeline: ImagePipeline,
    private readonly jobs: JobStore,
    private readonly queues: ImageQueues,
    private readonly webhooks: Webhooks,
    private readonly leaseTimes: LeaseTimes = LEASE_TIMES,
  ) {}

  /**
   * Writes the job, then queues its id (the body stays in the job: a message holds 64 KiB, a body up
   * to 1 MB). The poll token lets the job's Location be read without the function key (a valet key):
   * Power Automate sends no credentials when it polls. The body was validated by the caller.
   */
  async accept(
    request: JsonObject,
    options: { pathDeployment?: string; resultQueue?: string; caller?: Caller; id?: string } = {},
  ): Promise<{ job: JobState; pollToken: string }> {
    if (options.resultQueue !== undefined) checkResultQueue(options.resultQueue, 'x-result-queue');
    const id = options.id ?? randomUUID();
    const pollToken = newPollToken();
    const { state } = (await this.jobs.create(id, {
      request,
      ...(options.pathDeployment !== undefined && { path_deployment: options.pathDeployment }),
      ...(options.resultQueue !== undefined && { result_queue: options.resultQueue }),
      ...(options.caller && { caller: options.caller }),
      poll_token_sha256: [sha256(pollToken)],
    }))!; // a fresh UUID: no job has it
    try {
      await this.queues.sendRequest({ id });
    } catch (err) {
      // No job without its message: it would wait forever.
      await this.jobs.delete(id);
      throw err;
    }
    return { job: state, pollToken };
  }

  /**
   * Subscribes a callback, named in the body's callback_url (the connector's trigger) or in the
   * x-ms-notification-url header (Logic Apps' HTTP Webhook action), which wins: to the endings of the jobs that match, or, with a
   * generation request, to the job it accepts. That request is refused before anything is spent, as
   * the synchronous call would refuse it; its subscription exists before the job can end, so no
   * ending is missed.
   */
  async subscribe(
    body: unknown,
    caller: Caller,
    headerCallback?: string,
  ): Promise<{ subscription: Subscription; job?: JobState }> {
    const parsed = subscriptionRequest.safeParse(body);
    if (!parsed.success) throw fromZodIssues(parsed.error.issues);
    const { callback_url, request, model, status } = parsed.data;
    const callback = headerCallback ?? callback_url;
    if (!callback)
      throw new InvalidRequestError(
        "The callback URL is required: 'callback_url', or the x-ms-notification-url header.",
        'x-ms-notification-url',
      );
    const param = headerCallback === undefined ? 'callback_url' : 'x-ms-notification-url';
    if (!request)
      return {
        subscription: await this.webhooks.subscribe(
          callback,
          { ...(model && { model }), ...(status && { status }) },
          param,
        ),
      };
    this.pipeline.resolve(request, undefined, caller);
    const id = randomUUID();
    const subscription = await this.webhooks.subscribe(callback, { job_id: id }, param);
    try {
      const { job } = await this.accept(request, { id, caller });
      return { job, subscription };
    } catch (err) {
      await this.webhooks.unsubscribe({ id: subscription.id }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Handles one message of the webhooks queue: an attempt now, and the next one put back on the queue
   * when it failed. The app's own queue: a message it cannot read is told and dropped, not retried.
   */
  async deliver(message: unknown, log: (message: string) => void): Promise<void> {
    const parsed = deliveryMessage.safeParse(message);
    if (!parsed.success) return log(`Dropped a webhook delivery that is not one: ${parsed.error.issues[0].message}`);
    const delivery = parsed.data;
    const stored = await this.jobs.get(delivery.job);
    if (!stored) return;
    const retryInMs = await this.webhooks.deliver(delivery, jobEventOf(stored.state));
    if (retryInMs !== undefined)
      await this.queues.sendDelivery({ ...delivery, attempt: delivery.attempt + 1 }, retryInMs);
  }

  /** A further poll token for a job, as a repeated accept (Idempotency-Key) answers one. */
  async issuePollToken(id: string): Promise<string> {
    for (;;) {
      const stored = await this.jobs.get(id);
      if (!stored) throw new NotFoundError(`There is no image job '${id}'.`);
      const pollToken = newPollToken();
      const hashes = [...(stored.state.poll_token_sha256 ?? []), sha256(pollToken)];
      if (await this.jobs.put({ ...stored.state, poll_token_sha256: hashes }, stored.etag)) return pollToken;
    }
  }

  /**
   * A job as callers see it, its image URLs signed afresh. With a poll token, only a job that token
   * was issued for: a wrong token reads as no such job.
   */
  async status(id: string, pollToken?: string): Promise<(Job & { state: JobState }) | undefined> {
    if (!jobId.safeParse(id).success) return undefined;
    const stored = await this.jobs.get(id);
    if (!stored) return undefined;
    if (pollToken !== undefined && !stored.state.poll_token_sha256?.some((hash) => sameDigest(hash, sha256(pollToken))))
      return undefined;
    const { status, created, result, error } = stored.state;
    return {
      id,
      status,
      created,
      ...(result && { result: await this.pipeline.refreshUrls(result) }),
      ...(error && { error }),
      state: stored.state,
    };
  }

  /**
   * Handles one image-requests message. Returns when the message is done with (succeeded, failed
   * for good, or put back for later); throws when the host should deliver it again.
   */
  async process(message: unknown, delivery: QueueDelivery, signal?: AbortSignal): Promise<void> {
    const parsed = parseMessage(message, delivery);
    if ('error' in parsed) return this.park(parsed, parsed.error, message, delivery);
    const holder = `${INSTANCE}/${delivery.invocationId ?? randomUUID()}`;
    const claim = await patiently(() => this.claim(parsed, holder, signal), signal);
    if (claim instanceof ImagesError) return this.park(parsed, claim, message, delivery);
    if (claim.kind === 'ended') return patiently(() => this.notify(claim.stored), signal);
    // Another delivery runs it and renews its lease: look again once the lease would run out.
    if (claim.kind === 'busy')
      return patiently(() => this.queues.sendRequest({ id: parsed.id }, claim.retryAfterMs + 1000), signal);

    const lease = new JobLease(this.jobs, claim.stored, holder, this.leaseTimes, signal);
    try {
      const running = lease.state;
      let answer: Answer;
      try {
        answer = await this.generate(running, signal);
      } catch (err) {
        if (err instanceof ServiceThrottledError) {
          // The quota is spent: the job waits on the queue for the service's Retry-After, without using up attempts.
          if (!(await lease.write(released))) return;
          return await patiently(() => this.queues.sendRequest({ id: running.id }, err.retryAfterMs), signal);
        }
        const retryable = !(err instanceof ImagesError) || err.retryable;
        if (!retryable || delivery.dequeueCount >= MAX_DEQUEUE_COUNT)
          return await this.park(parsed, err, message, delivery, lease);
        const { status, body } = errorAnswer(err);
        await lease.write((state) => ({ ...released(state), error: body.error, error_status: status }));
        throw err;
      }
      // Images in hand are paid for: they are the job's answer unless it ended meanwhile, even if this
      // delivery lost its lease (cut off from Storage longer than the lease) and another took over.
      const done = await lease.write(
        (state) => ({
          ...released(state),
          status: 'succeeded',
          result: withoutInlineImages(answer.body),
          served: answer.served,
          error: undefined,
          error_status: undefined,
        }),
        (state) => state.status !== 'succeeded' && state.status !== 'failed',
      );
      lease.end();
      if (!done) return await this.pipeline.discard(answer.body);
      await patiently(() => this.notify(done), signal);
    } finally {
      lease.end();
    }
  }

  /**
   * Runs the job's generation. A Storage outage before the service is called (the ledger's hold) is
   * waited out and the call made then; after it, what the service answered is kept however long
   * Storage takes to come back (within the patience): it is paid for, and never made again.
   */
  private generate(running: JobState, signal?: AbortSignal): Promise<Answer> {
    const caller = running.caller ?? QUEUE_CALLER;
    const request = this.pipeline.resolve(running.request, running.path_deployment, caller);
    let answered = false;
    const keeping = <T>(step: () => Promise<T>): Promise<T> => {
      answered = true;
      return patiently(step, signal);
    };
    return patiently(
      () => this.pipeline.generate(request, { jobId: running.id, signal, caller, keeping }),
      signal,
      () => !answered,
    );
  }

  /** Finds or creates the job and takes it for this delivery, unless it has ended or another delivery holds it. */
  private async claim(
    { id, body, resultQueue }: Message,
    holder: string,
    signal?: AbortSignal,
  ): Promise<Claim | ImagesError> {
    for (;;) {
      let stored = await this.jobs.get(id);
      if (!stored) {
        if (!body) return new NotFoundError(`There is no image job '${id}', and the message brings no request.`);
        stored = await this.jobs.create(id, { request: body, result_queue: resultQueue });
        if (!stored) continue; // another delivery created it just now
      }
      const { state, etag } = stored;
      if (state.status === 'succeeded' || state.status === 'failed') return { kind: 'ended', stored };
      if (state.status === 'running' && (state.lease_until ?? 0) > Date.now())
        return { kind: 'busy', retryAfterMs: state.lease_until! - Date.now() };
      if (state.status === 'running') {
        // Its lease ran out. Taken over only if nothing renews it while Storage answers: a holder cut
        // off by the same outage renews within seconds of Storage's return.
        await sleep(this.leaseTimes.takeoverQuietMs, signal);
        if ((await this.jobs.get(id))?.etag !== etag) continue;
      }
      const running: JobState = {
        ...state,
        status: 'running',
        attempts: state.attempts + 1,
        lease_until: Date.now() + this.leaseTimes.leaseMs,
        lease_holder: holder,
      };
      const written = await this.jobs.put(running, etag);
      if (written) return { kind: 'run', stored: { state: running, etag: written } };
    }
  }

  /** Sends an ended job's result where it was asked for, once: a delivery after a crash sends it again, never generates again. */
  private async notify({ state, etag }: StoredJob): Promise<void> {
    if (state.notified) return;
    if (state.result_queue) await this.queues.sendResult(state.result_queue, jobEventOf(state));
    const first = Date.now();
    for (const subscription of await this.webhooks.for(state))
      await this.queues.sendDelivery({ subscription: subscription.id, job: state.id, attempt: 0, first });
    await this.jobs.put({ ...state, notified: true }, etag);
  }

  /** A job that can never succeed: recorded, answered on image-results, and parked on the poison queue with its reason. */
  private async park(
    { id, resultQueue }: Pick<Message, 'id' | 'resultQueue'>,
    err: unknown,
    message: unknown,
    delivery: QueueDelivery,
    lease?: JobLease,
  ): Promise<void> {
    const { status, body, retryAfterSeconds } = errorAnswer(err);
    const ended = await lease?.write((state) => ({
      ...released(state),
      status: 'failed',
      error: body.error,
      error_status: status,
      error_retry_after_seconds: retryAfterSeconds,
    }));
    // Taken over meanwhile: the job is the other delivery's to end.
    if (lease && !ended) return;
    if (ended) await this.notify(ended);
    else await this.queues.sendResult(resultQueue, { id, status: 'failed', error: body.error });
    const entry = { id, reason: body.error, dequeueCount: delivery.dequeueCount, message };
    // The entry wraps the message: where that would not fit, the message is kept in a blob and named.
    if (messageBytes(entry) > MAX_MESSAGE_BYTES) {
      const text = typeof message === 'string' ? message : JSON.stringify(message);
      entry.message = {
        blob: await this.jobs.keepText(`poison/${id}-${delivery.messageId}.json`, text),
        bytes: Buffer.byteLength(text),
      };
    }
    await this.queues.sendPoison(entry);
  }
}

const newPollToken = () => randomBytes(32).toString('base64url');

/** The job let go of by its delivery: ready for the next one. */
const released = (state: JobState): JobState => ({
  ...state,
  status: 'notStarted',
  lease_until: undefined,
  lease_holder: undefined,
});

/** How an ended job is announced: on its result queue and to its webhooks. */
function jobEventOf({ id, status, result, error }: JobState): JobEvent {
  return status === 'succeeded' ? { id, status, data: result!.data } : { id, status: 'failed', error };
}

/** A message on image-requests, as the worker reads it. */
interface Message {
  id: string;
  /** Absent when the message names a job accepted over HTTP: the job holds the request. */
  body?: JsonObject;
  resultQueue: string;
}

function checkResultQueue(name: unknown, param: string): asserts name is string {
  const problem = resultQueueProblem(name);
  if (problem) throw new InvalidRequestError(`Invalid value for '${param}': it ${problem}.`, param);
}

/** A message refused as it is: answered on `resultQueue` and parked under `id`. */
interface Refused {
  error: InvalidRequestError;
  id: string;
  resultQueue: string;
}

/**
 * Reads a message as plain JSON or as base64-encoded JSON: the Functions queue output binding writes
 * base64 by default, while @azure/storage-queue and Logic Apps write plain text.
 */
function parseMessage(message: unknown, delivery: QueueDelivery): Message | Refused {
  const ownId = `msg-${delivery.messageId}`;
  const refused = (error: InvalidRequestError, id = ownId, resultQueue: string = QUEUES.results): Refused => ({
    error,
    id,
    resultQueue,
  });
  const value = typeof message === 'string' || Buffer.isBuffer(message) ? decodeMessage(message.toString()) : message;
  if (value === undefined)
    return refused(new InvalidRequestError('The queue message is neither JSON nor base64-encoded JSON.'));
  if (!isJsonObject(value)) return refused(new InvalidRequestError('The queue message must be a JSON object.'));
  const { id, result_queue: resultQueue = QUEUES.results, ...body } = value;
  const hasBody = Object.keys(body).length > 0;
  const checked = id === undefined ? undefined : jobId.safeParse(id);
  if (checked && !checked.success)
    return refused(new InvalidRequestError(`Invalid value for 'id': ${checked.error.issues[0].message}.`, 'id'));
  // From here on a failure is answered under the message's own id, so that its pipeline sees it.
  const jobIdOf = checked?.data ?? ownId;
  try {
    checkResultQueue(resultQueue, 'result_queue');
  } catch (err) {
    return refused(err as InvalidRequestError, jobIdOf);
  }
  const hiding = Object.keys(body).find((name) => TRIGGER_METADATA.has(name.toLowerCase()));
  if (hiding !== undefined)
    return refused(
      new InvalidRequestError(
        `'${hiding}' is the name of the queue trigger's own metadata, which the body would replace.`,
        hiding,
      ),
      jobIdOf,
      resultQueue,
    );
  return { id: jobIdOf, ...((hasBody || id === undefined) && { body }), resultQueue };
}

function decodeMessage(text: string): unknown {
  for (const candidate of [
    text,
    /^[A-Za-z0-9+/]+={0,2}$/.test(text.trim()) ? Buffer.from(text, 'base64').toString('utf8') : undefined,
  ]) {
    if (candidate === undefined) continue;
    try {
      return JSON.parse(candidate);
    } catch {
      // not this encoding
    }
  }
  return undefined;
}
