import { vi } from 'vitest';

/** Polls until `probe` gives a value, and answers it. */
export async function until<T>(probe: () => Promise<T | undefined>, timeout = 15_000): Promise<T> {
  let value: T | undefined;
  await vi.waitUntil(async () => (value = await probe()) !== undefined, { timeout, interval: 100 });
  return value!;
}

/** Polls until `condition` holds. */
export async function untilHolds(condition: () => boolean | Promise<boolean>, timeout = 15_000): Promise<void> {
  await vi.waitUntil(condition, { timeout, interval: 50 });
}

// The real one, taken before any test fakes timers: a quiet period is real time.
const { setTimeout } = globalThis;

/**
 * Lets `ms` pass in which nothing more may happen (a second delivery, a second settlement): an
 * absence has no condition to wait on, so the time is named with its reason instead.
 */
export async function quietFor(ms: number, reason: string): Promise<void> {
  if (!reason) throw new Error('A quiet period says what must not happen during it.');
  await new Promise((resolve) => setTimeout(resolve, ms));
}
