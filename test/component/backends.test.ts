import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startOpenAIEmulator, type OpenAIEmulator, type ThrottleHeader } from '../../dev/fakes/emulator/index.js';
import { errorAnswer } from '../../src/lib/core/errorAnswer.js';
import { BackendState } from '../../src/lib/generation/poolState.js';
import { BackendPool, createBackendPool } from '../../src/lib/generation/pool.js';
import { ServiceThrottledError, ServiceTimeoutError } from '../../src/lib/core/errors.js';
import { StaticApiKey } from '../../src/lib/generation/apiKeys.js';
import type { Generation, ImageGenerator } from '../../src/lib/generation/generator.js';
import { loadSettings } from '../../src/lib/platform/settings.js';
import { createStorageClients } from '../../src/lib/platform/storage.js';
import { ImageStore } from '../../src/lib/images/store.js';
import { JobStore } from '../../src/lib/jobs/jobStore.js';
import { ImagePipeline } from '../../src/lib/images/pipeline.js';
import { ImageQueues } from '../../src/lib/jobs/queues.js';
import { Webhooks } from '../../src/lib/jobs/webhooks.js';
import { JobWorker } from '../../src/lib/jobs/worker.js';
import { uniqueName } from '../support/stack.js';
import { untilHolds } from '../support/until.js';

// The pool of backends in-process, against real emulated accounts and the shared state in Azurite:
// priority and weights, each Retry-After form and its cap, the circuit and its one trial request,
// what is sent elsewhere and what never is.

const KEY = 'backends-test-key';
const SIGNING_KEY = 'a-signing-key-for-tests';
const target = {
  deployment: 'gpt-image-2',
  params: { prompt: 'A lighthouse', n: 1, size: '1024x1024', quality: 'low' },
};
const noCredential = () => {
  throw new Error('no credential in this test');
};

let accounts: OpenAIEmulator[] = [];
beforeAll(async () => {
  accounts = await Promise.all(
    ['a', 'b', 'c'].map(() => startOpenAIEmulator({ apiKeys: [KEY], deployments: { 'gpt-image-2': 'gpt-image-2' } })),
  );
});
afterAll(async () => {
  await Promise.all(accounts.map((a) => a.close()));
});
afterEach(async () => {
  for (const account of accounts) {
    if (!account.listening) await account.start();
    account.configure({
      requestsPerMinute: undefined,
      retryAfterSeconds: undefined,
      throttleHeaders: ['retry-after', 'retry-after-ms'],
      failureRate: 0,
      latencyMs: 0,
    });
  }
});

const [A, B, C] = [0, 1, 2];
const backend = (index: number, more: Record<string, unknown> = {}) => ({
  name: `acct-${'abc'[index]}`,
  endpoint: accounts[index].url,
  deployment: 'gpt-image-2',
  model: 'gpt-image-2',
  region: `region-${'abc'[index]}`,
  ...more,
});

/** A pool as the runtime builds one, with a state table of its own; `connection` another storage. */
function pool(
  backends: object[],
  settings: Record<string, string> = {},
  connection = inject('azurite').connectionString,
) {
  const loaded = loadSettings({
    AZURE_OPENAI_BACKENDS: JSON.stringify(backends),
    AZURE_OPENAI_API_KEY: KEY,
    WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    AzureWebJobsStorage: connection,
    BACKEND_STATE_TABLE: uniqueName('state').replaceAll('-', ''),
    AZURE_OPENAI_TIMEOUT_SECONDS: '5',
    AZURE_OPENAI_MAX_RETRIES: '0',
    ...settings,
  });
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  const state = new BackendState(createStorageClients(loaded, noCredential).table(loaded.BACKEND_STATE_TABLE), { log });
  return {
    pool: createBackendPool(loaded, { state, keys: () => new StaticApiKey(KEY), credential: noCredential, log }),
    logs,
  };
}

const served = (generation: Generation) => generation.backend?.name;
const requests = () => accounts.map((a) => a.stats.requests);
const healthOf = async (p: BackendPool, name: string) => (await p.health()).find((h) => h.name === name)!;

