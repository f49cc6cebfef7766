import { readFileSync } from 'node:fs';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { startAzurite } from '../dev/fakes/azurite.js';
import { devCertificate } from '../dev/fakes/certs.js';
import { startOpenAIEmulator } from '../dev/fakes/emulator/index.js';
import { startHostProcess } from '../dev/fakes/host/process.js';
import { startIdentityEndpoint } from '../dev/fakes/identity/server.js';
import { startKeyVault } from '../dev/fakes/keyvault/server.js';
import { percentile, verdict } from './stats.js';

// The synchronous path against the least any app must do, side by side in one run: the app (HTTP →
// key from the Key Vault stand-in through the managed identity stand-in → emulator → Blob, image and
// record, SAS URL) against a plain script making the same emulator call and uploading the image once.
// Realistic 1024x1024 PNGs (about 1.5 MB), the emulator at zero latency.
// The two alternate in rounds so that a noisy neighbour hurts both alike.
//
// BENCH_SYNC_C1 and BENCH_SYNC_C32: requests at concurrency 1 and 32 (default 200 and 1024).
// BENCH_SYNC_THUMBNAILS=off: the host runs without its thumbnail queue trigger (the real host's
// AzureWebJobs.makeThumbnail.Disabled setting), so no decoding shares the cores with the answers.

const API_KEY = 'bench-sync-key';
const SECRET = 'azure-openai-api-key';
const ROUNDS = 4;
// Few distinct prompts: the emulator renders each once, so neither side waits on PNG encoding.
const prompt = (i: number) => `A harbour at dawn, study ${i % 6}`;

interface Sample {
  latencies: number[];
  seconds: number;
  /** CPU time of every process in the run (bench with emulator, host, Azurite), in ms. */
  cpuMs: number;
  /** Requests that failed: counted and told, not timed (one failure does not end the run). */
  errors: string[];
}

/** User plus system CPU time of processes, from /proc, in ms. */
function cpuMs(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return sum + ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  }, 0);
}

let processes: number[] = [];

async function measure(
  call: (i: number) => Promise<void>,
  total: number,
  concurrency: number,
  offset: number,
): Promise<Sample> {
  const latencies: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const cpuBefore = cpuMs(processes);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = offset + next++;
        const t = performance.now();
        try {
          await call(i);
          latencies.push(performance.now() - t);
        } catch (err) {
          errors.push((err as Error).message.split('\n')[0]);
        }
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000, cpuMs: cpuMs(processes) - cpuBefore, errors };
}

const merge = (samples: Sample[]): Sample => ({
  latencies: samples.flatMap((s) => s.latencies),
  seconds: samples.reduce((sum, s) => sum + s.seconds, 0),
  cpuMs: samples.reduce((sum, s) => sum + s.cpuMs, 0),
  errors: samples.flatMap((s) => s.errors),
});

/** The host's peak resident set, from the kernel's high-water mark. */
function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

