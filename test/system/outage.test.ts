import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { QUEUES } from '../../src/lib/jobs/queues.js';
import { startStack, uniqueName, type Answer, type Stack } from '../support/stack.js';
import { quietFor, untilHolds } from '../support/until.js';

// Storage going away and coming back, for real: Azurite stopped in mid-flight and started again on
// the same ports with the same data. Nothing waits for the 220 s deadline, every route answers 503
// with Retry-After meanwhile, and nothing half-written is left behind.

const FUNCTION_KEY = uniqueName('function-key');
const GENERATE = '/api/images/generations';
let location: string;
let azurite: Azurite;
let stack: Stack;
let ports: { blobPort: number; queuePort: number; tablePort: number };

const port = (endpoint: string) => Number(new URL(endpoint).port);

beforeAll(async () => {
  location = mkdtempSync(join(tmpdir(), 'azurite-outage-'));
  azurite = await startAzurite({ location, silent: true });
  ports = {
    blobPort: port(azurite.blobEndpoint),
    queuePort: port(azurite.queueEndpoint),
    tablePort: port(azurite.tableEndpoint),
  };
  // A service timeout well above the emulator's latency: under the machine's load a 2 s timeout made
  // jobs time out (and rightly run again), which is not what these tests are about.
  stack = await startStack(
    { LOCAL_FUNCTION_KEY: FUNCTION_KEY, AZURE_OPENAI_TIMEOUT_SECONDS: '10' },
    { connectionString: azurite.connectionString },
  );
});
afterAll(async () => {
  await stack?.stop();
  await azurite?.stop();
  rmSync(location, { recursive: true, force: true });
});

const timed = async (call: () => Promise<Answer>) => {
  const started = Date.now();
  const answer = await call();
  return { ...answer, ms: Date.now() - started, at: Date.now() };
};

const expectUnavailable = (answer: Answer) => {
  expect(answer.status).toBe(503);
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(answer.json.error.code).toBe('StorageUnavailable');
};

describe('a Storage outage of a few seconds', () => {
  it('fails what is in flight fast, answers 503 with Retry-After on every route, and serves again once Storage is back', async () => {
    // A job to read while Storage is away, and its valet-key Location.
    const accepted = await stack.post(
      GENERATE,
      { prompt: 'Before the outage', quality: 'low' },
      { prefer: 'respond-async' },
    );
    expect(accepted.status).toBe(202);
    await vi.waitUntil(
      async () => (await stack.get(`/api/images/jobs/${accepted.json.id}`)).json.status === 'succeeded',
      { timeout: 15_000 },
    );

    stack.emulator.configure({ latencyMs: 1000 });
    try {
      const billed = stack.emulator.stats.generations;
      const inFlight = Array.from({ length: 12 }, (_, i) =>
        timed(() => stack.post(GENERATE, { prompt: `In flight ${i}`, quality: 'low' })),
      );
      // Storage goes while all twelve are at the service.
      await untilHolds(() => stack.emulator.stats.generations - billed === 12);
      await azurite.stop();
      const stoppedAt = Date.now();

      const during = await Promise.all([
        timed(() => stack.post(GENERATE, { prompt: 'During', quality: 'low' })),
        timed(() => stack.post(GENERATE, { prompt: 'During, async' }, { prefer: 'respond-async' })),
        timed(() => stack.post(GENERATE, { prompt: 'During, once' }, { 'idempotency-key': uniqueName('k') })),
        timed(() => stack.get(`/api/images/jobs/${accepted.json.id}`)),
        timed(() => stack.get(accepted.headers.get('location')!)),
      ]);
      for (const answer of during) {
        expectUnavailable(answer);
        expect(answer.ms).toBeLessThan(8_000);
      }

      // Back after a few seconds, with the same data.
      await quietFor(Math.max(0, 3_000 - (Date.now() - stoppedAt)), 'Storage stays away for 3 s');
      azurite = await startAzurite({ location, silent: true, ...ports });
      const restartedAt = Date.now();

      for (const answer of await Promise.all(inFlight)) {
        if (answer.status !== 200) expectUnavailable(answer);
        // Finished within seconds of Storage coming back, never held for the 220 s deadline.
        expect(answer.at - restartedAt).toBeLessThan(5_000);
      }
    } finally {
      stack.emulator.configure({ latencyMs: 0 });
    }

    expect((await stack.post(GENERATE, { prompt: 'After', quality: 'low' })).status).toBe(200);
    // The queue trigger took up its work again.
    const id = uniqueName('after');
    await QueueServiceClient.fromConnectionString(azurite.connectionString)
      .getQueueClient(QUEUES.requests)
      .sendMessage(JSON.stringify({ id, prompt: 'Queued after', quality: 'low' }));
    await vi.waitUntil(async () => (await stack.get(`/api/images/jobs/${id}`)).json?.status === 'succeeded', {
      timeout: 20_000,
      interval: 200,
    });
  });
});