describe('choosing a backend', () => {
  it('sends everything to priority 1 until it is throttled, then spills over to priority 2 at once', async () => {
    accounts[A].configure({ requestsPerMinute: 2 });
    const { pool: p } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })]);
    const before = requests();
    const first = [await p.generate(target, {}), await p.generate(target, {})];
    expect(first.map(served)).toEqual(['acct-a', 'acct-a']);
    const spilled = await p.generate(target, {});
    expect(served(spilled)).toBe('acct-b');
    expect(spilled.backend).toEqual({ name: 'acct-b', region: 'region-b' });
    expect(spilled.attempts).toMatchObject([
      { backend: 'acct-a', outcome: 'throttled', status: 429 },
      { backend: 'acct-b', outcome: 'ok' },
    ]);
    // Throttled: not asked again while its Retry-After runs.
    expect(served(await p.generate(target, {}))).toBe('acct-b');
    expect(requests()[A] - before[A]).toBe(3);
    expect(accounts[A].stats.rateLimited).toBe(1);
  });

  it('spreads a priority by weight (chi-square over 3000 picks, fixed seed), and never uses a higher priority while one is available', async () => {
    const weights = { light: 1, middle: 3, heavy: 6 };
    const picks = new Map<string, number>();
    const stub = (name: string): ImageGenerator => ({
      generate: async () => {
        picks.set(name, (picks.get(name) ?? 0) + 1);
        return { created: 0, images: [], output: {}, extra: {} };
      },
      stream: async () => {
        throw new Error('not streamed here');
      },
    });
    const settings = (name: string, priority: number, weight: number) => ({
      name,
      endpoint: 'http://127.0.0.1:1',
      deployment: 'd',
      model: 'gpt-image-2' as const,
      region: 'r',
      priority,
      weight,
      auth: 'entra' as const,
    });
    const table = createStorageClients(
      loadSettings({
        AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:1',
        AZURE_OPENAI_API_KEY: KEY,
        WEBHOOK_SIGNING_KEY: SIGNING_KEY,
        AzureWebJobsStorage: inject('azurite').connectionString,
      }),
      noCredential,
    ).table(uniqueName('weights').replaceAll('-', ''));
    const p = new BackendPool({
      backends: [
        ...Object.entries(weights).map(([name, weight]) => settings(name, 1, weight)),
        settings('spare', 2, 1000),
      ].map((s) => ({ settings: s, service: stub(s.name) })),
      deployments: new Map([['gpt-image-2', 'gpt-image-2']]),
      state: new BackendState(table),
      maxThrottleMs: 60_000,
      circuit: { failures: 5, windowMs: 60_000, openMs: 30_000 },
      callTimeoutMs: 5_000,
      maxRetries: 0,
      random: mulberry32(20261126),
    });
    const total = 3000;
    for (let i = 0; i < total; i++) await p.generate(target, {});
    expect(picks.get('spare')).toBeUndefined();
    const sum = Object.values(weights).reduce((a, b) => a + b, 0);
    const chiSquare = Object.entries(weights).reduce((x, [name, weight]) => {
      const expected = (total * weight) / sum;
      return x + ((picks.get(name) ?? 0) - expected) ** 2 / expected;
    }, 0);
    // 2 degrees of freedom: 13.82 is the 0.1 % critical value. Equal shares would score over 900.
    expect(chiSquare).toBeLessThan(13.82);
  });
});

