import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { callbackProblem, guardedLookup, type CallbackPolicy, type Resolver, systemResolver } from './callbacks.js';
import { InvalidRequestError, NotFoundError } from '../core/errors.js';
import type { JobState } from './jobStore.js';
import type { ApiKeySource } from '../generation/apiKeys.js';
import type { JobEvent } from '../core/schemas.js';
import { isUuid } from '../core/json.js';
import { ensureTable, hasStatus, unless404, usingStorage } from '../platform/storage.js';

// Webhooks: "when an image is ready". A subscription names a callback URL: for one job (Logic Apps'
// HTTP Webhook action, which sends its request and waits for the call back), or for every job that
// ends (Power Automate's webhook trigger). Deliveries are signed as Standard Webhooks specifies
// (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">),
// retried with a doubling backoff for a bounded time, then recorded as undeliverable.

export interface Subscription {
  id: string;
  callback_url: string;
  /** For one job, or (absent) for every job that ends. */
  job_id?: string;
  /** Standing subscriptions: only jobs of this served model, or that ended this way. */
  model?: string;
  status?: 'succeeded' | 'failed';
  /** Unix seconds. */
  created: number;
  delivered: number;
  undeliverable: number;
  last_error?: string;
}

/** A message on the webhooks queue: one event for one subscription, and its attempts so far. */
export const delivery = z.object({
  subscription: z.string().min(1),
  job: z.string().min(1),
  attempt: z.int().min(0),
  /** When the first attempt was made (ms since the epoch): retries stop a window after it. */
  first: z.number(),
});
export type Delivery = z.infer<typeof delivery>;

export interface WebhookOptions {
  policy: CallbackPolicy;
  /** The signing secret: from Key Vault in Azure, a setting locally. */
  secret: ApiKeySource;
  /** How long a delivery is tried before it is recorded as undeliverable. */
  retryWindowMs: number;
  /** The first retry's wait; each one after waits twice as long, up to an hour. */
  retryBaseMs: number;
  resolve?: Resolver;
}

const PARTITION = 'subscription';
const ATTEMPT_TIMEOUT_MS = 10_000;
const MAX_RETRY_DELAY_MS = 60 * 60_000;

type Entity = Omit<Subscription, 'id'> & { partitionKey: string; rowKey: string };

const fromEntity = ({
  partitionKey: _p,
  rowKey,
  ...rest
}: Entity & { etag?: string; timestamp?: string }): Subscription => {
  const { etag: _etag, timestamp: _timestamp, ...fields } = rest;
  return { id: rowKey, ...fields };
};

export class Webhooks {
  private readonly resolve: Resolver;

  constructor(
    private readonly table: TableClient,
    private readonly options: WebhookOptions,
  ) {
    this.resolve = options.resolve ?? systemResolver;
  }

  /** Checks the callback URL, then keeps the subscription. */
  /** `param`: where the request named the callback, for the error that refuses it. */
  async subscribe(
    callbackUrl: string,
    scope: Pick<Subscription, 'job_id' | 'model' | 'status'>,
    param = 'x-ms-notification-url',
  ): Promise<Subscription> {
    const problem = await callbackProblem(callbackUrl, this.options.policy, this.resolve);
    if (problem) throw new InvalidRequestError(`Invalid callback URL: it ${problem}.`, param);
    const subscription: Subscription = {
      id: randomUUID(),
      callback_url: callbackUrl,
      ...scope,
      created: Math.floor(Date.now() / 1000),
      delivered: 0,
      undeliverable: 0,
    };
    await this.write(subscription);
    return subscription;
  }

  async get(id: string): Promise<Subscription> {
    if (!isUuid(id)) throw new NotFoundError(`There is no subscription '${id}'.`);
    return usingStorage('Reading the subscription', async () => {
      await ensureTable(this.table);
      try {
        return fromEntity(await this.table.getEntity<Entity>(PARTITION, id));
      } catch (err) {
        if (hasStatus(err, 404, 400)) throw new NotFoundError(`There is no subscription '${id}'.`);
        throw err;
      }
    });
  }

  /** Ends subscriptions: one by id, or every one with this callback URL (Logic Apps' unsubscribe knows only that). */
  async unsubscribe(target: { id: string } | { callbackUrl: string }): Promise<number> {
    const ids =
      'id' in target
        ? [(await this.get(target.id)).id]
        : (await this.list()).filter((s) => s.callback_url === target.callbackUrl).map((s) => s.id);
    await usingStorage('Deleting the subscription', () =>
      Promise.all(ids.map((id) => unless404(() => this.table.deleteEntity(PARTITION, id)))),
    );
    return ids.length;
  }

