import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { BudgetExceededError } from '../../src/lib/core/errors.js';
import { UsageLedger, utcDay } from '../../src/lib/cost/ledger.js';
import { MeteredGenerator } from '../../src/lib/cost/metering.js';
import type { ImageGenerator } from '../../src/lib/generation/generator.js';
import { prices, target, generation } from '../support/metering.js';
import { uniqueName } from '../support/stack.js';

// Every paid image is counted: a settlement that meets a Storage outage is tried again until Storage
// answers, after the answer, and counted once. Azurite of its own, stopped for real while the
// settlement is due and started again on the same ports with the same data (as outage.test.ts does).

// Held $0.002186, spent $0.00218 (metering.test.ts works them out): a budget of 1.5 holds leaves room for one image.
const BUDGET_USD = 0.002186 * 1.5;

let location: string;
let azurite: Azurite;
let ports: { blobPort: number; queuePort: number; tablePort: number };
const port = (endpoint: string) => Number(new URL(endpoint).port);

beforeAll(async () => {
  location = mkdtempSync(join(tmpdir(), 'azurite-settlement-'));
  azurite = await startAzurite({ location, silent: true });
  ports = {
    blobPort: port(azurite.blobEndpoint),
    queuePort: port(azurite.queueEndpoint),
    tablePort: port(azurite.tableEndpoint),
  };
});
afterAll(async () => {
  await azurite?.stop();
  rmSync(location, { recursive: true, force: true });
});

describe('a settlement during a Storage outage', () => {
  it('is tried again until Storage answers: the ledger counts the image once, and its budget spent', async () => {
    const table = TableClient.fromConnectionString(azurite.connectionString, uniqueName('settle').replaceAll('-', ''), {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
    const ledger = new UsageLedger(table);
    const caller = { name: uniqueName('caller'), kind: 'key' as const, daily_budget_usd: BUDGET_USD };
    // The service answers while Storage is away: the hold was taken before, the settlement is due now.
    const service: ImageGenerator = {
      generate: async () => {
        await azurite.stop();
        return generation;
      },
      stream: () => Promise.reject(new Error('not here')),
    };
    const warnings: string[] = [];
    const metered = new MeteredGenerator(service, {
      prices,
      models: new Map([['mini', 'gpt-image-1-mini']]),
      ledger,
      warn: (m) => warnings.push(m),
    });

    const made = await metered.generate(target, { caller });
    // The answer does not wait for Storage's return.
    await made.settled;
    expect(warnings).toEqual([
      expect.stringMatching(/^Could not settle \$0\.00218 for .* Trying again until Storage answers\.$/),
    ]);

    await new Promise((r) => setTimeout(r, 2_000));
    azurite = await startAzurite({ location, silent: true, ...ports });
    await metered.settlements();
    expect(warnings.at(-1)).toMatch(/^Settled \$0\.00218 for .* once Storage answered\.$/);
    const today = utcDay(Date.now());
    expect(await ledger.totals({ from: today, to: today, caller: caller.name, groupBy: [] })).toEqual([
      { requests: 1, images: 1, usd: 0.00218, unpriced_images: 0 },
    ]);
    // The hold became the spend: another image would pass the budget (a lapsed or lost hold would let it in).
    await expect(
      ledger.reserve({ caller: caller.name, callerNanoUsd: Math.round(BUDGET_USD * 1e9) }, 2_186_000),
    ).rejects.toBeInstanceOf(BudgetExceededError);
  }, 60_000);
});

describe('a settlement tried again', () => {
  it('is not counted twice when the first try reached Storage after all', async () => {
    const ledger = new UsageLedger(
      TableClient.fromConnectionString(inject('azurite').connectionString, uniqueName('again').replaceAll('-', ''), {
        allowInsecureConnection: true,
      }),
    );
    const caller = uniqueName('caller');
    const hold = await ledger.reserve({ caller, callerNanoUsd: 10_000_000 }, 2_186_000);
    const spend = { caller, model: 'gpt-image-2', images: 1, nanoUsd: 2_180_000, unpricedImages: 0 };
    await ledger.settle(hold, spend);
    await ledger.settle(hold, spend, true);
    const today = utcDay(Date.now());
    expect(await ledger.totals({ from: today, to: today, caller, groupBy: [] })).toEqual([
      { requests: 1, images: 1, usd: 0.00218, unpriced_images: 0 },
    ]);
    // Without a hold there is nothing to tell by: a settlement tried again counts.
    await ledger.settle(undefined, spend, true);
    expect((await ledger.totals({ from: today, to: today, caller, groupBy: [] }))[0].images).toBe(2);
  });
});
