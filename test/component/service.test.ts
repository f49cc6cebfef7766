import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../dev/fakes/emulator/index.js';
import {
  ServiceFailedError,
  ServiceRejectedError,
  ServiceThrottledError,
  ServiceTimeoutError,
} from '../../src/lib/core/errors.js';
import { StaticApiKey } from '../../src/lib/generation/apiKeys.js';
import { ImageService } from '../../src/lib/generation/azureOpenAI.js';
import { untilHolds } from '../support/until.js';

// One Azure OpenAI account through the official client, against the emulator: what is sent again,
// and what never is.

let emulator: OpenAIEmulator;
const target = { deployment: 'gpt-image-2', params: { prompt: 'A lamp', n: 1, size: '1024x1024', quality: 'low' } };
const service = (options: Partial<ConstructorParameters<typeof ImageService>[0]> = {}) =>
  new ImageService({
    endpoint: emulator.url,
    apiVersion: 'v1',
    auth: { kind: 'key', keys: new StaticApiKey('k') },
    timeoutMs: 5_000,
    maxRetries: 2,
    ...options,
  });

beforeAll(async () => {
  emulator = await startOpenAIEmulator({ apiKeys: ['k'], deployments: { 'gpt-image-2': 'gpt-image-2' } });
});
afterAll(async () => {
  await emulator?.close();
});

describe('ImageService', () => {
  it('sends a 5xx again, up to its retries, and leaves no listener on the caller’s signal', async () => {
    emulator.configure({ failureRate: 1, failureStatuses: [503] });
    try {
      const caller = new AbortController();
      const before = emulator.stats.requests;
      const error = await service()
        .generate(target, { signal: caller.signal })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceFailedError);
      expect(error).toMatchObject({ code: 'UpstreamError', mayHaveGenerated: false });
      expect(emulator.stats.requests - before).toBe(3);
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    } finally {
      emulator.configure({ failureRate: 0 });
    }
  });

  it('sends a refused connection again: nothing was made', async () => {
    await emulator.stop();
    try {
      const started = Date.now();
      const error = await service({ maxRetries: 1 })
        .generate(target, {})
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceFailedError);
      expect(error).toMatchObject({ code: 'UpstreamUnreachable', mayHaveGenerated: false });
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await emulator.start();
    }
  });

  it('never sends a timed-out generation again: it may have been made and billed', async () => {
    emulator.configure({ latencyMs: 1_500 });
    try {
      const before = { requests: emulator.stats.requests, generations: emulator.stats.generations };
      const error = await service({ timeoutMs: 500, maxRetries: 3 })
        .generate(target, {})
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceTimeoutError);
      expect(emulator.stats.requests - before.requests).toBe(1);
      // The service went on and billed it: exactly why it is not sent again.
      await untilHolds(() => emulator.stats.generations - before.generations >= 1);
      expect(emulator.stats.generations - before.generations).toBe(1);
    } finally {
      emulator.configure({ latencyMs: 0 });
    }
  });

  it('hands a 429 back at once with its wait, and a refusal with its details, without retrying', async () => {
    emulator.configure({ requestsPerMinute: 1 });
    try {
      await service().generate(target, {});
      const before = emulator.stats.requests;
      const throttled = await service()
        .generate(target, {})
        .catch((e: unknown) => e);
      expect(throttled).toBeInstanceOf(ServiceThrottledError);
      expect((throttled as ServiceThrottledError).retryAfterMs).toBeGreaterThan(50_000);
      expect(emulator.stats.requests - before).toBe(1);
    } finally {
      emulator.configure({ requestsPerMinute: undefined });
    }
    const refused = await service()
      .generate({ ...target, params: { ...target.params, size: '1000x1000' } }, {})
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServiceRejectedError);
    expect(refused).toMatchObject({ details: { param: 'size' } });
  });
});
