import { startAzurite } from '../dev/fakes/azurite.js';
import { startOpenAIEmulator } from '../dev/fakes/emulator/index.js';
import { startHostProcess } from '../dev/fakes/host/process.js';
import { percentile, verdict } from './stats.js';

// Streaming: the time to the first partial image through the app against the emulator directly,
// side by side in one run. The emulator spreads its latency over the stream's events, as the service
// does, so the first partial image comes before the image is done. Target: the app adds at most 10 ms
// at p50. BENCH_STREAM_REQUESTS (default 120) per side, alternating in rounds, one at a time.

const API_KEY = 'bench-stream-key';
const LATENCY_MS = 600;
const ROUNDS = 4;

/** Milliseconds from sending the request to the first partial image event, and to the end. */
async function firstPartial(
  url: string,
  headers: Record<string, string>,
  body: object,
): Promise<{ first: number; total: number }> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let first = NaN;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (Number.isNaN(first)) {
      text += decoder.decode(value, { stream: true });
      if (text.includes('event: image_generation.partial_image')) first = performance.now() - started;
    }
  }
  return { first, total: performance.now() - started };
}

export async function runStreamBench(): Promise<void> {
  const total = Number(process.env.BENCH_STREAM_REQUESTS ?? 120);
  console.log(
    `\n== Streaming: time to the first partial image, app vs emulator (latency ${LATENCY_MS} ms over the events) ==`,
  );
  const azurite = await startAzurite({ silent: true });
  const emulator = await startOpenAIEmulator({ apiKeys: [API_KEY], latencyMs: LATENCY_MS });
  const host = await startHostProcess({
    AzureWebJobsStorage: azurite.connectionString,
    WEBHOOK_SIGNING_KEY: 'bench-webhook-signing-key',
    AZURE_OPENAI_ENDPOINT: emulator.url,
    AZURE_OPENAI_API_KEY: API_KEY,
    IMAGES_CONTAINER: 'bench-stream',
  });
  const body = (i: number) => ({
    prompt: `A kite, study ${i % 4}`,
    size: '1024x1024',
    quality: 'low',
    stream: true,
    partial_images: 2,
  });
  const direct = (i: number) =>
    firstPartial(
      `${emulator.url}/openai/v1/images/generations`,
      { 'api-key': API_KEY },
      { ...body(i), model: 'gpt-image-2' },
    );
  const app = (i: number) => firstPartial(`${host.url}/api/images/generations`, {}, body(i));
  try {
    for (let i = 0; i < 8; i++) await Promise.all([direct(i), app(i)]); // warm-up
    const samples = { direct: [] as number[], app: [] as number[] };
    const per = Math.ceil(total / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < per; i++) samples.direct.push((await direct(i)).first);
      for (let i = 0; i < per; i++) samples.app.push((await app(i)).first);
    }
    const row = (cells: string[]) =>
      console.log(cells.map((c, i) => (i === 0 ? c.padEnd(12) : c.padStart(14))).join(''));
    row(['path', 'requests', 'p50 ms', 'p99 ms']);
    for (const [name, values] of Object.entries(samples))
      row([name, String(values.length), percentile(values, 50).toFixed(1), percentile(values, 99).toFixed(1)]);
    const added = percentile(samples.app, 50) - percentile(samples.direct, 50);
    console.log(
      `first partial image: the app adds ${added.toFixed(1)} ms at p50 ${verdict(added <= 10)} (target ≤ 10 ms)`,
    );
  } finally {
    await host.stop();
    await emulator.close();
    await azurite.stop();
  }
}
