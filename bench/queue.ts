import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite } from '../dev/azurite.js';
import { startOpenAIEmulator } from '../dev/emulator/index.js';
import { startHostProcess } from '../dev/host/process.js';
import { QUEUES } from '../src/lib/queues.js';

// The event-driven path under a quota: with the emulator allowing R requests a minute per deployment,
// jobs go onto image-requests at ten times that rate, and the queue drains through the local host's
// queue trigger. Counted: finished, lost (target 0), generated twice (target 0), and the sustained
// rate as a share of R (target at least 95 %).
//
// BENCH_QUEUE_RPM (R, default 300) and BENCH_QUEUE_SECONDS (how long jobs are put on, default 12:
// 2R jobs, a two-minute drain; 60 is the full ten-minute run).

const API_KEY = 'bench-queue-key';

export async function runQueueBench(): Promise<void> {
  const rpm = Number(process.env.BENCH_QUEUE_RPM ?? 300);
  const seconds = Number(process.env.BENCH_QUEUE_SECONDS ?? 12);
  const total = Math.round((10 * rpm * seconds) / 60);
  console.log(`\n== Queue drain: quota R = ${rpm}/min, ${total} jobs put on at 10 R for ${seconds} s ==`);

  const azurite = await startAzurite({ silent: true });
  const emulator = await startOpenAIEmulator({ apiKeys: [API_KEY], requestsPerMinute: rpm });
  const images = `bench-images-${Date.now()}`;
  const host = await startHostProcess({
    WEBHOOK_SIGNING_KEY: 'bench-webhook-signing-key',
    AzureWebJobsStorage: azurite.connectionString,
    AZURE_OPENAI_ENDPOINT: emulator.url,
    AZURE_OPENAI_API_KEY: API_KEY,
    IMAGES_CONTAINER: images,
  });

  try {
    const service = QueueServiceClient.fromConnectionString(azurite.connectionString);
    const requests = service.getQueueClient(QUEUES.requests);
    const results = service.getQueueClient(QUEUES.results);
    await Promise.all([requests.createIfNotExists(), results.createIfNotExists()]);

    const finished = new Map<string, number>(); // id → when its result arrived
    const failed = new Set<string>();
    let duplicateResults = 0;
    const started = Date.now();

    // Producer: 10 R a minute, in ticks of 100 ms.
    const producer = (async () => {
      const perTick = (10 * rpm) / 600;
      let sent = 0;
      for (let tick = 1; sent < total; tick++) {
        const due = Math.min(total, Math.round(tick * perTick));
        const batch: Promise<unknown>[] = [];
        for (; sent < due; sent++) batch.push(requests.sendMessage(JSON.stringify({ id: `bench-${sent}`, prompt: `Queued picture ${sent % 16}` })));
        await Promise.all(batch);
        const wait = started + tick * 100 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      return Date.now();
    })();

    // Consumer: image-results until every job is back, or no progress for two minutes.
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

    // Generated twice: more than one kept record for one job.
    const perJob = new Map<string, number>();
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(images);
    for await (const blob of container.listBlobsFlat()) {
      if (!blob.name.endsWith('.json')) continue;
      const record = JSON.parse((await container.getBlobClient(blob.name).downloadToBuffer()).toString()) as { job_id: string };
      perJob.set(record.job_id, (perJob.get(record.job_id) ?? 0) + 1);
    }
    const twice = [...perJob.values()].filter((count) => count > 1).length;

    // The quota lets R through in any minute: N jobs need at least ceil(N / R) quota minutes. The
    // sustained rate is the jobs finished per quota minute the drain started, as a share of R.
    const drainSeconds = (drained - started) / 1000;
    const quotaMinutes = Math.max(1, Math.ceil(drainSeconds / 60));
    const sustained = finished.size / quotaMinutes;
    const share = sustained / rpm;
    const floorSeconds = 60 * Math.floor((total - 1) / rpm);

    const row = (label: string, value: string, verdict = '') => console.log(`${label.padEnd(34)}${value.padStart(14)}  ${verdict}`);
    row('jobs put on', String(total), `in ${((producedAt - started) / 1000).toFixed(1)} s`);
    row('finished', String(finished.size), `in ${((drained - started) / 1000).toFixed(1)} s`);
    row('failed', String(failed.size));
    row('lost', String(total - finished.size - failed.size), total - finished.size - failed.size === 0 ? 'PASS (target 0)' : 'MISS (target 0)');
    row('generated twice', String(twice), twice === 0 ? 'PASS (target 0)' : 'MISS (target 0)');
    row('duplicate result messages', String(duplicateResults));
    row('429s answered by the service', String(emulator.stats.rateLimited));
    row('drain time', `${drainSeconds.toFixed(1)} s`, `the quota allows no less than ${floorSeconds} s plus one burst`);
    row('sustained rate', `${sustained.toFixed(1)}/min`, `${(share * 100).toFixed(1)} % of R over ${quotaMinutes} quota minute(s) ${share >= 0.95 ? 'PASS' : 'MISS'} (target ≥ 95 %)`);
  } finally {
    await host.stop();
    await emulator.close();
    await azurite.stop();
  }
}
