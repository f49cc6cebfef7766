import { startAzurite } from '../dev/fakes/azurite.js';
import { startOpenAIEmulator } from '../dev/fakes/emulator/index.js';
import { startHostProcess } from '../dev/fakes/host/process.js';
import { verdict } from './stats.js';

// Memory under load: the host's RSS and live heap (after a collection) at baseline, right after
// BENCH_MEMORY_REQUESTS (default 10,000) synchronous requests at concurrency 32, and 10 s after the
// load ends. Every request's 220 s deadline used to hold memory until it fired; now the figures
// return to the baseline within seconds.

const API_KEY = 'bench-memory-key';

export async function runMemoryBench(): Promise<void> {
  const total = Number(process.env.BENCH_MEMORY_REQUESTS ?? 10_000);
  console.log(`\n== Memory: the host before, right after and 10 s after ${total} requests at concurrency 32 ==`);
  const azurite = await startAzurite({ silent: true });
  const emulator = await startOpenAIEmulator({ apiKeys: [API_KEY] });
  const host = await startHostProcess(
    {
      AzureWebJobsStorage: azurite.connectionString,
      WEBHOOK_SIGNING_KEY: 'bench-webhook-signing-key',
      AZURE_OPENAI_ENDPOINT: emulator.url,
      AZURE_OPENAI_API_KEY: API_KEY,
      IMAGES_CONTAINER: 'bench-memory',
      LOCAL_HOST_DIAGNOSTICS: 'true',
    },
    { nodeArgs: ['--expose-gc'] },
  );
  const sample = async () =>
    (await (await fetch(`${host.url}/admin/host/memory`)).json()) as { rssMb: number; heapUsedMb: number };
  const call = async (i: number) => {
    const answer = await fetch(`${host.url}/api/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: `A lantern, study ${i % 8}`, size: '1024x1024', quality: 'low' }),
    });
    await answer.arrayBuffer();
    if (answer.status !== 200) throw new Error(`app answered ${answer.status}`);
  };
  try {
    for (let i = 0; i < 64; i++) await call(i); // warm-up: the JIT, connections, the container
    const baseline = await sample();
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < total) await call(next++);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = await sample();
    await new Promise((r) => setTimeout(r, 10_000));
    const later = await sample();
    const row = (cells: string[]) =>
      console.log(cells.map((c, i) => (i === 0 ? c.padEnd(28) : c.padStart(14))).join(''));
    row(['', 'RSS MB', 'live heap MB']);
    for (const [name, m] of [
      ['baseline', baseline],
      [`after ${total} (${(total / seconds).toFixed(0)} req/s)`, after],
      ['10 s after the load', later],
    ] as const) {
      row([name, m.rssMb.toFixed(1), m.heapUsedMb.toFixed(1)]);
    }
    const heapBack = later.heapUsedMb - baseline.heapUsedMb;
    console.log(
      `live heap 10 s after the load: ${heapBack >= 0 ? '+' : ''}${heapBack.toFixed(1)} MB over baseline ${verdict(heapBack <= 10)} (target: back within 10 MB)`,
    );
    const warned = host.output().includes('MaxListenersExceededWarning');
    console.log(`listener warnings in the host's log: ${warned ? 'some' : 'none'} ${verdict(!warned)}`);
  } finally {
    await host.stop();
    await emulator.close();
    await azurite.stop();
  }
}
