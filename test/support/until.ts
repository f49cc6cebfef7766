import { vi } from 'vitest';

/** Polls until `probe` gives a value, and answers it. */
export async function until<T>(probe: () => Promise<T | undefined>, timeout = 15_000): Promise<T> {
  let value: T | undefined;
  await vi.waitUntil(async () => (value = await probe()) !== undefined, { timeout, interval: 100 });
  return value!;
}
