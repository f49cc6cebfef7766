import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostProcess } from '../../dev/host/process.js';
import { startStack, uniqueName, type Stack } from '../support/stack.js';

// Budgets under concurrency, end to end: 100 requests at once against a caller's budget that allows
// exactly 10 images, on one instance and on two sharing the ledger. The emulator counts what was
// generated; the ledger must say the same.

let stack: Stack;
let second: HostProcess;

beforeAll(async () => {
  stack = await startStack();
  second = await stack.anotherHost();
});
afterAll(async () => {
  await stack?.stop();
});

// gpt-image-1-mini, 1024x1024, low, prompt 'A cat': held 5 bytes × $2 + 272 × $8 per 1M tokens =
// $0.002186; spent, as the emulator counts the prompt (2 tokens): $0.00218. A budget of $0.0225
// takes 10 holds or settlements (≤ $0.02186), never 11 (≥ $0.023986).
const BODY = { model: 'mini', prompt: 'A cat', size: '1024x1024', quality: 'low' };
const BUDGET_USD = 0.0225;

async function generate(host: string, key: string) {
  const response = await fetch(`${host}/api/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': key }, body: JSON.stringify(BODY) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), json: await response.json() };
}

async function keyWithBudget(usd: number): Promise<{ key: string; name: string }> {
  const created = await stack.post('/api/keys', { name: uniqueName('budget'), daily_budget_usd: usd });
  expect(created.status).toBe(201);
  return created.json;
}

async function usageOf(caller: string) {
  return (await stack.get(`/api/usage?caller=${caller}&groupBy=caller`)).json.data[0];
}

function expectExactlyTen(answers: Awaited<ReturnType<typeof generate>>[]) {
  const made = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 429);
  expect(made).toHaveLength(10);
  expect(refused).toHaveLength(90);
  const untilMidnight = Math.ceil((new Date().setUTCHours(24, 0, 0, 0) - Date.now()) / 1000);
  for (const answer of refused) {
    expect(answer.json.error.code).toBe('budget_exceeded');
    expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    expect(Math.abs(Number(answer.retryAfter) - untilMidnight)).toBeLessThanOrEqual(60);
  }
}

describe('a caller budget that allows exactly 10 images', () => {
  it('100 requests at once on one instance: 10 generated, 90 refused with 429 and Retry-After, 10 in the ledger', async () => {
    const { key, name } = await keyWithBudget(BUDGET_USD);
    const before = stack.emulator.stats.generations;
    const answers = await Promise.all(Array.from({ length: 100 }, () => generate(stack.host.url, key)));
    expectExactlyTen(answers);
    expect(stack.emulator.stats.generations - before).toBe(10);
    expect(await usageOf(name)).toMatchObject({ caller: name, requests: 10, images: 10 });
    expect((await usageOf(name)).usd).toBeCloseTo(10 * 0.00218, 9);
  });

  it('the same across two instances sharing the ledger', async () => {
    const { key, name } = await keyWithBudget(BUDGET_USD);
    const before = stack.emulator.stats.generations;
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => generate(i % 2 ? second.url : stack.host.url, key)));
    expectExactlyTen(answers);
    expect(stack.emulator.stats.generations - before).toBe(10);
    expect(await usageOf(name)).toMatchObject({ requests: 10, images: 10 });
  });
});

describe('a failed generation', () => {
  it('releases its hold: the budget for one image still makes one', async () => {
    const { key, name } = await keyWithBudget(0.003);
    stack.emulator.configure({ failureRate: 1, failureStatuses: [500] });
    try {
      expect((await generate(stack.host.url, key)).status).toBe(502);
    } finally {
      stack.emulator.configure({ failureRate: 0 });
    }
    expect((await generate(stack.host.url, key)).status).toBe(200);
    expect((await generate(stack.host.url, key)).status).toBe(429);
    expect(await usageOf(name)).toMatchObject({ requests: 1, images: 1 });
  });
});
