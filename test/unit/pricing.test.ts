import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GenerationParams, ModelName } from '../../src/lib/models.js';
import { costJson, estimateJson, loadPriceTable, Prices, type Cost } from '../../src/lib/pricing.js';
import { localSettings } from '../support/settings.js';

// The shipped price table against figures worked out by hand (USD per 1M tokens × tokens, a
// one-byte prompt counted as one text token), and how usage, `auto` and an unpriced model are priced.

const prices = new Prices(loadPriceTable(undefined));
const params = (extra: Partial<GenerationParams>): GenerationParams => ({ prompt: 'x', n: 1, size: '1024x1024', ...extra });
const usdOf = (cost: Cost) => (cost.basis === 'unpriced' ? undefined : cost.nanoUsd / 1e9);

/** model, size, quality → USD for one image and the prompt 'x'. */
const BY_HAND: [ModelName, string, string, number][] = [
  ['gpt-image-2', '1024x1024', 'low', 0.013775],
  ['gpt-image-2', '1024x1024', 'medium', 0.053495],
  ['gpt-image-2', '1024x1024', 'high', 0.210725],
  ['gpt-image-2', '1536x1024', 'low', 0.020675],
  ['gpt-image-2', '1536x1024', 'medium', 0.080255],
  ['gpt-image-2', '1536x1024', 'high', 0.316085],
  ['gpt-image-2', '1024x1536', 'low', 0.020675],
  ['gpt-image-2', '1024x1536', 'medium', 0.080255],
  ['gpt-image-2', '1024x1536', 'high', 0.316085],
  ['gpt-image-1.5', '1024x1024', 'low', 0.008709],
  ['gpt-image-1.5', '1024x1024', 'medium', 0.033797],
  ['gpt-image-1.5', '1024x1024', 'high', 0.133125],
  ['gpt-image-1.5', '1024x1536', 'low', 0.013061],
  ['gpt-image-1.5', '1024x1536', 'medium', 0.050693],
  ['gpt-image-1.5', '1024x1536', 'high', 0.199685],
  ['gpt-image-1.5', '1536x1024', 'low', 0.012805],
  ['gpt-image-1.5', '1536x1024', 'medium', 0.050181],
  ['gpt-image-1.5', '1536x1024', 'high', 0.198661],
  ['gpt-image-1-mini', '1024x1024', 'low', 0.002178],
  ['gpt-image-1-mini', '1024x1024', 'medium', 0.00845],
  ['gpt-image-1-mini', '1024x1024', 'high', 0.033282],
  ['gpt-image-1-mini', '1024x1536', 'low', 0.003266],
  ['gpt-image-1-mini', '1024x1536', 'medium', 0.012674],
  ['gpt-image-1-mini', '1024x1536', 'high', 0.049922],
  ['gpt-image-1-mini', '1536x1024', 'low', 0.003202],
  ['gpt-image-1-mini', '1536x1024', 'medium', 0.012546],
  ['gpt-image-1-mini', '1536x1024', 'high', 0.049666],
];

