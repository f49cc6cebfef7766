import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deadline, sleep, withChildSignal, withDeadline } from '../../src/lib/platform/deadline.js';

// Deadlines that hold nothing once the work is done: under load, every request's 220 s timer used
// to keep memory until it fired, and retries stacked listeners on one signal.

afterEach(() => {
  vi.useRealTimers();
});

describe('deadlines', () => {
  it('clear their timer as soon as the work settles, either way', async () => {
    vi.useFakeTimers();
    expect(await withDeadline(220_000, async () => 'done')).toBe('done');
    await expect(withDeadline(220_000, async () => Promise.reject(new Error('failed')))).rejects.toThrow('failed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('abort the work when they pass, with a TimeoutError', async () => {
    vi.useFakeTimers();
    const limit = deadline(1000);
    vi.advanceTimersByTime(1000);
    expect(limit.signal.aborted).toBe(true);
    expect((limit.signal.reason as Error).name).toBe('TimeoutError');
  });

  it('leave no listener on the signal they follow, however many attempts ran under it', async () => {
    const parent = new AbortController();
    for (let i = 0; i < 50; i++) await withChildSignal(parent.signal, async (signal) => signal.aborted);
    const limit = deadline(60_000, parent.signal);
    limit.clear();
    await sleep(1, parent.signal);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });

  it('pass an abort on to the child', async () => {
    const parent = new AbortController();
    const seen = withChildSignal(
      parent.signal,
      (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason))),
    );
    parent.abort(new Error('gone'));
    expect(await seen).toMatchObject({ message: 'gone' });
    await expect(sleep(10_000, parent.signal)).rejects.toThrow('gone');
  });
});
