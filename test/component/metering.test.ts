import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import type { Caller } from '../../src/lib/core/caller.js';
import {
  BudgetExceededError,
  PriceNotFoundError,
  ServiceFailedError,
  ServiceRejectedError,
  ServiceThrottledError,
  ServiceTimeoutError,
} from '../../src/lib/core/errors.js';
import { UsageLedger, utcDay } from '../../src/lib/cost/ledger.js';
import { MeteredGenerator } from '../../src/lib/cost/metering.js';
import { loadPriceTable } from '../../src/lib/core/priceTable.js';
import { Prices } from '../../src/lib/cost/pricing.js';
import type { Generation, ImageGenerator, StreamEvent } from '../../src/lib/generation/generator.js';
import { prices, target, usage, generation, HELD_USD } from '../support/metering.js';
import { uniqueName } from '../support/stack.js';

// The metering decorator around a stand-in generator, on a real ledger (Azurite): what is held
// before the call, and what a success, a failure and a timeout leave behind.

/** Answers as told, counting calls: a call that was refused never reaches it. */
class StandIn implements ImageGenerator {
  calls = 0;
  constructor(private readonly answers: (() => Generation | Error)[]) {}
  async generate(): Promise<Generation> {
    const answer = this.answers[this.calls++]();
    if (answer instanceof Error) throw answer;
    return answer;
  }
  async stream() {
    this.calls++;
    const completed = (i: number): StreamEvent => ({
      type: 'image_generation.completed',
      b64_json: 'eA==',
      size: '1024x1024',
      quality: 'low',
      usage: {
        ...usage,
        input_tokens: i === 0 ? 2 : 0,
        input_tokens_details: { text_tokens: i === 0 ? 2 : 0, image_tokens: 0 },
      },
    });
    async function* events(): AsyncIterable<StreamEvent> {
      yield { type: 'image_generation.partial_image', b64_json: 'eA==' };
      yield completed(0);
      yield completed(1);
    }
    return { events: events(), requestId: 'r' };
  }
}

function setup(answers: (() => Generation | Error)[], budgetUsd?: number) {
  const ledger = new UsageLedger(
    TableClient.fromConnectionString(inject('azurite').connectionString, uniqueName('metering').replaceAll('-', ''), {
      allowInsecureConnection: true,
    }),
  );
  const inner = new StandIn(answers);
  const caller: Caller = {
    name: uniqueName('caller'),
    kind: 'key',
    ...(budgetUsd !== undefined && { daily_budget_usd: budgetUsd }),
  };
  const metered = new MeteredGenerator(inner, { prices, models: new Map([['mini', 'gpt-image-1-mini']]), ledger });
  const today = async () => (await ledger.totals({ from: utcDay(Date.now()), to: utcDay(Date.now()), groupBy: [] }))[0];
  // The answer waits for `settled` (the pipeline does): so does each call here.
  const call = async () => {
    const made = await metered.generate(target, { caller });
    await made.settled;
    return made;
  };
  return { inner, caller, metered, today, call };
}

