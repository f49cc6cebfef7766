import { startAzurite } from '../dev/fakes/azurite.js';
import { startOpenAIEmulator } from '../dev/fakes/emulator/index.js';
import { startHostProcess, type HostProcess } from '../dev/fakes/host/process.js';
import { percentile, verdict } from './stats.js';

// What the usage ledger adds to the synchronous path, side by side in one run: four instances of
// the app on one Azurite and one emulator (zero latency), alike but for the ledger:
//   off       LEDGER_ENABLED=false: costs are worked out and recorded, nothing is written to a table
//   totals    the ledger on, no budget: the day's totals written while the images are kept
//   caller    a caller budget: a hold (one row) before the call, then the settlement
//   both      a caller and an app budget: a hold on two rows (one transaction), then the settlement
// A caller key authenticates every request (cached after the first). The four take turns, so that
// a noisy neighbour hurts them alike. Target: the ledger adds at most 5 ms at p50.
// BENCH_LEDGER_REQUESTS (default 300) per instance at concurrency 1; a fifth of that at 16.

const API_KEY = 'bench-ledger-key';
const ROUNDS = 6;
const BODY = JSON.stringify({
  model: 'gpt-image-1-mini',
  prompt: 'A ledger, bound in leather',
  size: '1024x1024',
  quality: 'low',
});

interface Instance {
  name: 'off' | 'totals' | 'caller' | 'both';
  host: HostProcess;
  key: string;
  latencies: Record<number, number[]>;
}

async function issueKey(host: HostProcess): Promise<string> {
  const answer = await fetch(`${host.url}/api/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (answer.status !== 201) throw new Error(`issuing a key answered ${answer.status}: ${await answer.text()}`);
  return ((await answer.json()) as { key: string }).key;
}

async function generate(instance: Instance): Promise<number> {
  const started = performance.now();
  const answer = await fetch(`${instance.host.url}/api/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': instance.key },
    body: BODY,
  });
  const text = await answer.text();
  if (answer.status !== 200)
    throw new Error(`${instance.name} answered ${answer.status}: ${text}\n${instance.host.output().slice(-2000)}`);
  return performance.now() - started;
}

async function measure(instance: Instance, total: number, concurrency: number): Promise<void> {
  let next = 0;
  const into = (instance.latencies[concurrency] ??= []);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) into.push(await generate(instance));
    }),
  );
}

export async function runLedgerBench(): Promise<void> {
  const perInstance = Number(process.env.BENCH_LEDGER_REQUESTS ?? 300);
  const levels = [
    { concurrency: 1, total: perInstance },
    { concurrency: 16, total: Math.ceil(perInstance / 5) },
  ];
  console.log(
    '\n== Usage ledger: the synchronous path with the ledger off, keeping totals, and holding budgets (Azurite, emulator at zero latency) ==',
  );
  const azurite = await startAzurite({ silent: true });
  const emulator = await startOpenAIEmulator({
    apiKeys: [API_KEY],
    deployments: { 'gpt-image-1-mini': 'gpt-image-1-mini' },
  });
  const common = {
    WEBHOOK_SIGNING_KEY: 'bench-webhook-signing-key',
    AzureWebJobsStorage: azurite.connectionString,
    AZURE_OPENAI_ENDPOINT: emulator.url,
    AZURE_OPENAI_API_KEY: API_KEY,
    AZURE_OPENAI_DEPLOYMENTS: 'gpt-image-1-mini=gpt-image-1-mini',
  };
  const settings: Record<Instance['name'], Record<string, string>> = {
    off: { LEDGER_ENABLED: 'false' },
    totals: {},
    // Budgets that every request fits in: the hold and the check run, nothing is refused.
    caller: { CALLER_DAILY_BUDGET_USD: '100000' },
    both: { CALLER_DAILY_BUDGET_USD: '100000', APP_DAILY_BUDGET_USD: '1000000' },
  };
  const instances: Instance[] = [];
  try {
    for (const name of ['off', 'totals', 'caller', 'both'] as const) {
      const host = await startHostProcess({
        ...common,
        ...settings[name],
        IMAGES_CONTAINER: `bench-ledger-${name}`,
        CALLER_KEYS_TABLE: `benchkeys${name}`,
        USAGE_TABLE: `benchusage${name}`,
      });
      instances.push({ name, host, key: await issueKey(host), latencies: {} });
    }
    // Warm each: connections, the key cache, the tables, the JIT.
    for (const instance of instances) await measure(instance, 40, 4);
    for (const instance of instances) instance.latencies = {};

    // One at a time, the three taking turns request by request; then at 16 in flight, in rounds.
    for (let i = 0; i < levels[0].total; i++)
      for (const instance of instances) (instance.latencies[1] ??= []).push(await generate(instance));
    const per = Math.ceil(levels[1].total / ROUNDS);
    for (let round = 0; round < ROUNDS; round++)
      for (const instance of instances) await measure(instance, per, levels[1].concurrency);

    const row = (cells: string[]) =>
      console.log(cells.map((c, i) => (i === 0 ? c.padEnd(10) : c.padStart(14))).join(''));
    row(['ledger', 'concurrency', 'requests', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms']);
    const verdicts: string[] = [];
    for (const { concurrency } of levels) {
      const off = instances[0].latencies[concurrency];
      for (const instance of instances) {
        const l = instance.latencies[concurrency];
        const added = (p: number) => percentile(l, p) - percentile(off, p);
        row([
          instance.name,
          String(concurrency),
          String(l.length),
          percentile(l, 50).toFixed(2),
          percentile(l, 99).toFixed(2),
          instance.name === 'off' ? '' : added(50).toFixed(2),
          instance.name === 'off' ? '' : added(99).toFixed(2),
        ]);
        if (instance.name !== 'off' && concurrency === 1)
          verdicts.push(
            `${instance.name} vs off at concurrency 1: p50 added ${added(50).toFixed(2)} ms ${verdict(added(50) <= 5)} (target ≤ 5 ms); p99 added ${added(99).toFixed(2)} ms`,
          );
      }
    }
    for (const line of verdicts) console.log(line);
  } finally {
    await Promise.all(instances.map((i) => i.host.stop()));
    await emulator.close();
    await azurite.stop();
  }
}
