import { startAzurite, type Azurite } from '../dev/fakes/azurite.js';
import { startOpenAIEmulator, type OpenAIEmulator } from '../dev/fakes/emulator/index.js';
import { startHostProcess, type HostProcess } from '../dev/fakes/host/process.js';
import { drainQueue } from './drain.js';
import { percentile, verdict } from './stats.js';

// Three emulated Azure OpenAI accounts behind one app (AZURE_OPENAI_BACKENDS), four measurements in
// one run, side by side:
//   1. the queue path at ten times the total quota (3R): sustained rate ≥ 95 % of 3R, 0 lost, 0 generated twice;
//   2. one account stopped in the middle of a synchronous run: no caller sees an error while the others have quota;
//   3. a request that needed a failover (a 429, then the next backend) against one that did not: p50 added ≤ 20 ms;
//   4. one account at priority 1: the share of the traffic it takes until it is throttled (target 100 %).
// Each measurement gets hosts and a state table of its own, so no mark carries over.
//
// BENCH_BACKENDS_RPM (R, each account's quota a minute, default 100), BENCH_BACKENDS_SECONDS (how long
// jobs go onto the queue at 10 × 3R, default 12: a two-minute drain).

const API_KEY = 'bench-backends-key';
const ACCOUNTS = ['sweden', 'east', 'west'];

interface Lab {
  azurite: Azurite;
  accounts: OpenAIEmulator[];
}

/** A host whose backends are the accounts, with these priorities; a state table and an images container of its own. */
async function startApp(
  lab: Lab,
  run: string,
  priorities: number[],
  only?: number[],
): Promise<{ host: HostProcess; images: string }> {
  const members = (only ?? priorities.map((_, i) => i)).map((i) => ({
    name: ACCOUNTS[i],
    endpoint: lab.accounts[i].url,
    deployment: 'gpt-image-2',
    model: 'gpt-image-2',
    region: `region-${ACCOUNTS[i]}`,
    priority: priorities[i],
  }));
  const images = `bench-${run}-${Date.now()}`;
  const host = await startHostProcess({
    WEBHOOK_SIGNING_KEY: 'bench-webhook-signing-key',
    AzureWebJobsStorage: lab.azurite.connectionString,
    AZURE_OPENAI_BACKENDS: JSON.stringify(members),
    AZURE_OPENAI_API_KEY: API_KEY,
    BACKEND_STATE_TABLE: `bench${run}${Date.now()}`,
    IMAGES_CONTAINER: images,
  });
  return { host, images };
}