export async function runSyncBench(): Promise<void> {
  const levels = [
    { concurrency: 1, total: Number(process.env.BENCH_SYNC_C1 ?? 200) },
    { concurrency: 32, total: Number(process.env.BENCH_SYNC_C32 ?? 1024) },
  ];
  const thumbnails = process.env.BENCH_SYNC_THUMBNAILS !== 'off';
  console.log(
    `\n== Synchronous path: app vs direct (emulator at zero latency, 1024x1024 PNG, Azurite; thumbnails ${thumbnails ? 'made by the host' : 'off'}) ==`,
  );

  const azurite = await startAzurite({ silent: true });
  const emulator = await startOpenAIEmulator({ apiKeys: [API_KEY], realisticSize: true });
  const cert = await devCertificate();
  const identity = await startIdentityEndpoint();
  const vault = await startKeyVault({ cert: cert.cert, key: cert.key, secrets: { [SECRET]: API_KEY } });
  const host = await startHostProcess(
    {
      AzureWebJobsStorage: azurite.connectionString,
      AZURE_OPENAI_ENDPOINT: emulator.url,
      KEY_VAULT_URI: vault.url,
      KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
      KEY_VAULT_SECRET_NAME: SECRET,
      IMAGES_CONTAINER: 'bench-app',
      ...(!thumbnails && { 'AzureWebJobs.makeThumbnail.Disabled': 'true' }),
      ...identity.env,
    },
    // BENCH_PROF=<folder> writes the host's CPU profile there.
    {
      extraCaCerts: cert.certPath,
      nodeArgs: process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [],
    },
  );
  const direct: ContainerClient = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    'bench-direct',
  );
  await direct.createIfNotExists();
  processes = [process.pid, host.process.pid!, azurite.process.pid!];

  const callDirect = async (i: number) => {
    const answer = await fetch(`${emulator.url}/openai/v1/images/generations`, {
      method: 'POST',
      headers: { 'api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-image-2', prompt: prompt(i), size: '1024x1024', quality: 'low' }),
    });
    if (answer.status !== 200) throw new Error(`emulator answered ${answer.status}`);
    const { data } = (await answer.json()) as { data: { b64_json: string }[] };
    const bytes = Buffer.from(data[0].b64_json, 'base64');
    await direct
      .getBlockBlobClient(`${i}.png`)
      .uploadData(bytes, { blobHTTPHeaders: { blobContentType: 'image/png' } });
  };
  const callApp = async (i: number) => {
    const answer = await fetch(`${host.url}/api/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: prompt(i), size: '1024x1024', quality: 'low' }),
    });
    const body = await answer.text();
    if (answer.status !== 200) throw new Error(`app answered ${answer.status}: ${body}\n${host.output().slice(-2000)}`);
  };

  try {
    // Warm both, at full concurrency: connections, the key, the emulator's renders, the JIT.
    for (let round = 0; round < 2; round++) {
      await measure(callDirect, 64, 32, 1_000_000);
      await measure(callApp, 64, 32, 2_000_000);
    }

    const row = (cells: string[]) =>
      console.log(cells.map((c, i) => (i === 0 ? c.padEnd(12) : c.padStart(12))).join(''));
    row(['path', 'concurrency', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'errors']);
    const verdicts: string[] = [];
    let appRequests = 128;
    for (const { concurrency, total } of levels) {
      const per = Math.ceil(total / ROUNDS);
      const app: Sample[] = [];
      const plain: Sample[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        plain.push(await measure(callDirect, per, concurrency, round * per));
        app.push(await measure(callApp, per, concurrency, round * per));
      }
      appRequests += per * ROUNDS;
      const a = merge(app);
      const d = merge(plain);
      const rate = (s: Sample) => s.latencies.length / s.seconds;
      for (const [name, s] of [
        ['direct', d],
        ['app', a],
      ] as const) {
        row([
          name,
          String(concurrency),
          String(s.latencies.length),
          rate(s).toFixed(1),
          percentile(s.latencies, 50).toFixed(1),
          percentile(s.latencies, 99).toFixed(1),
          (s.cpuMs / s.latencies.length).toFixed(1),
          String(s.errors.length),
        ]);
        if (s.errors.length) console.log(`  first ${name} error: ${s.errors[0].slice(0, 300)}`);
      }
      const ratio = rate(a) / rate(d);
      const added = percentile(a.latencies, 50) - percentile(d.latencies, 50);
      verdicts.push(
        `c=${concurrency}: throughput app/direct ${ratio.toFixed(2)}${concurrency === 32 ? ` ${verdict(ratio >= 0.9)} (target ≥ 0.9)` : ''}; p50 added ${added.toFixed(1)} ms${concurrency === 1 ? ` ${verdict(added <= 10)} (target ≤ 10 ms)` : ''}`,
      );
    }
    for (const line of verdicts) console.log(line);
    const rss = peakRssMb(host.process.pid!);
    console.log(`host peak RSS ${rss.toFixed(0)} MB with 32 in flight ${verdict(rss <= 300)} (target ≤ 300 MB)`);
    const perThousand = (vault.reads * 1000) / appRequests;
    console.log(
      `Key Vault reads ${vault.reads} in ${appRequests} requests: ${perThousand.toFixed(2)} per 1,000 ${verdict(perThousand <= 1)} (target ≤ 1)`,
    );
  } finally {
    await host.stop();
    await Promise.all([emulator.close(), vault.close(), identity.close()]);
    await azurite.stop();
  }
}
