import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { QUEUES } from '../src/lib/jobs/queues.js';

// A queue drain, as bench/queue.ts and bench/backends.ts count it: jobs go onto image-requests at a
// steady rate (ticks of 100 ms), image-results is read until every job is back (or nothing comes
// for two minutes), and the records kept in the images container tell which job was generated twice.

export interface Drain {
  /** When each finished job's result arrived, by id. */
  finished: Map<string, number>;
  failed: Set<string>;
  /** Jobs neither finished nor failed. */
  lost: number;
  /** Result messages for a job already counted. */
  duplicateResults: number;
  /** Jobs with more than one kept record. */
  generatedTwice: number;
  producedSeconds: number;
  drainSeconds: number;
  quotaMinutes: number;
  /** Jobs finished per quota minute. */
  sustained: number;
  /** `sustained` as a share of the quota. */
  share: number;
}

export async function drainQueue(options: {
  connectionString: string;
  container: string;
  total: number;
  perMinute: number;
  quotaPerMinute: number;
  idPrefix: string;
}): Promise<Drain> {
  const { connectionString, total, perMinute, quotaPerMinute, idPrefix } = options;
  const service = QueueServiceClient.fromConnectionString(connectionString);
  const requests = service.getQueueClient(QUEUES.requests);
  const results = service.getQueueClient(QUEUES.results);
  await Promise.all([requests.createIfNotExists(), results.createIfNotExists()]);

  const finished = new Map<string, number>();
  const failed = new Set<string>();
  let duplicateResults = 0;
  const started = Date.now();

  const producer = (async () => {
    const perTick = perMinute / 600;
    let sent = 0;
    for (let tick = 1; sent < total; tick++) {
      const due = Math.min(total, Math.round(tick * perTick));
      const batch: Promise<unknown>[] = [];
      for (; sent < due; sent++)
        batch.push(
          requests.sendMessage(JSON.stringify({ id: `${idPrefix}-${sent}`, prompt: `Queued picture ${sent % 16}` })),
        );
      await Promise.all(batch);
      const wait = started + tick * 100 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return Date.now();
  })();

  let lastProgress = Date.now();
  while (finished.size + failed.size < total && Date.now() - lastProgress < 120_000) {
    const { receivedMessageItems } = await results.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) await new Promise((r) => setTimeout(r, 200));
    await Promise.all(
      receivedMessageItems.map(async (m) => {
        const result = JSON.parse(m.messageText) as { id: string; status: string };
        if (finished.has(result.id) || failed.has(result.id)) duplicateResults++;
        else if (result.status === 'succeeded') finished.set(result.id, Date.now());
        else failed.add(result.id);
        lastProgress = Date.now();
        await results.deleteMessage(m.messageId, m.popReceipt);
      }),
    );
  }
  const producedAt = await producer;
  const drained = Math.max(...finished.values());

  const perJob = new Map<string, number>();
  const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(options.container);
  for await (const blob of container.listBlobsFlat()) {
    if (!blob.name.endsWith('.json')) continue;
    const record = JSON.parse((await container.getBlobClient(blob.name).downloadToBuffer()).toString()) as {
      job_id: string;
    };
    perJob.set(record.job_id, (perJob.get(record.job_id) ?? 0) + 1);
  }

  // The quota lets its rate through in any minute: N jobs need at least ceil(N / quota) quota
  // minutes. The sustained rate is the jobs finished per quota minute the drain started.
  const drainSeconds = (drained - started) / 1000;
  const quotaMinutes = Math.max(1, Math.ceil(drainSeconds / 60));
  const sustained = finished.size / quotaMinutes;
  return {
    finished,
    failed,
    lost: total - finished.size - failed.size,
    duplicateResults,
    generatedTwice: [...perJob.values()].filter((count) => count > 1).length,
    producedSeconds: (producedAt - started) / 1000,
    drainSeconds,
    quotaMinutes,
    sustained,
    share: sustained / quotaPerMinute,
  };
}