describe('MeteredGenerator', () => {
  it('attaches what the generation cost and adds it to the ledger', async () => {
    const { call, today } = setup([() => generation]);
    const made = await call();
    expect(made.cost).toEqual({ basis: 'usage', nanoUsd: 2_180_000, tableVersion: '2026-12-02' });
    expect(await today()).toEqual({ requests: 1, images: 1, usd: 0.00218, unpriced_images: 0 });
  });

  it.each([
    ['a 5xx answer', () => new ServiceFailedError('Azure OpenAI answered 500', 'UpstreamError', false)],
    ['the quota', () => new ServiceThrottledError('429', 1000)],
    ['the content filter', () => new ServiceRejectedError('rejected', 'content_policy_violation')],
  ])('a failed generation (%s) releases its hold: the budget is as it was', async (_, failure) => {
    // Room for one image, held or spent.
    const { call, inner, today } = setup([failure, () => generation, () => generation], HELD_USD * 1.5);
    await expect(call()).rejects.toThrow();
    await expect(call()).resolves.toMatchObject({ cost: { basis: 'usage' } });
    await expect(call()).rejects.toBeInstanceOf(BudgetExceededError);
    // Refused before the service: the third call never reached it.
    expect(inner.calls).toBe(2);
    expect(await today()).toEqual({ requests: 1, images: 1, usd: 0.00218, unpriced_images: 0 });
  });

  it('a timeout spends the estimate: the service may still have made and billed the image', async () => {
    const { call, today } = setup([() => new ServiceTimeoutError(), () => generation], HELD_USD * 1.5);
    await expect(call()).rejects.toBeInstanceOf(ServiceTimeoutError);
    await expect(call()).rejects.toBeInstanceOf(BudgetExceededError);
    expect(await today()).toEqual({ requests: 1, images: 0, usd: HELD_USD, unpriced_images: 0 });
  });

  it('costs each streamed image as it completes and settles when the stream ends', async () => {
    const { metered, caller, today } = setup([], HELD_USD * 2.5);
    const streamed = await metered.stream({ ...target, params: { ...target.params, n: 2, stream: true } }, { caller });
    const costs: unknown[] = [];
    for await (const event of streamed.events) costs.push(streamed.costOf(event));
    expect(costs).toEqual([
      undefined,
      { basis: 'usage', nanoUsd: 2_180_000, tableVersion: '2026-12-02' },
      { basis: 'usage', nanoUsd: 2_176_000, tableVersion: '2026-12-02' },
    ]);
    expect(await today()).toEqual({ requests: 1, images: 2, usd: 0.004356, unpriced_images: 0 });
  });

  it('hands over the images even when the ledger cannot be reached after they were made', async () => {
    const warnings: string[] = [];
    const unreachable = new TableClient('http://127.0.0.1:9/devstoreaccount1', 'usage', {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
    const metered = new MeteredGenerator(new StandIn([() => generation]), {
      prices,
      models: new Map([['mini', 'gpt-image-1-mini']]),
      ledger: new UsageLedger(unreachable),
      warn: (m) => warnings.push(m),
    });
    const made = await metered.generate(target, {});
    expect(made.cost).toMatchObject({ basis: 'usage', nanoUsd: 2_180_000 });
    await expect(made.settled).resolves.toBeUndefined();
    expect(warnings).toEqual([
      expect.stringMatching(/^Could not settle \$0\.00218 for anonymous in the usage ledger: /),
    ]);
  });
});

describe('a model the price table has no price for', () => {
  // The shipped table without gpt-image-1-mini: what the operator's PRICE_TABLE might leave out.
  const { 'gpt-image-1-mini': _mini, ...others } = loadPriceTable(undefined).models;
  const partial = new Prices({ version: 'no-mini', models: others });

  function unpricedSetup(unpricedImageEstimateUsd: number | undefined, budgetUsd: number) {
    const ledger = new UsageLedger(
      TableClient.fromConnectionString(inject('azurite').connectionString, uniqueName('unpriced').replaceAll('-', ''), {
        allowInsecureConnection: true,
      }),
    );
    const inner = new StandIn([() => generation, () => generation, () => generation]);
    const caller: Caller = { name: uniqueName('caller'), kind: 'key', daily_budget_usd: budgetUsd };
    const metered = new MeteredGenerator(inner, {
      prices: partial,
      models: new Map([['mini', 'gpt-image-1-mini']]),
      ledger,
      unpricedImageEstimateUsd,
    });
    const call = async () => {
      const made = await metered.generate(target, { caller });
      await made.settled;
      return made;
    };
    const today = async () =>
      (await ledger.totals({ from: utcDay(Date.now()), to: utcDay(Date.now()), caller: caller.name, groupBy: [] }))[0];
    return { inner, metered, call, today };
  }

  it('is refused before the service is called, naming the missing price, whatever the budget', async () => {
    const { inner, metered, call, today } = unpricedSetup(undefined, 1000);
    const refusal = await call().catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(PriceNotFoundError);
    expect(refusal).toMatchObject({
      code: 'PriceNotFound',
      param: 'model',
      message: expect.stringMatching(
        /^The price table no-mini has no price for gpt-image-1-mini \(deployment 'mini'\)/,
      ),
    });
    await expect(metered.stream({ ...target, params: { ...target.params, stream: true } }, {})).rejects.toBeInstanceOf(
      PriceNotFoundError,
    );
    expect(() => metered.admit(target)).toThrow(PriceNotFoundError);
    expect(inner.calls).toBe(0);
    expect(await today()).toBeUndefined();
  });

  it('with ALLOW_UNPRICED_MODELS: holds the default estimate per image; a budget smaller than it is refused before the call', async () => {
    const { inner, metered, call } = unpricedSetup(0.05, 0.000001);
    expect(metered.estimate({ ...target, params: { ...target.params, n: 3 } })).toMatchObject({
      unpriced: true,
      nanoUsd: 150_000_000,
      images: 3,
    });
    await expect(call()).rejects.toBeInstanceOf(BudgetExceededError);
    expect(inner.calls).toBe(0);
  });

  it('with ALLOW_UNPRICED_MODELS: each image spends the default on the budget, and is counted unpriced, not in USD', async () => {
    // Room for two images at $0.05, not three.
    const { inner, call, today } = unpricedSetup(0.05, 0.12);
    await expect(call()).resolves.toMatchObject({ cost: { basis: 'unpriced', missing: 'model' } });
    await expect(call()).resolves.toMatchObject({ cost: { basis: 'unpriced' } });
    await expect(call()).rejects.toBeInstanceOf(BudgetExceededError);
    expect(inner.calls).toBe(2);
    expect(await today()).toEqual({ requests: 2, images: 2, usd: 0, unpriced_images: 2 });
  });
});
