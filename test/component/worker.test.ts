import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../dev/fakes/emulator/index.js';
import { ServiceFailedError } from '../../src/lib/core/errors.js';
import { ImageStore } from '../../src/lib/images/store.js';
import { JobStore } from '../../src/lib/jobs/jobStore.js';
import { StaticApiKey } from '../../src/lib/generation/apiKeys.js';
import { ImagePipeline } from '../../src/lib/images/pipeline.js';
import { ImageQueues, MAX_DEQUEUE_COUNT, QUEUES } from '../../src/lib/jobs/queues.js';
import { ImageService } from '../../src/lib/generation/azureOpenAI.js';
import { localSettings } from '../support/settings.js';
import { createStorageClients } from '../../src/lib/platform/storage.js';
import { Webhooks } from '../../src/lib/jobs/webhooks.js';
import { JobWorker } from '../../src/lib/jobs/worker.js';
import { uniqueName } from '../support/stack.js';
import { until, untilHolds } from '../support/until.js';

// The worker's rules, called as the queue trigger calls it: what the host retries and when it
// stops, and that however many deliveries of one job race, one image set is generated.
// (The host's redelivery after visibilityTimeout is 30 s, too slow to wait for here.)

let azurite: Azurite;
let emulator: OpenAIEmulator;
let worker: JobWorker;
let jobStore: ReadCountingJobStore;
let queues: QueueServiceClient;
const LEASE = { leaseMs: 1_000, renewEveryMs: 300, takeoverQuietMs: 1_000 };

/** The job store, counting the finished reads of each job: a test can tell when a delivery has looked. */
class ReadCountingJobStore extends JobStore {
  readonly reads = new Map<string, number>();
  override async get(id: string) {
    const stored = await super.get(id);
    this.reads.set(id, (this.reads.get(id) ?? 0) + 1);
    return stored;
  }
}

beforeAll(async () => {
  azurite = await startAzurite({ silent: true });
  emulator = await startOpenAIEmulator({ apiKeys: ['k'], deployments: { 'gpt-image-2': 'gpt-image-2' } });
  const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
  queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
  const store = new ImageStore(blobs, { container: uniqueName('images'), urlTtlMinutes: 60 });
  const settings = localSettings({
    AZURE_OPENAI_ENDPOINT: emulator.url,
    AzureWebJobsStorage: azurite.connectionString,
  });
  const pipeline = new ImagePipeline({
    deployments: settings,
    apiVersion: 'v1',
    generator: new ImageService({
      endpoint: emulator.url,
      apiVersion: 'v1',
      auth: { kind: 'key', keys: new StaticApiKey('k') },
      timeoutMs: 5000,
      maxRetries: 0,
    }),
    store,
  });
  jobStore = new ReadCountingJobStore(blobs.getContainerClient(uniqueName('jobs')));
  const webhooks = new Webhooks(
    createStorageClients(settings, () => {
      throw new Error('no credential locally');
    }).table(uniqueName('hooks').replaceAll('-', '')),
    { policy: 'local', secret: new StaticApiKey('a-signing-key-for-tests'), retryWindowMs: 60_000, retryBaseMs: 1_000 },
  );
  // Short lease times, so that renewals and takeovers happen within a test.
  worker = new JobWorker(pipeline, jobStore, new ImageQueues(queues), webhooks, LEASE);
});
afterAll(async () => {
  await emulator?.close();
  await azurite?.stop();
});

async function messages(queue: string) {
  const client = queues.getQueueClient(queue);
  if (!(await client.exists())) return [];
  const { peekedMessageItems } = await client.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => JSON.parse(m.messageText));
}

/** Messages on image-requests, visible now or later. */
async function queued(): Promise<number> {
  const client = queues.getQueueClient(QUEUES.requests);
  if (!(await client.exists())) return 0;
  return (await client.getProperties()).approximateMessagesCount ?? 0;
}