describe('the shipped price table', () => {
  it('gives every current model a price, with its source and date', () => {
    const table = loadPriceTable(undefined);
    expect(Object.keys(table.models).sort()).toEqual(['gpt-image-1-mini', 'gpt-image-1.5', 'gpt-image-2']);
    for (const price of Object.values(table.models)) {
      expect(price.source.length).toBeGreaterThan(40);
      expect(price.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it.each(BY_HAND)('%s %s %s: the estimate and the table cost equal the hand-computed figure', (model, size, quality, usd) => {
    const asked = params({ size, quality });
    const estimate = prices.estimate(model, asked);
    expect(estimate).toMatchObject({ size, quality, images: 1, promptTokensAtMost: 1 });
    expect('nanoUsd' in estimate && estimate.nanoUsd / 1e9).toBeCloseTo(usd, 9);
    expect(usdOf(prices.cost(model, { output: { size, quality }, params: asked, images: 1 }))).toBeCloseTo(usd, 9);
  });

  it('multiplies the output by n, not the prompt', () => {
    const one = prices.estimate('gpt-image-1-mini', params({ quality: 'low' }));
    const three = prices.estimate('gpt-image-1-mini', params({ quality: 'low', n: 3 }));
    expect('nanoUsd' in three && three.nanoUsd).toBe(3 * 272 * 8_000 + 2_000);
    expect('nanoUsd' in one && one.nanoUsd).toBe(272 * 8_000 + 2_000);
  });

  it('counts a prompt at its UTF-8 bytes, the most tokens it can have', () => {
    const estimate = prices.estimate('gpt-image-1-mini', params({ prompt: 'é'.repeat(10), quality: 'low' }));
    expect(estimate).toMatchObject({ promptTokensAtMost: 20, nanoUsd: 20 * 2_000 + 272 * 8_000 });
  });

  it('scales gpt-image-2 sizes it does not list by pixel area from 1024x1024', () => {
    // 2048x2048 is four times 1024x1024: 4 × 7,024 tokens × $30/1M, plus the prompt at $5/1M.
    expect(prices.estimate('gpt-image-2', params({ size: '2048x2048', quality: 'high' }))).toMatchObject({ outputTokensPerImage: 28_096, nanoUsd: 842_880_000 + 5_000 });
    // 1280x720: 459 × 921,600 / 1,048,576 = 403.4 → 404 (rounded up: an estimate is never short).
    expect(prices.estimate('gpt-image-2', params({ size: '1280x720', quality: 'low' }))).toMatchObject({ outputTokensPerImage: 404 });
  });
});

describe('costs', () => {
  it('come from the service’s usage when present: text, image input and output tokens at their own rates', () => {
    const usage = { input_tokens: 20, input_tokens_details: { text_tokens: 12, image_tokens: 8 }, output_tokens: 1056, total_tokens: 1076 };
    // 12 × $5 + 8 × $8 + 1,056 × $32, per 1M tokens.
    const cost = prices.cost('gpt-image-1.5', { usage, output: { size: '1024x1024', quality: 'medium' }, params: params({ quality: 'medium' }), images: 1 });
    expect(cost).toEqual({ basis: 'usage', nanoUsd: 33_916_000, tableVersion: '2026-11-26' });
    // Without details, the input is text.
    expect(usdOf(prices.cost('gpt-image-1-mini', { usage: { input_tokens: 10, output_tokens: 272 }, output: {}, params: params({}), images: 1 }))).toBeCloseTo((10 * 2 + 272 * 8) / 1e6, 12);
  });

  it('come from the table at what the service made when usage is missing, or says nothing of the output', () => {
    const asked = params({ size: 'auto', quality: 'auto', n: 2 });
    // The service answered 1536x1024 high for auto: 2 × 6,208 × $8 + 1 × $2, per 1M tokens.
    for (const usage of [undefined, { input_tokens: 3 }]) {
      const cost = prices.cost('gpt-image-1-mini', { usage, output: { size: '1536x1024', quality: 'high' }, params: asked, images: 2 });
      expect(cost).toEqual({ basis: 'table', nanoUsd: (2 * 6208 * 8 + 2) * 1000, tableVersion: '2026-11-26' });
    }
  });

  it('price auto at the dearest it can become, never 0, when nobody says what it became', () => {
    const auto = params({ size: 'auto', quality: 'auto' });
    // gpt-image-1-mini's dearest listed size at high is 1024x1536 (6,240 tokens).
    expect(prices.estimate('gpt-image-1-mini', auto)).toMatchObject({ size: '1024x1536', quality: 'high', nanoUsd: (6240 * 8 + 2) * 1000 });
    expect(prices.cost('gpt-image-1-mini', { output: {}, params: auto, images: 1 })).toMatchObject({ basis: 'table', nanoUsd: (6240 * 8 + 2) * 1000 });
    // gpt-image-2 has no auto quality: unset, it is priced as high.
    expect(prices.estimate('gpt-image-2', params({ size: 'auto' }))).toMatchObject({ size: '1536x1024', quality: 'high', outputTokensPerImage: 10_536 });
  });

  it('share a generation among its images in the record', () => {
    const cost: Cost = { basis: 'usage', nanoUsd: 4_356_000, tableVersion: 'v' };
    expect(costJson(cost, 2)).toEqual({ usd: 0.002178, generation_usd: 0.004356, basis: 'usage', table_version: 'v' });
    expect(costJson(cost)).toEqual({ usd: 0.004356, basis: 'usage', table_version: 'v' });
  });
});

describe('an unpriced model', () => {
  const table = loadPriceTable(JSON.stringify({ version: 'only-mini', models: { 'gpt-image-1-mini': loadPriceTable(undefined).models['gpt-image-1-mini'] } }));
  const partial = new Prices(table);

  it('is marked unpriced, never 0, in the estimate, the cost and the record', () => {
    const estimate = partial.estimate('gpt-image-2', params({}));
    expect(estimate).toEqual({ unpriced: true, reason: 'the price table only-mini has no price for gpt-image-2' });
    expect(estimateJson(estimate, table.version)).toEqual({ unpriced: true, reason: 'the price table only-mini has no price for gpt-image-2', table_version: 'only-mini' });
    const cost = partial.cost('gpt-image-2', { usage: { output_tokens: 7024 }, output: {}, params: params({}), images: 1 });
    expect(cost.basis).toBe('unpriced');
    expect(costJson(cost)).toEqual({ unpriced: true, reason: 'the price table only-mini has no price for gpt-image-2', table_version: 'only-mini' });
    expect(costJson(cost)).not.toHaveProperty('usd');
  });
});

describe('PRICE_TABLE', () => {
  const shipped = loadPriceTable(undefined);

  it('takes a replacement table as JSON or as a file', () => {
    const replacement = { ...shipped, version: 'contract-2027-01' };
    expect(localSettings({ PRICE_TABLE: JSON.stringify(replacement) }).PRICE_TABLE.version).toBe('contract-2027-01');
    const file = join(mkdtempSync(join(tmpdir(), 'prices-')), 'prices.json');
    writeFileSync(file, JSON.stringify(replacement));
    expect(localSettings({ PRICE_TABLE: file }).PRICE_TABLE.version).toBe('contract-2027-01');
    expect(localSettings().PRICE_TABLE.version).toBe(shipped.version);
  });

  it.each([
    ['a negative rate', (t: any) => (t.models['gpt-image-2'].usd_per_million_tokens.image_output = -1), 'PRICE_TABLE: models.gpt-image-2.usd_per_million_tokens.image_output'],
    ['a quality missing', (t: any) => delete t.models['gpt-image-1.5'].output_tokens['1024x1024'].medium, 'PRICE_TABLE: models.gpt-image-1.5.output_tokens.1024x1024.medium'],
    ['a size that is not a size', (t: any) => (t.models['gpt-image-1-mini'].output_tokens.square = { low: 1, medium: 2, high: 3 }), 'PRICE_TABLE: models.gpt-image-1-mini.output_tokens.square'],
    ['a model the app does not serve', (t: any) => (t.models['gpt-image-9'] = t.models['gpt-image-2']), 'PRICE_TABLE: models.gpt-image-9: is not a model this app serves'],
    ['no source', (t: any) => delete t.models['gpt-image-2'].source, 'PRICE_TABLE: models.gpt-image-2.source'],
    ['a scale from a size it does not list', (t: any) => (t.models['gpt-image-2'].scale_other_sizes_from = '512x512'), 'PRICE_TABLE: models.gpt-image-2.scale_other_sizes_from'],
  ])('stops start-up naming the entry at fault: %s', (_, spoil, message) => {
    const table = structuredClone(shipped) as any;
    spoil(table);
    expect(() => localSettings({ PRICE_TABLE: JSON.stringify(table) })).toThrow(message);
  });

  it('stops start-up on a file that cannot be read or is not JSON', () => {
    expect(() => localSettings({ PRICE_TABLE: '/nonexistent/prices.json' })).toThrow(/PRICE_TABLE: cannot read the file \/nonexistent\/prices\.json/);
    expect(() => localSettings({ PRICE_TABLE: '{"version": ' })).toThrow(/PRICE_TABLE: is not valid JSON/);
  });
});