  /** The subscriptions a job's end is delivered to: its own, and the standing ones it matches. */
  async for(job: JobState): Promise<Subscription[]> {
    const all = await this.list();
    return all.filter((s) =>
      s.job_id
        ? s.job_id === job.id
        : (!s.model || s.model === job.served?.model) && (!s.status || s.status === job.status),
    );
  }

  /**
   * One attempt to deliver an event. Answers when to try again (ms), or undefined when it is done
   * with: delivered, undeliverable, or its subscription gone.
   */
  async deliver(delivery: Delivery, event: JobEvent): Promise<number | undefined> {
    let subscription: Subscription;
    try {
      subscription = await this.get(delivery.subscription);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined; // unsubscribed meanwhile
      throw err;
    }
    const failure = await this.post(
      subscription.callback_url,
      `${delivery.subscription}.${delivery.job}`,
      JSON.stringify(event),
    );
    if (!failure) {
      if (subscription.job_id) await this.unsubscribe({ id: subscription.id });
      else await this.update(subscription.id, (s) => ({ ...s, delivered: s.delivered + 1 }));
      return undefined;
    }
    const wait = Math.min(MAX_RETRY_DELAY_MS, this.options.retryBaseMs * 2 ** delivery.attempt);
    if (failure.retry && Date.now() + wait - delivery.first <= this.options.retryWindowMs) return wait;
    await this.update(subscription.id, (s) => ({
      ...s,
      undeliverable: s.undeliverable + 1,
      last_error: `${new Date().toISOString()} ${delivery.job}: ${failure.reason}`,
    }));
    return undefined;
  }

  /** POSTs a signed event; undefined when the receiver took it (2xx). */
  private async post(url: string, id: string, body: string): Promise<{ reason: string; retry: boolean } | undefined> {
    // Checked again at each delivery: for an address in the URL itself, no lookup runs to catch it.
    const problem = await callbackProblem(url, this.options.policy, this.resolve);
    if (problem) return { reason: `the callback URL ${problem}`, retry: false };
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': `v1,${sign(await this.options.secret.get(), id, timestamp, body)}`,
    };
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const status = await new Promise<number | Error>((resolve) => {
      const req = send(
        url,
        {
          method: 'POST',
          headers,
          lookup: guardedLookup(this.options.policy, this.resolve),
          timeout: ATTEMPT_TIMEOUT_MS,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('timeout', () => req.destroy(new Error('the receiver did not answer in time')));
      req.on('error', resolve);
      req.end(body);
    });
    if (status instanceof Error)
      return { reason: status.message, retry: (status as { code?: string }).code !== 'EADDRNOTALLOWED' };
    if (status >= 200 && status < 300) return undefined;
    // The receiver's own verdict stands, unless it says to come back (408, 429, 5xx).
    return { reason: `the receiver answered ${status}`, retry: status === 408 || status === 429 || status >= 500 };
  }

  private async list(): Promise<Subscription[]> {
    return usingStorage('Reading subscriptions', async () => {
      await ensureTable(this.table);
      const found: Subscription[] = [];
      for await (const entity of this.table.listEntities<Entity>({
        queryOptions: { filter: `PartitionKey eq '${PARTITION}'` },
      }))
        found.push(fromEntity(entity));
      return found;
    });
  }

  private async write(subscription: Subscription): Promise<void> {
    const { id, ...fields } = subscription;
    await usingStorage('Keeping the subscription', async () => {
      await ensureTable(this.table);
      await this.table.upsertEntity({ partitionKey: PARTITION, rowKey: id, ...fields }, 'Replace');
    });
  }

  /** A conditional read-modify-write: concurrent deliveries never lose a count. */
  private async update(id: string, change: (s: Subscription) => Subscription): Promise<void> {
    await usingStorage('Updating the subscription', async () => {
      for (;;) {
        const entity = await unless404(() => this.table.getEntity<Entity>(PARTITION, id));
        if (!entity) return;
        const { id: _id, ...fields } = change(fromEntity(entity));
        try {
          await this.table.updateEntity({ partitionKey: PARTITION, rowKey: id, ...fields }, 'Replace', {
            etag: entity.etag,
          });
          return;
        } catch (err) {
          if (!hasStatus(err, 412)) throw err;
        }
      }
    });
  }
}

/** Standard Webhooks' signature: base64 HMAC-SHA256 of "id.timestamp.body"; a `whsec_` secret is base64. */
export function sign(secret: string, id: string, timestamp: string, body: string): string {
  const key = secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}
