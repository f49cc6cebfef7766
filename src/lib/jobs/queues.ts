import type { QueueServiceClient } from '@azure/storage-queue';
import type { JsonObject } from '../core/json.js';
import type { AzureErrorBody, JobEvent } from '../core/schemas.js';
import { ensureCreated, usingStorage } from '../platform/storage.js';
import { STORAGE_NAME } from '../platform/settings.js';
import type { Delivery } from './webhooks.js';

// The three queues of the event-driven path. Messages are plain JSON text (host.json sets
// messageEncoding "none"), so any producer can write them without base64.

export const QUEUES = {
  requests: 'image-requests',
  results: 'image-results',
  poison: 'image-requests-poison',
  /** Webhook deliveries waiting for their next attempt. */
  webhooks: 'image-webhooks',
  /** Kept images waiting for their thumbnail: `{ "blob": ... }`. */
  thumbnails: 'image-thumbnails',
} as const;

/** host.json's extensions.queues.maxDequeueCount: the last attempt fails the job for good. */
export const MAX_DEQUEUE_COUNT = 5;

/** Azure Storage takes a message of at most 64 KiB of UTF-8 text. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Azure Storage's longest visibility delay is 7 days. */
const MAX_DELAY_SECONDS = 7 * 24 * 3600 - 1;

export interface PoisonEntry {
  id: string;
  reason: AzureErrorBody['error'];
  dequeueCount: number;
  /** The message as it came, or where it was kept when it was too large to repeat here. */
  message: unknown;
}

/** A queue a result may go to: a valid queue name, and not one of the app's own inputs (a loop). */
export function resultQueueProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !STORAGE_NAME.test(name))
    return 'must be a queue name: 3 to 63 lowercase letters, digits and single hyphens';
  if (name === QUEUES.requests || name === QUEUES.poison || name === QUEUES.webhooks || name === QUEUES.thumbnails)
    return `must not be ${name}, which the app reads or parks in`;
  return undefined;
}

export const messageBytes = (message: unknown): number => Buffer.byteLength(JSON.stringify(message));

export class ImageQueues {
  constructor(private readonly queues: QueueServiceClient) {}

  /** Puts a request on image-requests, invisible for `delayMs` (a 429's wait, a busy job's lease). */
  sendRequest(message: JsonObject, delayMs = 0): Promise<void> {
    return this.send(QUEUES.requests, message, delayMs);
  }

  /** Puts a result on the queue its request named (image-results unless it named another). */
  sendResult(queue: string, result: JobEvent): Promise<void> {
    return this.send(queue, result);
  }

  sendPoison(entry: PoisonEntry): Promise<void> {
    return this.send(QUEUES.poison, entry);
  }

  /** Puts a webhook delivery on its queue, invisible until its attempt is due. */
  sendDelivery(delivery: Delivery, delayMs = 0): Promise<void> {
    return this.send(QUEUES.webhooks, delivery, delayMs);
  }

  /** Asks for a kept image's thumbnail: the queue trigger makes it (functions/thumbnails.ts). */
  sendThumbnail(blob: string): Promise<void> {
    return this.send(QUEUES.thumbnails, { blob });
  }

  /** Sends a message, invisible for `delayMs` in whole seconds, as long as a queue allows at most. */
  private send(queue: string, message: unknown, delayMs = 0): Promise<void> {
    const visibilityTimeout = Math.min(Math.max(0, Math.ceil(delayMs / 1000)), MAX_DELAY_SECONDS);
    return usingStorage(`Sending to ${queue}`, async () => {
      const client = this.queues.getQueueClient(queue);
      await ensureCreated(client);
      // Messages live as long as the queue allows (-1): a result must not vanish unread after 7 days.
      await client.sendMessage(JSON.stringify(message), { visibilityTimeout, messageTimeToLive: -1 });
    });
  }
}