describe('a failing service', () => {
  it('is retried by the host until the last attempt, then fails for good onto the poison queue', async () => {
    emulator.configure({ failureRate: 1, failureStatuses: [500] });
    try {
      const id = uniqueName('flaky');
      for (let attempt = 1; attempt < MAX_DEQUEUE_COUNT; attempt++) {
        const error = await worker
          .process({ id, prompt: 'x' }, { messageId: 'm1', dequeueCount: attempt })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ServiceFailedError);
        const { state } = (await jobStore.get(id))!;
        expect(state).toMatchObject({
          status: 'notStarted',
          attempts: attempt,
          error: { code: 'UpstreamError' },
          error_status: 502,
        });
        expect(state.lease_until).toBeUndefined();
      }
      expect((await messages(QUEUES.results)).filter((r) => r.id === id)).toEqual([]);
      await worker.process({ id, prompt: 'x' }, { messageId: 'm1', dequeueCount: MAX_DEQUEUE_COUNT });
      expect((await jobStore.get(id))!.state.status).toBe('failed');
      expect((await messages(QUEUES.results)).filter((r) => r.id === id)).toEqual([
        { id, status: 'failed', error: expect.objectContaining({ code: 'UpstreamError' }) },
      ]);
      const [poisoned] = (await messages(QUEUES.poison)).filter((p) => p.id === id);
      expect(poisoned).toMatchObject({
        dequeueCount: MAX_DEQUEUE_COUNT,
        reason: { code: 'UpstreamError' },
        message: { id, prompt: 'x' },
      });
    } finally {
      emulator.configure({ failureRate: 0 });
    }
  });
});

