import { DefaultAzureCredential } from '@azure/identity';
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import type { StorageQueueHandler } from '@azure/functions';
import { invocationContext, type HostJson, type Log, type Registrations } from './host.js';

// The queue trigger as the Functions host runs it, from host.json's extensions.queues: batches of
// batchSize, a new batch when newBatchThreshold or fewer are running, a failed message back after
// visibilityTimeout, and after maxDequeueCount attempts onto `<queue>-poison`.

export interface QueueHostSettings {
  batchSize: number;
  newBatchThreshold: number;
  maxDequeueCount: number;
  visibilityTimeoutSeconds: number;
  maxPollingIntervalMs: number;
  messageEncoding: 'base64' | 'none';
  /** How long a message stays invisible while its function runs: functionTimeout. */
  runTimeoutSeconds: number;
}

const timeSpan = (text: string | undefined, fallbackSeconds: number) => {
  const match = /^(\d+):(\d{2}):(\d{2})$/.exec(text ?? '');
  return match ? Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) : fallbackSeconds;
};

export function queueSettings(hostJson: HostJson): QueueHostSettings {
  const q = hostJson.extensions?.queues ?? {};
  const batchSize = Number(q.batchSize ?? 16);
  return {
    batchSize,
    newBatchThreshold: Number(q.newBatchThreshold ?? Math.floor(batchSize / 2)),
    maxDequeueCount: Number(q.maxDequeueCount ?? 5),
    visibilityTimeoutSeconds: timeSpan(q.visibilityTimeout as string | undefined, 0),
    maxPollingIntervalMs: timeSpan(q.maxPollingInterval as string | undefined, 60) * 1000,
    messageEncoding: q.messageEncoding === 'none' ? 'none' : 'base64',
    runTimeoutSeconds: timeSpan(hostJson.functionTimeout, 600),
  };
}

/** The queue service behind a binding's `connection`, resolved as the host does. */
function queueServiceFor(connection: string): QueueServiceClient {
  const connectionString = process.env[connection];
  if (connectionString) return QueueServiceClient.fromConnectionString(connectionString);
  const uri = process.env[`${connection}__queueServiceUri`];
  if (!uri) throw new Error(`The queue trigger's connection '${connection}' is not set.`);
  return new QueueServiceClient(
    uri,
    new DefaultAzureCredential({ managedIdentityClientId: process.env[`${connection}__clientId`] }),
  );
}

export interface QueueListeners {
  stop(): Promise<void>;
}

export function listenToQueues(registrations: Registrations, settings: QueueHostSettings, log: Log): QueueListeners {
  const stops = registrations.queues.map(({ name, options }) => {
    const service = queueServiceFor(options.connection);
    const queue = service.getQueueClient(options.queueName);
    const poison = service.getQueueClient(`${options.queueName}-poison`);
    return listen(name, queue, poison, options.handler, settings, log);
  });
  return { stop: async () => void (await Promise.all(stops.map((stop) => stop()))) };
}

function listen(
  name: string,
  queue: QueueClient,
  poison: QueueClient,
  handler: StorageQueueHandler,
  settings: QueueHostSettings,
  log: Log,
) {
  let stopped = false;
  const running = new Set<Promise<void>>();
  let wake: () => void = () => undefined;

  const handle = async (message: DequeuedMessageItem) => {
    const text =
      settings.messageEncoding === 'base64'
        ? Buffer.from(message.messageText, 'base64').toString('utf8')
        : message.messageText;
    let payload: unknown = text;
    try {
      payload = JSON.parse(text);
    } catch {
      // Not JSON: the function gets the string, as with the real host.
    }
    const context = invocationContext(name, log, {
      triggerMetadata: triggerMetadata(message, text, payload),
    });
    try {
      await handler(payload, context);
      await queue.deleteMessage(message.messageId, message.popReceipt);
    } catch (err) {
      log(`[${name}] failed (attempt ${message.dequeueCount}): ${(err as Error).message}`);
      if (message.dequeueCount >= settings.maxDequeueCount) {
        await poison.createIfNotExists();
        await poison.sendMessage(message.messageText);
        await queue.deleteMessage(message.messageId, message.popReceipt);
      } else {
        await queue.updateMessage(message.messageId, message.popReceipt, undefined, settings.visibilityTimeoutSeconds);
      }
    }
  };

  const loop = async () => {
    await queue.createIfNotExists();
    let idleMs = 100;
    while (!stopped) {
      if (running.size > settings.newBatchThreshold) {
        await Promise.race(running);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        ({ receivedMessageItems: messages } = await queue.receiveMessages({
          numberOfMessages: settings.batchSize,
          visibilityTimeout: settings.runTimeoutSeconds,
        }));
      } catch (err) {
        log(`[${name}] could not read ${queue.name}: ${(err as Error).message}`);
      }
      for (const message of messages) {
        const run = handle(message)
          .catch((err: unknown) => log(`[${name}] host error: ${(err as Error).message}`))
          .finally(() => running.delete(run));
        running.add(run);
      }
      if (messages.length > 0) {
        idleMs = 100;
        continue;
      }
      // An empty queue is polled less and less often, up to maxPollingInterval.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idleMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      idleMs = Math.min(idleMs * 2, settings.maxPollingIntervalMs);
    }
  };
  const done = loop();
  return async () => {
    stopped = true;
    wake();
    await done.catch(() => undefined);
    await Promise.all(running);
  };
}

/**
 * The binding data the Storage Queues trigger hands a function, as the Node library shows it: the
 * message's own properties, then a JSON object's top-level properties over them. Its dictionary
 * ignores case, so a body's `id`, `ID` or `dequeueCount` replaces the message's own (the name stays
 * the trigger's); other properties are added. The library lower-cases each name's first letter.
 */
export function triggerMetadata(message: DequeuedMessageItem, text: string, payload: unknown): Record<string, unknown> {
  const data: Record<string, unknown> = {
    QueueTrigger: text,
    DequeueCount: message.dequeueCount,
    ExpirationTime: message.expiresOn?.toISOString(),
    Id: message.messageId,
    InsertionTime: message.insertedOn?.toISOString(),
    NextVisibleTime: message.nextVisibleOn?.toISOString(),
    PopReceipt: message.popReceipt,
  };
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    for (const [name, value] of Object.entries(payload)) {
      data[Object.keys(data).find((key) => key.toLowerCase() === name.toLowerCase()) ?? name] = value;
    }
  }
  return camelCase(data) as Record<string, unknown>;
}

/** As @azure/functions' toCamelCaseValue: every key's first letter lower-cased, all the way down. */
function camelCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelCase);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key.charAt(0).toLowerCase() + key.slice(1), camelCase(v)]),
  );
}
