import type { QueueServiceClient } from '@azure/storage-queue';
import type { AzureErrorBody } from './errors.js';
import type { QueueResult } from './schemas.js';
import { ensureCreated } from './storage.js';

// The three queues of the event-driven path. Messages are plain JSON text (host.json sets
// messageEncoding "none"), so any producer can write them without base64.

export const QUEUES = {
  requests: 'image-requests',
  results: 'image-results',
  poison: 'image-requests-poison',
} as const;

/** host.json's extensions.queues.maxDequeueCount: the last attempt fails the job for good. */
export const MAX_DEQUEUE_COUNT = 5;

/** Azure Storage's longest visibility delay is 7 days. */
const MAX_DELAY_SECONDS = 7 * 24 * 3600 - 1;

export interface PoisonEntry {
  id: string;
  reason: AzureErrorBody['error'];
  dequeueCount: number;
  message: unknown;
}

export class ImageQueues {
  constructor(private readonly queues: QueueServiceClient) {}

  /** Puts a request on image-requests, invisible for `delaySeconds` (a 429's Retry-After). */
  sendRequest(message: Record<string, unknown>, delaySeconds = 0): Promise<void> {
    return this.send(QUEUES.requests, message, Math.min(Math.max(0, Math.ceil(delaySeconds)), MAX_DELAY_SECONDS));
  }

  sendResult(result: QueueResult): Promise<void> {
    return this.send(QUEUES.results, result);
  }

  sendPoison(entry: PoisonEntry): Promise<void> {
    return this.send(QUEUES.poison, entry);
  }

  private async send(queue: string, message: unknown, visibilityTimeout = 0): Promise<void> {
    const client = this.queues.getQueueClient(queue);
    await ensureCreated(client);
    // Messages live as long as the queue allows (-1): a result must not vanish unread after 7 days.
    await client.sendMessage(JSON.stringify(message), { visibilityTimeout, messageTimeToLive: -1 });
  }
}