describe('Retry-After', () => {
  const FORMS: [string, ThrottleHeader[], number][] = [
    ['Retry-After in seconds', ['retry-after'], 7_000],
    ['Retry-After as an HTTP date', ['retry-after-date'], 7_000],
    ['retry-after-ms', ['retry-after-ms'], 7_000],
    ['x-ms-retry-after-ms', ['x-ms-retry-after-ms'], 7_000],
    ['x-ratelimit-reset-requests', ['x-ratelimit-reset-requests'], 7_000],
    ['nothing (10 s)', [], 10_000],
  ];

  it.each(FORMS)('marks the backend throttled for as long as %s says', async (_, throttleHeaders, expectedMs) => {
    accounts[A].configure({ requestsPerMinute: 1, retryAfterSeconds: 7, throttleHeaders });
    const { pool: p } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })]);
    await p.generate(target, {});
    const before = Date.now();
    expect(served(await p.generate(target, {}))).toBe('acct-b');
    const until = Date.parse((await healthOf(p, 'acct-a')).throttled_until!);
    // An HTTP date has whole seconds, rounded up by the service.
    expect(until - before).toBeGreaterThanOrEqual(expectedMs - 100);
    expect(until - before).toBeLessThanOrEqual(expectedMs + (throttleHeaders[0] === 'retry-after-date' ? 1_100 : 200));
  });

  it('honours no more than AZURE_OPENAI_MAX_RETRY_AFTER_SECONDS (Azure has sent a day), and answers the soonest when every backend is throttled', async () => {
    for (const account of [accounts[A], accounts[B]])
      account.configure({ requestsPerMinute: 1, retryAfterSeconds: 86_400 });
    const { pool: p } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })], {
      AZURE_OPENAI_MAX_RETRY_AFTER_SECONDS: '30',
    });
    await p.generate(target, {});
    await p.generate(target, {});
    const before = Date.now();
    const error = await p.generate(target, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceThrottledError);
    expect((error as ServiceThrottledError).retryAfterMs).toBeGreaterThan(29_000);
    expect((error as ServiceThrottledError).retryAfterMs).toBeLessThanOrEqual(30_000);
    const until = Date.parse((await healthOf(p, 'acct-a')).throttled_until!);
    expect(until - before).toBeLessThanOrEqual(30_000);
    // Computed here: the accounts were not asked again.
    const asked = requests();
    await expect(p.generate(target, {})).rejects.toBeInstanceOf(ServiceThrottledError);
    expect(requests()).toEqual(asked);
  });
});

describe('the circuit', () => {
  // On a clock the test moves: Date alone is faked, and still runs on its own, so that timers,
  // sockets and Azurite go on as ever while the circuit's second passes at once.
  afterEach(() => void vi.useRealTimers());
  const passes = (ms: number) => vi.setSystemTime(Date.now() + ms);

  it('opens after repeated 5xx (each sent on at once), then lets exactly one trial request decide', async () => {
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    accounts[A].configure({ failureRate: 1, failureStatuses: [500] });
    const { pool: p, logs } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })], {
      AZURE_OPENAI_CIRCUIT_FAILURES: '3',
      AZURE_OPENAI_CIRCUIT_WINDOW_SECONDS: '60',
      AZURE_OPENAI_CIRCUIT_OPEN_SECONDS: '1',
    });
    for (let i = 0; i < 3; i++) {
      const generation = await p.generate(target, {});
      expect(generation.attempts).toMatchObject([
        { backend: 'acct-a', outcome: 'failed', status: 500 },
        { backend: 'acct-b', outcome: 'ok' },
      ]);
    }
    expect(await healthOf(p, 'acct-a')).toMatchObject({
      circuit: 'open',
      available: false,
      last_5_minutes: { requests: 3, failures: 3 },
    });
    const asked = requests();
    expect(served(await p.generate(target, {}))).toBe('acct-b');
    expect(requests()[A]).toBe(asked[A]);

    // Half-open: of five requests at once, one is the trial. It fails, and the circuit opens again.
    passes(1_100);
    const trial = await Promise.all(Array.from({ length: 5 }, () => p.generate(target, {})));
    expect(trial.map(served)).toEqual(Array(5).fill('acct-b'));
    expect(requests()[A] - asked[A]).toBe(1);
    expect((await healthOf(p, 'acct-a')).circuit).toBe('open');

    // Healthy again: the next trial succeeds and closes the circuit; priority 1 takes the traffic back.
    accounts[A].configure({ failureRate: 0 });
    passes(1_100);
    expect((await healthOf(p, 'acct-a')).circuit).toBe('half-open');
    const again = await Promise.all(Array.from({ length: 3 }, () => p.generate(target, {})));
    expect(again.map(served).filter((name) => name === 'acct-a')).toHaveLength(1);
    // The trial's success closes the circuit a moment after it answers, and says so once the shared mark is written.
    await untilHolds(async () => (await healthOf(p, 'acct-a')).circuit === 'closed');
    await untilHolds(async () => logs.some((line) => line.includes('acct-a (region-a): circuit closed')));
    expect(await healthOf(p, 'acct-a')).toMatchObject({ circuit: 'closed', available: true });
    expect(served(await p.generate(target, {}))).toBe('acct-a');
    expect(logs.join('\n')).toMatch(
      /acct-a \(region-a\): circuit open for 1 s after 3 failures[\s\S]*trial request failed[\s\S]*circuit closed/,
    );
  });
});

