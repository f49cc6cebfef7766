import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../../dev/azurite.js';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../dev/emulator/index.js';
import { ApiError } from '../../src/lib/errors.js';
import { ImageStore } from '../../src/lib/imageStore.js';
import { JobStore } from '../../src/lib/jobs.js';
import { StaticApiKey } from '../../src/lib/keys.js';
import { ImagePipeline } from '../../src/lib/pipeline.js';
import { ImageQueues, MAX_DEQUEUE_COUNT, QUEUES } from '../../src/lib/queues.js';
import { ImageService } from '../../src/lib/service.js';
import { ImageJobs } from '../../src/lib/worker.js';
import { uniqueName } from '../support/stack.js';

// The worker's retry rules with a failing service: what the host retries, and when it stops.
// (The host's redelivery after visibilityTimeout is 30 s, too slow to wait for here.)

let azurite: Azurite;
let emulator: OpenAIEmulator;
let jobs: ImageJobs;
let jobStore: JobStore;
let queues: QueueServiceClient;

beforeAll(async () => {
  azurite = await startAzurite({ silent: true });
  emulator = await startOpenAIEmulator({ apiKeys: ['k'] });
  const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
  queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
  const store = new ImageStore({ blobs, queues, identityBased: false }, { container: uniqueName('images'), urlTtlMinutes: 60 });
  const pipeline = new ImagePipeline({
    deployments: { deployments: new Map([['dall-e-3', 'dall-e-3']]), defaultDeployment: 'dall-e-3' },
    apiVersion: '2024-10-21',
    service: new ImageService({ endpoint: emulator.url, apiVersion: '2024-10-21', auth: { kind: 'key', keys: new StaticApiKey('k') }, timeoutMs: 5000, maxRetries: 0 }),
    store,
  });
  jobStore = new JobStore(blobs.getContainerClient(uniqueName('jobs')));
  jobs = new ImageJobs(pipeline, jobStore, new ImageQueues(queues));
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

describe('a failing service', () => {
  it('is retried by the host until the last attempt, then fails for good onto the poison queue', async () => {
    emulator.configure({ failureRate: 1, failureStatuses: [500] });
    try {
      const id = uniqueName('flaky');
      for (let attempt = 1; attempt < MAX_DEQUEUE_COUNT; attempt++) {
        const error = await jobs.process({ id, prompt: 'x' }, { messageId: 'm1', dequeueCount: attempt }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ApiError);
        expect((error as ApiError).status).toBe(502);
        const { state } = (await jobStore.get(id))!;
        expect(state).toMatchObject({ status: 'notStarted', attempts: attempt, error: { code: 'UpstreamError' } });
      }
      expect((await messages(QUEUES.results)).filter((r) => r.id === id)).toEqual([]);
      await jobs.process({ id, prompt: 'x' }, { messageId: 'm1', dequeueCount: MAX_DEQUEUE_COUNT });
      expect((await jobStore.get(id))!.state.status).toBe('failed');
      expect((await messages(QUEUES.results)).filter((r) => r.id === id)).toEqual([{ id, status: 'failed', error: expect.objectContaining({ code: 'UpstreamError' }) }]);
      const [poisoned] = (await messages(QUEUES.poison)).filter((p) => p.id === id);
      expect(poisoned).toMatchObject({ dequeueCount: MAX_DEQUEUE_COUNT, reason: { code: 'UpstreamError' }, message: { id, prompt: 'x' } });
    } finally {
      emulator.configure({ failureRate: 0 });
    }
  });

  it('a job another delivery holds is not generated alongside it', async () => {
    const id = uniqueName('held');
    await jobStore.create(id, { prompt: 'x' });
    const { state, etag } = (await jobStore.get(id))!;
    // Another worker claims it between our read and our claim: our conditional write loses.
    expect(await jobStore.put({ ...state, status: 'running' }, etag)).not.toBe(false);
    expect(await jobStore.put({ ...state, status: 'running' }, etag)).toBe(false);
  });
});
