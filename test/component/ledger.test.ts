import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { BudgetExceededError } from '../../src/lib/core/errors.js';
import { untilMidnightMs, UsageLedger, utcDay } from '../../src/lib/cost/ledger.js';
import { uniqueName } from '../support/stack.js';

// The usage ledger on Azurite: holds, settlements and releases from many requests at once, on two
// instances (two ledgers on one table), never lose an increment and never pass a budget.

const newTable = () =>
  TableClient.fromConnectionString(inject('azurite').connectionString, uniqueName('ledger').replaceAll('-', ''), {
    allowInsecureConnection: true,
  });
const CENT = 10_000_000; // nano-USD

describe('budgets under concurrency', () => {
  it('100 holds at once on two instances, against a budget for exactly 10: 10 held, 90 refused until midnight', async () => {
    const table = newTable();
    const instances = [new UsageLedger(table), new UsageLedger(table)];
    const budget = { caller: 'team-a', callerNanoUsd: 10.5 * CENT };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => instances[i % 2].reserve(budget, CENT)),
    );
    const held = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(held).toHaveLength(10);
    expect(refused).toHaveLength(90);
    for (const err of refused) {
      expect(err).toBeInstanceOf(BudgetExceededError);
      const wait = (err as BudgetExceededError).retryAfterMs;
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(untilMidnightMs(Date.now()) + 1000);
    }
    expect((refused[0] as Error).message).toMatch(
      /daily budget of caller 'team-a' \(\$0\.105; \$0\.1 spent or held today\)/,
    );

    // Each settles at what it cost: the totals count every one, once.
    await Promise.all(
      held.map((h, i) =>
        instances[i % 2].settle((h as PromiseFulfilledResult<any>).value, {
          caller: 'team-a',
          model: 'gpt-image-1-mini',
          images: 1,
          nanoUsd: CENT,
          unpricedImages: 0,
        }),
      ),
    );
    const [totals] = await instances[0].totals({
      from: utcDay(Date.now()),
      to: utcDay(Date.now()),
      groupBy: ['caller', 'model'],
    });
    expect(totals).toEqual({
      caller: 'team-a',
      model: 'gpt-image-1-mini',
      requests: 10,
      images: 10,
      usd: 0.1,
      unpriced_images: 0,
    });
    await expect(instances[1].reserve(budget, CENT)).rejects.toBeInstanceOf(BudgetExceededError);
  });

  it('never loses an increment: two instances settling one after another, interleaved', async () => {
    const table = newTable();
    const instances = [new UsageLedger(table), new UsageLedger(table)];
    // One at a time on each instance, so that each of its transactions races the other instance's.
    await Promise.all(
      instances.map(async (ledger) => {
        for (let i = 0; i < 30; i++)
          await ledger.settle(undefined, {
            caller: `c${i % 3}`,
            model: 'gpt-image-2',
            images: 2,
            nanoUsd: 1_234,
            unpricedImages: 0,
          });
      }),
    );
    const rows = await instances[0].totals({ from: utcDay(Date.now()), to: utcDay(Date.now()), groupBy: ['caller'] });
    expect(rows).toEqual(
      ['c0', 'c1', 'c2'].map((caller) => ({
        caller,
        requests: 20,
        images: 40,
        usd: (20 * 1234) / 1e9,
        unpriced_images: 0,
      })),
    );
  });

  it('the app budget holds across callers', async () => {
    const ledger = new UsageLedger(newTable());
    await ledger.reserve({ caller: 'a', appNanoUsd: 2 * CENT }, CENT);
    await ledger.reserve({ caller: 'b', appNanoUsd: 2 * CENT }, CENT);
    const err = await ledger.reserve({ caller: 'c', appNanoUsd: 2 * CENT }, CENT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect((err as Error).message).toBe("This request would pass the app's daily budget; it resets at 00:00 UTC.");
  });
});

