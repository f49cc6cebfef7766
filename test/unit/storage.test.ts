import { RestError } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError, IdempotencyKeyReusedError } from '../../src/lib/core/errors.js';
import { usingStorage } from '../../src/lib/platform/storage.js';

describe('usingStorage', () => {
  it('turns Storage failing into a DependencyUnavailableError with a wait', async () => {
    for (const failure of [
      new RestError('Server busy', { statusCode: 503 }),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      new DOMException('gave up', 'TimeoutError'),
    ]) {
      const error = await usingStorage('Reading the job', () => Promise.reject(failure)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect(error).toMatchObject({
        dependency: 'Storage',
        retryAfterMs: 5000,
        message: expect.stringMatching(/^Reading the job: /),
        cause: failure,
      });
    }
  });

  it('lets the app’s own errors and bugs through as they are', async () => {
    const ours = new IdempotencyKeyReusedError();
    await expect(usingStorage('x', () => Promise.reject(ours))).rejects.toBe(ours);
    const bug = new TypeError('undefined is not a function');
    await expect(usingStorage('x', () => Promise.reject(bug))).rejects.toBe(bug);
    expect(await usingStorage('x', async () => 42)).toBe(42);
  });
});
