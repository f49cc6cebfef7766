import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostProcess } from '../../dev/fakes/host/process.js';
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

async function generate(
  host: string,
  key: string,
  body: Record<string, unknown> = BODY,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${host}/api/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': key, ...headers },
    body: JSON.stringify(body),
  });
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
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => generate(i % 2 ? second.url : stack.host.url, key)),
    );
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

describe('gpt-image-2 at low quality', () => {
  // 1024x1024 low is 196 output tokens (the price calculator's formula). Held: 5 prompt bytes × $5
  // + 196 × $30 per 1M tokens = $0.005905; spent, as the emulator counts the prompt (2 tokens):
  // $0.00589. $0.062 takes 10 holds (≤ $0.05905) or settlements, never 11 (≥ $0.064805). Scaled by
  // area (459 tokens, $0.013795 held), the same budget held 4 at once.
  it('a budget for exactly 10 images makes exactly 10, counted at the emulator', async () => {
    const { key, name } = await keyWithBudget(0.062);
    const body = { model: 'gpt-image-2', prompt: 'A cat', size: '1024x1024', quality: 'low' };
    const generated = () => stack.emulator.stats.generationsByDeployment['gpt-image-2'] ?? 0;
    const before = generated();
    const answers = await Promise.all(Array.from({ length: 20 }, () => generate(stack.host.url, key, body)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    expect(answers.filter((a) => a.status === 429 && a.json.error.code === 'budget_exceeded')).toHaveLength(10);
    expect(generated() - before).toBe(10);
    expect((await generate(stack.host.url, key, body)).status).toBe(429);
    expect(generated() - before).toBe(10);
    expect(await usageOf(name)).toMatchObject({ requests: 10, images: 10, unpriced_images: 0 });
    expect((await usageOf(name)).usd).toBeCloseTo(10 * 0.00589, 9);
  });
});

describe('an answer without usage', () => {
  it("is recorded and settled at the table's price for what was made: $0.165 for gpt-image-2 1536x1024 high, not $0.316", async () => {
    const { key, name } = await keyWithBudget(1);
    stack.emulator.configure({ omitUsage: true });
    try {
      const body = { model: 'gpt-image-2', prompt: 'A cat', size: '1536x1024', quality: 'high' };
      expect((await generate(stack.host.url, key, body)).status).toBe(200);
      const streamed = await fetch(`${stack.host.url}/api/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'api-key': key },
        body: JSON.stringify({ ...body, stream: true }),
      });
      expect(streamed.status).toBe(200);
      expect(await streamed.text()).toContain('event: image_generation.completed');
    } finally {
      stack.emulator.configure({ omitUsage: false });
    }
    // 5,488 output tokens × $30 + 5 prompt bytes × $5, per 1M tokens.
    const records = await Promise.all(
      (await stack.blobNames())
        .filter((b) => b.endsWith('.json'))
        .map(async (b) => JSON.parse((await stack.readBlob(b)).toString('utf8'))),
    );
    const mine = records.filter((r) => r.caller?.name === name);
    expect(mine.map((r) => r.cost)).toEqual(
      [0, 1].map(() => ({ usd: 0.164665, basis: 'table', table_version: '2026-12-02' })),
    );
    expect((await usageOf(name)).usd).toBeCloseTo(2 * 0.164665, 9);
  });
});

describe('a model the price table has no price for', () => {
  const shipped = JSON.parse(readFileSync(join(__dirname, '..', '..', 'src', 'lib', 'core', 'prices.json'), 'utf8'));
  delete shipped.models['gpt-image-2'];
  const PRICE_TABLE = JSON.stringify({ ...shipped, version: 'no-gpt-image-2' });
  const body = { model: 'gpt-image-2', prompt: 'A cat', size: '1024x1024', quality: 'low' };
  const generated = () => stack.emulator.stats.generationsByDeployment['gpt-image-2'] ?? 0;

  it('is refused with 403 naming the missing price, before the service is called, whatever the route; the health detail says so', async () => {
    const host = await stack.anotherHost({ PRICE_TABLE });
    const { key } = await keyWithBudget(0.000001);
    const [before, blobs] = [generated(), (await stack.blobNames()).length];
    for (const headers of [{}, { prefer: 'respond-async' }] as Record<string, string>[]) {
      const refused = await generate(host.url, key, body, headers);
      expect(refused.status).toBe(403);
      expect(refused.json.error).toMatchObject({
        code: 'PriceNotFound',
        param: 'model',
        message: expect.stringContaining(
          "The price table no-gpt-image-2 has no price for gpt-image-2 (deployment 'gpt-image-2')",
        ),
      });
    }
    expect((await generate(host.url, key, { ...body, stream: true })).status).toBe(403);
    const estimate = await fetch(`${host.url}/api/images/estimate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': key },
      body: JSON.stringify(body),
    });
    expect(estimate.status).toBe(403);
    expect(generated()).toBe(before);
    expect(await stack.blobNames()).toHaveLength(blobs);
    const detail = await (await fetch(`${host.url}/api/health/detail`)).json();
    expect(detail.prices).toContainEqual({
      deployment: 'gpt-image-2',
      model: 'gpt-image-2',
      table_version: 'no-gpt-image-2',
      warning: expect.stringMatching(/no price.*refused with 403 PriceNotFound/),
    });
    expect(detail.prices).toContainEqual({
      deployment: 'mini',
      model: 'gpt-image-1-mini',
      table_version: 'no-gpt-image-2',
      billing: 'per_token',
    });
    expect(detail.warnings).toContainEqual(
      expect.stringContaining('Deployment gpt-image-2: model gpt-image-2 has no price'),
    );
  });

  it('with ALLOW_UNPRICED_MODELS: the default estimate is held, a tiny budget refused with 429 budget_exceeded, and each image spends it', async () => {
    const host = await stack.anotherHost({
      PRICE_TABLE,
      ALLOW_UNPRICED_MODELS: 'true',
      UNPRICED_IMAGE_ESTIMATE_USD: '0.5',
    });
    const tiny = await keyWithBudget(0.000001);
    const before = generated();
    const refused = await generate(host.url, tiny.key, body);
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe('budget_exceeded');
    expect(generated()).toBe(before);
    // Room for two images at the default $0.50, not three.
    const two = await keyWithBudget(1.2);
    expect((await generate(host.url, two.key, body)).status).toBe(200);
    expect((await generate(host.url, two.key, body)).status).toBe(200);
    expect((await generate(host.url, two.key, body)).status).toBe(429);
    expect(generated() - before).toBe(2);
    expect(await usageOf(two.name)).toMatchObject({ requests: 2, images: 2, usd: 0, unpriced_images: 2 });
  });
});