describe('queue jobs through a Storage outage', () => {
  it("50 jobs: none lost, none generated twice (counted at the emulator), every one ended within 120 s of Storage's return", async () => {
    const service = QueueServiceClient.fromConnectionString(azurite.connectionString);
    const prefix = uniqueName('outage');
    const ids = Array.from({ length: 50 }, (_, i) => `${prefix}-${i}`);
    const jobs = stack.blobs.getContainerClient(stack.settings.JOBS_CONTAINER);
    const states = () =>
      Promise.all(
        ids.map(async (id) => {
          try {
            return JSON.parse((await jobs.getBlobClient(`jobs/${id}.json`).downloadToBuffer()).toString()) as {
              status?: string;
              attempts?: number;
              result?: { data: { storage?: { blob: string } }[] };
            };
          } catch {
            return {}; // not written yet, or Storage away
          }
        }),
      );
    const ended = async () => (await states()).filter((s) => s.status === 'succeeded' || s.status === 'failed').length;
    const before = stack.emulator.stats.generations;
    stack.emulator.configure({ latencyMs: 1500 });
    try {
      await Promise.all(
        ids.map((id) =>
          service
            .getQueueClient(QUEUES.requests)
            .sendMessage(JSON.stringify({ id, prompt: `Through the outage ${id}`, quality: 'low' })),
        ),
      );
      // Under load: some ended, a batch of deliveries in flight, the rest waiting on the queue.
      await vi.waitUntil(async () => (await ended()) >= 10, { timeout: 60_000, interval: 250 });
      const endedBefore = await ended();
      await azurite.stop();
      await quietFor(4_000, 'Storage stays away for 4 s');
      azurite = await startAzurite({ location, silent: true, ...ports });
      const restartedAt = Date.now();
      await vi.waitUntil(async () => (await ended()) === ids.length, { timeout: 150_000, interval: 1_000 });
      const allEndedAfter = Date.now() - restartedAt;
      const final = await states();
      const generated = stack.emulator.stats.generations - before;
      // Each job's result went out once, on image-results.
      const results: string[] = [];
      const resultsQueue = service.getQueueClient(QUEUES.results);
      for (;;) {
        const { receivedMessageItems } = await resultsQueue.receiveMessages({
          numberOfMessages: 32,
          visibilityTimeout: 300,
        });
        if (receivedMessageItems.length === 0) break;
        results.push(
          ...receivedMessageItems
            .map((m) => (JSON.parse(m.messageText) as { id: string }).id)
            .filter((id) => id.startsWith(prefix)),
        );
      }
      if (process.env.OUTAGE_LOG)
        console.log(
          stack.host
            .output()
            .split('\n')
            .filter((line) => /failed|error|Unavailable|timeout/i.test(line))
            .slice(-60)
            .join('\n'),
        );
      console.log(
        `outage: ${endedBefore} ended before the stop; all ${ids.length} ended ${(allEndedAfter / 1000).toFixed(1)} s after Storage's return; generated ${generated}; attempts ${final.reduce((sum, s) => sum + (s.attempts ?? 0), 0)}; results ${results.length}`,
      );
      expect(final.map((s) => s.status)).toEqual(ids.map(() => 'succeeded'));
      expect(generated).toBe(ids.length);
      expect(allEndedAfter).toBeLessThan(120_000);
      expect([...results].sort()).toEqual([...ids].sort());
      // Every image its job names is there.
      const images = await stack.blobNames();
      for (const state of final) for (const image of state.result!.data) expect(images).toContain(image.storage!.blob);
    } finally {
      stack.emulator.configure({ latencyMs: 0 });
    }
  }, 300_000);
});

describe('nothing half-written', () => {
  it('an accepted job whose message cannot be sent is taken away again: no job without its message', async () => {
    // Blobs answer; the queue service does not.
    const connectionString = azurite.connectionString.replace(
      /QueueEndpoint=[^;]+/,
      'QueueEndpoint=http://127.0.0.1:1/devstoreaccount1',
    );
    const broken = await startStack({ LOCAL_FUNCTION_KEY: FUNCTION_KEY }, { connectionString });
    try {
      const jobs = broken.settings.JOBS_CONTAINER;
      const answer = await broken.post(GENERATE, { prompt: 'Never queued' }, { prefer: 'respond-async' });
      expectUnavailable(answer);
      expect((await broken.blobNames(jobs)).filter((name) => name.startsWith('jobs/'))).toEqual([]);
    } finally {
      await broken.stop();
    }
  });
});