describe('holds', () => {
  it('a released hold frees its budget; a settled one spends only what it cost', async () => {
    const ledger = new UsageLedger(newTable());
    const budget = { caller: 'b', callerNanoUsd: 2 * CENT };
    const first = await ledger.reserve(budget, 2 * CENT);
    await expect(ledger.reserve(budget, 1)).rejects.toBeInstanceOf(BudgetExceededError);
    await ledger.release(first);
    const second = await ledger.reserve(budget, 2 * CENT);
    await ledger.settle(second, { caller: 'b', model: 'gpt-image-2', images: 1, nanoUsd: CENT, unpricedImages: 0 });
    // Held 2 cents, spent 1: one cent is left, and no more.
    await ledger.reserve(budget, CENT);
    await expect(ledger.reserve(budget, 1)).rejects.toBeInstanceOf(BudgetExceededError);
  });

  it('a hold that was never settled (a crash) lapses after ten minutes', async () => {
    let now = Date.parse('2026-11-26T10:00:00Z');
    const ledger = new UsageLedger(newTable(), () => now);
    const budget = { caller: 'crashy', callerNanoUsd: CENT };
    await ledger.reserve(budget, CENT);
    now += 9 * 60_000;
    await expect(ledger.reserve(budget, CENT)).rejects.toBeInstanceOf(BudgetExceededError);
    now += 2 * 60_000;
    await expect(ledger.reserve(budget, CENT)).resolves.toBeDefined();
  });

  it('a budget set during the day starts from what its caller already spent that day', async () => {
    const table = newTable();
    const ledger = new UsageLedger(table);
    // Spent before any budget applied: no budget row, only totals.
    await ledger.settle(undefined, {
      caller: 'late',
      model: 'gpt-image-2',
      images: 1,
      nanoUsd: 3 * CENT,
      unpricedImages: 0,
    });
    await ledger.settle(undefined, {
      caller: 'other',
      model: 'gpt-image-2',
      images: 1,
      nanoUsd: 5 * CENT,
      unpricedImages: 0,
    });
    await expect(ledger.reserve({ caller: 'late', callerNanoUsd: 4 * CENT }, 2 * CENT)).rejects.toBeInstanceOf(
      BudgetExceededError,
    );
    await expect(ledger.reserve({ caller: 'late', callerNanoUsd: 4 * CENT }, CENT)).resolves.toBeDefined();
    // The app's starts from everyone's spend: 8 cents.
    const app = new UsageLedger(table);
    await expect(app.reserve({ caller: 'x', appNanoUsd: 10 * CENT }, 3 * CENT)).rejects.toBeInstanceOf(
      BudgetExceededError,
    );
    await expect(app.reserve({ caller: 'x', appNanoUsd: 10 * CENT }, 2 * CENT)).resolves.toBeDefined();
  });

  it('no budget, no hold: nothing to write before the call', async () => {
    expect(await new UsageLedger(newTable()).reserve({ caller: 'free' }, CENT)).toBeUndefined();
  });
});

describe('totals', () => {
  it('group by day, caller and model, between two days, for one caller or all', async () => {
    const days = ['2026-11-24T12:00:00Z', '2026-11-25T12:00:00Z', '2026-11-26T12:00:00Z'].map(Date.parse);
    let now = days[0];
    const table = newTable();
    const ledger = new UsageLedger(table, () => now);
    const spend = (caller: string, model: string, nanoUsd: number) =>
      ledger.settle(undefined, {
        caller,
        model,
        images: 1,
        nanoUsd,
        unpricedImages: model === 'gpt-image-1.5' ? 1 : 0,
      });
    for (const day of days) {
      now = day;
      await spend('a|b/c', 'gpt-image-2', 100);
      await spend('a|b/c', 'gpt-image-1.5', 0);
      await spend('z', 'gpt-image-2', 10);
    }
    const all = await ledger.totals({ from: '2026-11-25', to: '2026-11-26', groupBy: [] });
    expect(all).toEqual([{ requests: 6, images: 6, usd: 220 / 1e9, unpriced_images: 2 }]);
    const byCallerModel = await ledger.totals({ from: '2026-11-24', to: '2026-11-26', groupBy: ['caller', 'model'] });
    expect(byCallerModel).toEqual([
      { caller: 'a|b/c', model: 'gpt-image-1.5', requests: 3, images: 3, usd: 0, unpriced_images: 3 },
      { caller: 'a|b/c', model: 'gpt-image-2', requests: 3, images: 3, usd: 300 / 1e9, unpriced_images: 0 },
      { caller: 'z', model: 'gpt-image-2', requests: 3, images: 3, usd: 30 / 1e9, unpriced_images: 0 },
    ]);
    const oneCaller = await ledger.totals({ from: '2026-11-24', to: '2026-11-25', caller: 'z', groupBy: ['day'] });
    expect(oneCaller).toEqual([
      { day: '2026-11-24', requests: 1, images: 1, usd: 10 / 1e9, unpriced_images: 0 },
      { day: '2026-11-25', requests: 1, images: 1, usd: 10 / 1e9, unpriced_images: 0 },
    ]);
  });
});