async function generate(
  host: HostProcess,
  prompt: string,
): Promise<{ status: number; backend: string | null; ms: number }> {
  const started = performance.now();
  const answer = await fetch(`${host.url}/api/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, size: '1024x1024', quality: 'low' }),
  });
  await answer.arrayBuffer();
  return { status: answer.status, backend: answer.headers.get('x-served-backend'), ms: performance.now() - started };
}

/** Sets every account up for the next measurement, its counters from zero. */
function configureAll(lab: Lab, changes: Parameters<OpenAIEmulator['configure']>[0]): void {
  for (const account of lab.accounts) {
    account.configure(changes);
    account.resetStats();
  }
}

/** A measurement with its target and verdict, or a line of detail under it (no target: the note in the last column). */
type Row = [measurement: string, figure: string, target: string, verdictOrNote: string];

/** 1. Jobs onto image-requests at 10 × 3R; counted off image-results and the kept records. */
async function queuePath(lab: Lab, rpm: number, seconds: number): Promise<Row[]> {
  configureAll(lab, { requestsPerMinute: rpm, retryAfterSeconds: undefined, latencyMs: 0 });
  const { host, images } = await startApp(lab, 'queue', [1, 1, 1]);
  const quota = 3 * rpm;
  const total = Math.round((10 * quota * seconds) / 60);
  try {
    const d = await drainQueue({
      connectionString: lab.azurite.connectionString,
      container: images,
      total,
      perMinute: 10 * quota,
      quotaPerMinute: quota,
      idPrefix: `backends-${Date.now()}`,
    });
    const byAccount = lab.accounts.map((a, i) => `${ACCOUNTS[i]} ${a.stats.generations}`).join(', ');
    return [
      [
        '1. queue at 10 × 3R: sustained rate',
        `${(d.share * 100).toFixed(1)} % of 3R`,
        '≥ 95 %',
        verdict(d.share >= 0.95),
      ],
      [
        '   jobs, finished, failed',
        `${total}, ${d.finished.size}, ${d.failed.size}`,
        '',
        `drained in ${d.drainSeconds.toFixed(1)} s; generated: ${byAccount}`,
      ],
      ['   lost', String(d.lost), '0', verdict(d.lost === 0)],
      ['   generated twice', String(d.generatedTwice), '0', verdict(d.generatedTwice === 0)],
    ];
  } finally {
    await host.stop();
  }
}

/**
 * 2. A steady synchronous load (8 at a time) over three accounts of equal priority; one is stopped a
 * third of the way in. A request that was at that account when it went away may have been made and
 * billed: it is not sent elsewhere, and it is counted apart. The target is for every request after.
 */
async function accountStopped(lab: Lab): Promise<Row[]> {
  configureAll(lab, { requestsPerMinute: undefined, latencyMs: 20 });
  const { host } = await startApp(lab, 'outage', [1, 1, 1]);
  const total = 600;
  const answers: { status: number; backend: string | null; started: number; ended: number }[] = [];
  let next = 0;
  let stopping = Infinity;
  let stopped = Infinity;
  try {
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          const i = next++;
          if (i === total / 3) {
            stopping = performance.now();
            await lab.accounts[0].stop();
            stopped = performance.now();
          }
          const started = performance.now();
          const answer = await generate(host, `Outage ${i % 8}`);
          answers.push({ ...answer, started, ended: performance.now() });
        }
      }),
    );
  } finally {
    await host.stop();
    await lab.accounts[0].start();
  }
  const after = answers.filter((a) => a.started >= stopped);
  const inFlight = answers.filter((a) => a.started < stopping && a.ended > stopping);
  const errors = after.filter((a) => a.status !== 200).length;
  const statuses = (list: typeof answers) =>
    [...new Set(list.map((a) => a.status))].map((s) => `${s}×${list.filter((a) => a.status === s).length}`).join(' ');
  return [
    ['2. one account stopped mid-run: errors after', `${errors} of ${after.length}`, '0', verdict(errors === 0)],
    [
      '   requests after the stop, by backend',
      ACCOUNTS.map((n) => `${n} ${after.filter((a) => a.backend === n).length}`).join(', '),
      '',
      `statuses ${statuses(after)}`,
    ],
    [
      '   in flight at the stop',
      String(inFlight.length),
      '',
      `statuses ${statuses(inFlight)}: one at the stopped account may have been billed, so it is not resent`,
    ],
  ];
}

/** 3. The same request through a pool whose first choice answers 429 every time, and through one without it. */
async function failoverLatency(lab: Lab): Promise<Row[]> {
  configureAll(lab, { requestsPerMinute: undefined, latencyMs: 0 });
  // Sweden answers every request with a 429 that asks for no wait: each request meets it, then goes on.
  // (A quota of 1 a minute did the same until the run took longer than a minute on a busy machine.)
  lab.accounts[0].configure({
    failureRate: 1,
    failureStatuses: [429],
    retryAfterSeconds: 0,
    throttleHeaders: ['retry-after-ms'],
  });
  const { host: withFailover } = await startApp(lab, 'failover', [1, 2, 2], [0, 1]);
  const { host: direct } = await startApp(lab, 'direct', [1, 2, 2], [1]);
  const rounds = 4;
  const per = 50;
  const samples = { failover: [] as number[], direct: [] as number[], paired: [] as number[] };
  let failovers: number;
  try {
    for (const host of [withFailover, direct]) for (let i = 0; i < 20; i++) await generate(host, `Warm ${i % 4}`);
    const before = lab.accounts[0].stats.failed;
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < per; i++) {
        const a = await generate(direct, `Latency ${i % 4}`);
        const b = await generate(withFailover, `Latency ${i % 4}`);
        if (a.status !== 200 || b.status !== 200 || b.backend !== 'east')
          throw new Error(`unexpected answers ${a.status} ${b.status} ${b.backend}`);
        samples.direct.push(a.ms);
        samples.failover.push(b.ms);
        samples.paired.push(b.ms - a.ms);
      }
    }
    failovers = lab.accounts[0].stats.failed - before;
  } finally {
    await Promise.all([withFailover.stop(), direct.stop()]);
    lab.accounts[0].configure({
      failureRate: 0,
      failureStatuses: [500, 503],
      retryAfterSeconds: undefined,
      throttleHeaders: ['retry-after', 'retry-after-ms'],
    });
  }
  const p50 = { failover: percentile(samples.failover, 50), direct: percentile(samples.direct, 50) };
  const added = p50.failover - p50.direct;
  // Each pair ran back to back, so its difference is freer of the machine's drift than two p50s are.
  const paired = [25, 50, 75].map((p) => percentile(samples.paired, p).toFixed(1));
  return [
    ['3. failover: p50 added', `${added.toFixed(1)} ms`, '≤ 20 ms', verdict(added <= 20)],
    [
      '   p50 without / with a failover',
      `${p50.direct.toFixed(1)} / ${p50.failover.toFixed(1)} ms`,
      '',
      `${samples.failover.length} requests each, alternating; 429s met on the way: ${failovers}`,
    ],
    [
      '   added, pair by pair: p25 / p50 / p75',
      `${paired.join(' / ')} ms`,
      '',
      'each failover request minus the direct one just before it',
    ],
  ];
}

/** 4. Sweden at priority 1, the others at 2: the share it takes until its first 429, then where the rest went. */
async function priorityShare(lab: Lab, rpm: number): Promise<Row[]> {
  configureAll(lab, { requestsPerMinute: rpm, retryAfterSeconds: undefined, latencyMs: 0 });
  const { host } = await startApp(lab, 'priority', [1, 2, 2]);
  const served: (string | null)[] = [];
  try {
    for (let i = 0; i < 2 * rpm; i++) served.push((await generate(host, `Priority ${i % 4}`)).backend);
  } finally {
    await host.stop();
  }
  const firstElsewhere = served.findIndex((b) => b !== ACCOUNTS[0]);
  const before = firstElsewhere < 0 ? served : served.slice(0, firstElsewhere);
  const share = before.filter((b) => b === ACCOUNTS[0]).length / Math.max(1, before.length);
  const counts = ACCOUNTS.map((name) => `${name} ${served.filter((b) => b === name).length}`).join(', ');
  return [
    [
      '4. priority 1 until throttled: its share',
      `${(share * 100).toFixed(1)} %`,
      '100 %',
      verdict(share === 1 && before.length === rpm),
    ],
    ['   all requests', `${served.length}`, '', `${counts} (quota ${rpm} each)`],
  ];
}

export async function runBackendsBench(): Promise<void> {
  const rpm = Number(process.env.BENCH_BACKENDS_RPM ?? 100);
  const seconds = Number(process.env.BENCH_BACKENDS_SECONDS ?? 12);
  console.log(`\n== Several backends: three emulated accounts, quota R = ${rpm}/min each ==`);
  const azurite = await startAzurite({ silent: true });
  const accounts = await Promise.all(
    ACCOUNTS.map(() => startOpenAIEmulator({ apiKeys: [API_KEY], deployments: { 'gpt-image-2': 'gpt-image-2' } })),
  );
  const lab = { azurite, accounts };
  try {
    const rows: Row[] = [
      ...(await queuePath(lab, rpm, seconds)),
      ...(await accountStopped(lab)),
      ...(await failoverLatency(lab)),
      ...(await priorityShare(lab, rpm)),
    ];
    const widths = [48, 22, 12];
    console.log(['measurement', 'figure', 'target'].map((h, i) => h.padEnd(widths[i])).join('') + 'verdict');
    for (const [measurement, figure, target, result] of rows)
      console.log(`${measurement.padEnd(widths[0])}${figure.padEnd(widths[1])}${target.padEnd(widths[2])}${result}`);
  } finally {
    await Promise.all(accounts.map((a) => a.close()));
    await azurite.stop();
  }
}