describe('one job, delivered more than once', () => {
  it('three deliveries at once generate once, and announce once', async () => {
    emulator.configure({ latencyMs: 600 });
    try {
      const id = uniqueName('race');
      const before = emulator.stats.generations;
      const queuedBefore = await queued();
      // Three messages with the same id, as a producer that sent it three times would leave.
      await Promise.all(
        ['a', 'b', 'c'].map((messageId) =>
          worker.process({ id, prompt: 'Only one of us' }, { messageId, dequeueCount: 1 }),
        ),
      );
      expect(emulator.stats.generations - before).toBe(1);
      const { state } = (await jobStore.get(id))!;
      expect(state).toMatchObject({ status: 'succeeded', attempts: 1, notified: true });
      expect((await messages(QUEUES.results)).filter((r) => r.id === id)).toHaveLength(1);
      // The deliveries that found it running put a copy back, invisible until the lease would end.
      expect((await queued()) - queuedBefore).toBe(2);
      // That copy, when it comes, finds the job done: nothing is generated or announced again.
      await worker.process({ id }, { messageId: 'later', dequeueCount: 1 });
      expect(emulator.stats.generations - before).toBe(1);
      expect((await messages(QUEUES.results)).filter((r) => r.id === id)).toHaveLength(1);
    } finally {
      emulator.configure({ latencyMs: 0 });
    }
  });

  it('a redelivery while the first delivery still runs (past the visibility timeout) does not generate', async () => {
    emulator.configure({ latencyMs: 800 });
    try {
      const id = uniqueName('slow');
      const before = emulator.stats.generations;
      const first = worker.process({ id, prompt: 'Slow' }, { messageId: 'm', dequeueCount: 1 });
      // The first delivery holds the job and the service is at work on it.
      await untilHolds(() => emulator.stats.generations - before === 1);
      await worker.process({ id, prompt: 'Slow' }, { messageId: 'm', dequeueCount: 2 });
      expect((await jobStore.get(id))!.state.status).toBe('running');
      await first;
      expect(emulator.stats.generations - before).toBe(1);
      expect((await jobStore.get(id))!.state.status).toBe('succeeded');
    } finally {
      emulator.configure({ latencyMs: 0 });
    }
  });

  it('a job whose delivery died (its lease ran out) is taken over and run once', async () => {
    const id = uniqueName('crashed');
    const created = (await jobStore.create(id, { request: { prompt: 'Again' } }))!;
    // A delivery took it, then its instance died: the lease ran out long ago.
    await jobStore.put(
      { ...created.state, status: 'running', attempts: 1, lease_until: Date.now() - 60_000, lease_holder: 'gone/1' },
      created.etag,
    );
    const before = emulator.stats.generations;
    const started = Date.now();
    await worker.process({ id }, { messageId: 'm', dequeueCount: 2 });
    // Only after the lease stayed run out, untouched, while Storage answered.
    expect(Date.now() - started).toBeGreaterThanOrEqual(LEASE.takeoverQuietMs);
    expect(emulator.stats.generations - before).toBe(1);
    expect((await jobStore.get(id))!.state).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('the running delivery renews its lease: a delivery that comes after the first lease would have run out finds it busy', async () => {
    emulator.configure({ latencyMs: 2_500 });
    try {
      const id = uniqueName('renewed');
      const before = emulator.stats.generations;
      const first = worker.process({ id, prompt: 'Long' }, { messageId: 'm1', dequeueCount: 1 });
      const leased = await until(async () => {
        const stored = await jobStore.get(id);
        return stored?.state.status === 'running' ? stored.state : undefined;
      });
      // A renewal made after the first lease would have run out (so past it by a lease's length).
      const renewed = await until(async () => {
        const { state } = (await jobStore.get(id))!;
        return state.lease_until! > leased.lease_until! + 1_000 ? state : undefined;
      });
      expect(renewed.lease_holder).toBe(leased.lease_holder);
      expect(renewed.lease_until).toBeGreaterThan(leased.lease_until! + 1_000);
      await worker.process({ id, prompt: 'Long' }, { messageId: 'm2', dequeueCount: 1 });
      await first;
      expect(emulator.stats.generations - before).toBe(1);
      expect((await jobStore.get(id))!.state).toMatchObject({ status: 'succeeded', attempts: 1 });
    } finally {
      emulator.configure({ latencyMs: 0 });
    }
  });

  it('a lease that ran out while Storage was away is not taken over when its holder renews it once Storage is back', async () => {
    const id = uniqueName('cutoff');
    const created = (await jobStore.create(id, { request: { prompt: 'Held' } }))!;
    const holding = {
      ...created.state,
      status: 'running' as const,
      attempts: 1,
      lease_until: Date.now() - 5_000,
      lease_holder: 'elsewhere/1',
    };
    const etag = (await jobStore.put(holding, created.etag)) as string;
    const before = emulator.stats.generations;
    const queuedBefore = await queued();
    const reads = jobStore.reads.get(id) ?? 0;
    const redelivery = worker.process({ id }, { messageId: 'm3', dequeueCount: 1 });
    // The holder, cut off with everyone else, renews within seconds of Storage's return: here, while
    // the redelivery, having found the lease run out, watches it for its quiet time.
    await untilHolds(() => jobStore.reads.get(id)! > reads);
    await jobStore.put({ ...holding, lease_until: Date.now() + 30_000 }, etag);
    await redelivery;
    expect(emulator.stats.generations - before).toBe(0);
    expect((await jobStore.get(id))!.state).toMatchObject({
      status: 'running',
      attempts: 1,
      lease_holder: 'elsewhere/1',
    });
    expect((await queued()) - queuedBefore).toBe(1);
  });

  it("a delivery whose lease was taken over while the service worked keeps its paid images as the job's answer, unless the job ended", async () => {
    emulator.configure({ latencyMs: 1_000 });
    try {
      const id = uniqueName('overtaken');
      const before = emulator.stats.generations;
      const first = worker.process({ id, prompt: 'Paid for' }, { messageId: 'm4', dequeueCount: 1 });
      // The first delivery holds the job and the service is at work on it.
      await untilHolds(() => emulator.stats.generations - before === 1);
      // Another delivery takes the job over (as after the lease ran out unrenewed) and is still at work.
      const stored = (await jobStore.get(id))!;
      await jobStore.put(
        { ...stored.state, attempts: 2, lease_holder: 'taker/1', lease_until: Date.now() + 60_000 },
        stored.etag,
      );
      await first;
      const { state } = (await jobStore.get(id))!;
      expect(emulator.stats.generations - before).toBe(1);
      expect(state).toMatchObject({
        status: 'succeeded',
        result: { data: [expect.objectContaining({ storage: expect.any(Object) })] },
      });
      expect(state.lease_holder).toBeUndefined();
    } finally {
      emulator.configure({ latencyMs: 0 });
    }
  });

  it('a message naming a job that does not exist, with no request, is parked', async () => {
    const id = uniqueName('ghost');
    await worker.process({ id }, { messageId: 'g', dequeueCount: 1 });
    const [poisoned] = (await messages(QUEUES.poison)).filter((p) => p.id === id);
    expect(poisoned.reason).toMatchObject({ code: 'NotFound' });
  });
});
