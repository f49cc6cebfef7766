import { startAzurite } from '../dev/fakes/azurite.js';
import { startOpenAIEmulator } from '../dev/fakes/emulator/index.js';
import { startHostProcess } from '../dev/fakes/host/process.js';
import { drainQueue } from './drain.js';
import { verdict } from './stats.js';

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
    const d = await drainQueue({
      connectionString: azurite.connectionString,
      container: images,
      total,
      perMinute: 10 * rpm,
      quotaPerMinute: rpm,
      idPrefix: 'bench',
    });
    const floorSeconds = 60 * Math.floor((total - 1) / rpm);

    const row = (label: string, value: string, note = '') =>
      console.log(`${label.padEnd(34)}${value.padStart(14)}  ${note}`);
    row('jobs put on', String(total), `in ${d.producedSeconds.toFixed(1)} s`);
    row('finished', String(d.finished.size), `in ${d.drainSeconds.toFixed(1)} s`);
    row('failed', String(d.failed.size));
    row('lost', String(d.lost), `${verdict(d.lost === 0)} (target 0)`);
    row('generated twice', String(d.generatedTwice), `${verdict(d.generatedTwice === 0)} (target 0)`);
    row('duplicate result messages', String(d.duplicateResults));
    row('429s answered by the service', String(emulator.stats.rateLimited));
    row(
      'drain time',
      `${d.drainSeconds.toFixed(1)} s`,
      `the quota allows no less than ${floorSeconds} s plus one burst`,
    );
    row(
      'sustained rate',
      `${d.sustained.toFixed(1)}/min`,
      `${(d.share * 100).toFixed(1)} % of R over ${d.quotaMinutes} quota minute(s) ${verdict(d.share >= 0.95)} (target ≥ 95 %)`,
    );
  } finally {
    await host.stop();
    await emulator.close();
    await azurite.stop();
  }
}