describe('sending elsewhere, and never paying twice', () => {
  it('sends a request whose connection was refused to the next backend at once', async () => {
    await accounts[A].stop();
    const { pool: p } = pool(
      [backend(A, { priority: 1 }), backend(B, { priority: 1 })],
      {},
      inject('azurite').connectionString,
    );
    const started = Date.now();
    for (let i = 0; i < 4; i++) expect(served(await p.generate(target, {}))).toBe('acct-b');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await healthOf(p, 'acct-b')).last_5_minutes.requests).toBe(4);
  });

  it('answers 429 with the soonest Retry-After, not a bare 502, when the last available backend refuses and the rest are throttled', async () => {
    accounts[A].configure({ requestsPerMinute: 1, retryAfterSeconds: 20 });
    const { pool: p } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })]);
    expect(served(await p.generate(target, {}))).toBe('acct-a');
    await accounts[B].stop();
    const before = Date.now();
    // First acct-a's 429 then acct-b refused, then acct-a known throttled and acct-b refused.
    for (let i = 0; i < 2; i++) {
      const error = await p.generate(target, {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceThrottledError);
      expect((error as ServiceThrottledError).retryAfterMs).toBeGreaterThan(15_000);
      expect((error as ServiceThrottledError).retryAfterMs).toBeLessThanOrEqual(20_000 - (Date.now() - before) + 200);
      expect(errorAnswer(error)).toMatchObject({ status: 429, retryAfterSeconds: expect.any(Number) });
    }
  });

  it('answers 502 for a connection the account drops mid-request, and sends it nowhere else: it may have been billed', async () => {
    accounts[A].configure({ latencyMs: 1_500 });
    const { pool: p } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })]);
    const before = { a: accounts[A].stats.requests, b: accounts[B].stats.requests };
    const billed = accounts[A].stats.generations;
    const pending = p.generate(target, {}).catch((e: unknown) => e);
    // Dropped once the account has it (and has started, and billed).
    await untilHolds(() => accounts[A].stats.generations - billed === 1);
    await accounts[A].stop();
    const error = await pending;
    expect(error).toMatchObject({ code: 'UpstreamUnreachable', mayHaveGenerated: true });
    expect(errorAnswer(error)).toMatchObject({
      status: 502,
      body: { error: { message: expect.stringMatching(/may have been made and billed/) } },
    });
    expect(accounts[A].stats.requests - before.a).toBe(1);
    expect(accounts[B].stats.requests).toBe(before.b);
  });

  it('never sends a timed-out request elsewhere: it may have been made and billed', async () => {
    accounts[A].configure({ latencyMs: 1_500 });
    const { pool: p } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })], {
      AZURE_OPENAI_TIMEOUT_SECONDS: '1',
    });
    const before = { a: accounts[A].stats.generations, b: accounts[B].stats.requests };
    const error = await p.generate(target, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceTimeoutError);
    expect(accounts[B].stats.requests).toBe(before.b);
    // The first account went on and billed it: exactly why it went nowhere else.
    await untilHolds(() => accounts[A].stats.generations - before.a >= 1);
    expect(accounts[A].stats.generations - before.a).toBe(1);
    expect((await healthOf(p, 'acct-a')).last_5_minutes.failures).toBe(1);
  });

  it("on the queue path, leaves a timed-out job to the host's own bounded attempts: nothing sent elsewhere", async () => {
    accounts[A].configure({ latencyMs: 1_500 });
    const { pool: p } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })], {
      AZURE_OPENAI_TIMEOUT_SECONDS: '1',
    });
    const connection = inject('azurite').connectionString;
    const settings = loadSettings({
      AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:1',
      AZURE_OPENAI_API_KEY: KEY,
      WEBHOOK_SIGNING_KEY: SIGNING_KEY,
      AzureWebJobsStorage: connection,
    });
    const storage = createStorageClients(settings, noCredential);
    const pipeline = new ImagePipeline({
      deployments: settings,
      apiVersion: 'v1',
      generator: p,
      store: new ImageStore(storage.blobs, { container: uniqueName('images'), urlTtlMinutes: 60 }),
    });
    const jobs = new JobStore(storage.blobs.getContainerClient(uniqueName('jobs')));
    const webhooks = new Webhooks(storage.table(uniqueName('hooks').replaceAll('-', '')), {
      policy: 'local',
      secret: new StaticApiKey(SIGNING_KEY),
      retryWindowMs: 60_000,
      retryBaseMs: 1_000,
    });
    const worker = new JobWorker(pipeline, jobs, new ImageQueues(storage.queues), webhooks);
    const id = uniqueName('slow');
    const asked = accounts[B].stats.requests;
    // Thrown: the host delivers the message again, and that delivery is one of its bounded attempts.
    await expect(worker.process({ id, prompt: 'Slow' }, { messageId: 'm', dequeueCount: 1 })).rejects.toBeInstanceOf(
      ServiceTimeoutError,
    );
    expect((await jobs.get(id))!.state).toMatchObject({ status: 'notStarted', attempts: 1, error_status: 504 });
    expect(accounts[B].stats.requests).toBe(asked);
  });

  it('streams: fails over until the stream starts, and not after', async () => {
    accounts[A].configure({ requestsPerMinute: 1 });
    const { pool: p } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })]);
    const streaming = { ...target, params: { ...target.params, stream: true, partial_images: 2 } };
    const first = await p.stream(streaming, {});
    expect(first.backend?.name).toBe('acct-a');
    for await (const _ of first.events);
    const spilled = await p.stream(streaming, {});
    expect(spilled.backend?.name).toBe('acct-b');
    expect(spilled.attempts?.map((a) => a.outcome)).toEqual(['throttled', 'ok']);
    const types: string[] = [];
    for await (const event of spilled.events) types.push(event.type);
    expect(types.at(-1)).toBe('image_generation.completed');

    // Started on B; B goes away mid-stream: the stream fails, and C is never asked.
    accounts[B].configure({ latencyMs: 600 });
    const { pool: q } = pool([backend(B, { priority: 1 }), backend(C, { priority: 2 })]);
    const started = await q.stream(streaming, {});
    const asked = accounts[C].stats.requests;
    const broken = (async () => {
      for await (const event of started.events)
        if (event.type === 'image_generation.partial_image') await accounts[B].stop();
    })();
    await expect(broken).rejects.toThrow();
    expect(accounts[C].stats.requests).toBe(asked);
    expect((await healthOf(q, 'acct-b')).last_5_minutes.failures).toBe(1);
  });

  it('goes on with its own marks when the state table cannot be reached, and says so', async () => {
    accounts[A].configure({ requestsPerMinute: 1 });
    const unreachable =
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;';
    const { pool: p, logs } = pool([backend(A, { priority: 1 }), backend(B, { priority: 2 })], {}, unreachable);
    expect(served(await p.generate(target, {}))).toBe('acct-a');
    expect(served(await p.generate(target, {}))).toBe('acct-b');
    const asked = accounts[A].stats.requests;
    expect(served(await p.generate(target, {}))).toBe('acct-b');
    expect(accounts[A].stats.requests).toBe(asked);
    expect(logs.join('\n')).toMatch(/Backend state: .* failed .* goes on with its own marks/);
  });
});

/** A seeded PRNG in [0, 1): the same picks every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
