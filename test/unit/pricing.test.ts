import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkGptImage2Size, type GenerationParams, type ModelName } from '../../src/lib/core/models.js';
import { loadPriceTable } from '../../src/lib/core/priceTable.js';
import { costJson, estimateJson, Prices, type Cost } from '../../src/lib/cost/pricing.js';
import { localSettings } from '../support/settings.js';

// The shipped price table against figures worked out by hand (USD per 1M tokens × tokens, a
// one-byte prompt counted as one text token) and against the contract's gpt-image-2 examples, and how
// usage, `auto`, per-image prices and an unpriced model are priced.

const prices = new Prices(loadPriceTable(undefined));
const params = (extra: Partial<GenerationParams>): GenerationParams => ({
  prompt: 'x',
  n: 1,
  size: '1024x1024',
  ...extra,
});
const usdOf = (cost: Cost) => (cost.basis === 'unpriced' ? undefined : cost.nanoUsd / 1e9);

/**
 * model, size, quality → USD for one image and the prompt 'x'. gpt-image-2's figures changed with the
 * contract of 2026-12-02 (its tokens by the price calculator's formula, not by pixel area): all but
 * 1024x1024 high were wrong before (low 0.013775 → 0.005885, medium 0.053495 → 0.052685; 1536x1024
 * and 1024x1536 low 0.020675 → 0.004745, medium 0.080255 → 0.041165, high 0.316085 → 0.164645).
 */
const BY_HAND: [ModelName, string, string, number][] = [
  ['gpt-image-2', '1024x1024', 'low', 0.005885],
  ['gpt-image-2', '1024x1024', 'medium', 0.052685],
  ['gpt-image-2', '1024x1024', 'high', 0.210725],
  ['gpt-image-2', '1536x1024', 'low', 0.004745],
  ['gpt-image-2', '1536x1024', 'medium', 0.041165],
  ['gpt-image-2', '1536x1024', 'high', 0.164645],
  ['gpt-image-2', '1024x1536', 'low', 0.004745],
  ['gpt-image-2', '1024x1536', 'medium', 0.041165],
  ['gpt-image-2', '1024x1536', 'high', 0.164645],
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

/** docs/azure-openai-contract.md (2026-12-02): gpt-image-2's output tokens, and OpenAI's published per-image USD where it gives one. */
const CONTRACT_GPT_IMAGE_2: [size: string, quality: string, tokens: number, publishedUsd?: number][] = [
  ['1024x1024', 'low', 196, 0.006],
  ['1024x1024', 'medium', 1756, 0.053],
  ['1024x1024', 'high', 7024, 0.211],
  ['1536x1024', 'low', 158, 0.005],
  ['1536x1024', 'medium', 1372, 0.041],
  ['1536x1024', 'high', 5488, 0.165],
  ['1024x1536', 'low', 158, 0.005],
  ['1024x1536', 'medium', 1372, 0.041],
  ['1024x1536', 'high', 5488, 0.165],
  ['1792x1024', 'high', 5063],
  ['2048x2048', 'high', 14272],
  ['3840x2160', 'high', 13342],
];

describe('gpt-image-2 in the shipped table', () => {
  it.each(CONTRACT_GPT_IMAGE_2)(
    "%s %s: the contract's %i output tokens, within 1 %, in the estimate and the cost without usage",
    (size, quality, tokens, publishedUsd) => {
      const asked = params({ size, quality, prompt: '' });
      const estimate = prices.estimate('gpt-image-2', asked);
      expect(estimate).toMatchObject({ size, quality });
      const estimated = (estimate as { outputTokensPerImage: number }).outputTokensPerImage;
      expect(Math.abs(estimated - tokens)).toBeLessThanOrEqual(0.01 * tokens);
      // At $30 per 1M output tokens; an answer without usage is costed alike.
      const usdEach = tokens * 30e-6;
      expect(Math.abs((estimate as { nanoUsd: number }).nanoUsd / 1e9 - usdEach)).toBeLessThanOrEqual(0.01 * usdEach);
      expect(
        Math.abs(usdOf(prices.cost('gpt-image-2', { output: { size, quality }, params: asked, images: 1 }))! - usdEach),
      ).toBeLessThanOrEqual(0.01 * usdEach);
      // OpenAI's published per-image prices, given to the tenth of a cent.
      if (publishedUsd !== undefined)
        expect((estimate as { nanoUsd: number }).nanoUsd / 1e9).toBeCloseTo(publishedUsd, 3);
    },
  );

  it('prices every size gpt-image-2 takes, at every quality: none is unpriced, none is scaled by area', () => {
    let sizes = 0;
    for (let width = 256; width <= 3840; width += 128) {
      for (let height = 256; height <= 3840; height += 128) {
        const size = `${width}x${height}`;
        if (checkGptImage2Size(size) !== undefined) continue;
        sizes++;
        for (const quality of ['low', 'medium', 'high']) {
          const estimate = prices.estimate('gpt-image-2', params({ size, quality }));
          expect(estimate, `${size} ${quality}`).toHaveProperty('outputTokensPerImage');
        }
      }
    }
    expect(sizes).toBeGreaterThan(300);
    // Area would make 2048x2048 four times 1024x1024 (28,096): the formula says 14,272.
    expect(prices.estimate('gpt-image-2', params({ size: '2048x2048', quality: 'high' }))).toMatchObject({
      outputTokensPerImage: 14_272,
      nanoUsd: 14_272 * 30_000 + 5_000,
    });
    // 1280x720 low: s = round(16 × 720 / 1280) = 9; ceil(16 × 9 × 2,921,600 / 4,000,000) = ceil(105.2) = 106.
    expect(prices.estimate('gpt-image-2', params({ size: '1280x720', quality: 'low' }))).toMatchObject({
      outputTokensPerImage: 106,
    });
  });
});

describe('the shipped price table', () => {
  it('gives every current model a price, with its source and date', () => {
    const table = loadPriceTable(undefined);
    expect(Object.keys(table.models).sort()).toEqual(['gpt-image-1-mini', 'gpt-image-1.5', 'gpt-image-2']);
    for (const price of Object.values(table.models)) {
      expect(price.source.length).toBeGreaterThan(40);
      expect(price.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(price.billing).toBe('per_token');
    }
    expect(table.models['gpt-image-2']).toMatchObject({
      date: '2026-12-02',
      source: expect.stringContaining('price calculator'),
    });
  });

  it.each(BY_HAND)(
    '%s %s %s: the estimate and the table cost equal the hand-computed figure',
    (model, size, quality, usd) => {
      const asked = params({ size, quality });
      const estimate = prices.estimate(model, asked);
      expect(estimate).toMatchObject({ size, quality, images: 1, promptTokensAtMost: 1 });
      expect('nanoUsd' in estimate && estimate.nanoUsd / 1e9).toBeCloseTo(usd, 9);
      expect(usdOf(prices.cost(model, { output: { size, quality }, params: asked, images: 1 }))).toBeCloseTo(usd, 9);
    },
  );

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
});

describe('costs', () => {
  it('come from the service’s usage when present: text, image input and output tokens at their own rates', () => {
    const usage = {
      input_tokens: 20,
      input_tokens_details: { text_tokens: 12, image_tokens: 8 },
      output_tokens: 1056,
      total_tokens: 1076,
    };
    // 12 × $5 + 8 × $8 + 1,056 × $32, per 1M tokens.
    const cost = prices.cost('gpt-image-1.5', {
      usage,
      output: { size: '1024x1024', quality: 'medium' },
      params: params({ quality: 'medium' }),
      images: 1,
    });
    expect(cost).toEqual({ basis: 'usage', nanoUsd: 33_916_000, tableVersion: '2026-12-02' });
    // Without details, the input is text.
    expect(
      usdOf(
        prices.cost('gpt-image-1-mini', {
          usage: { input_tokens: 10, output_tokens: 272 },
          output: {},
          params: params({}),
          images: 1,
        }),
      ),
    ).toBeCloseTo((10 * 2 + 272 * 8) / 1e6, 12);
  });

  it('come from the table at what the service made when usage is missing, or says nothing of the output', () => {
    const asked = params({ size: 'auto', quality: 'auto', n: 2 });
    // The service answered 1536x1024 high for auto: 2 × 6,208 × $8 + 1 × $2, per 1M tokens.
    for (const usage of [undefined, { input_tokens: 3 }]) {
      const cost = prices.cost('gpt-image-1-mini', {
        usage,
        output: { size: '1536x1024', quality: 'high' },
        params: asked,
        images: 2,
      });
      expect(cost).toEqual({ basis: 'table', nanoUsd: (2 * 6208 * 8 + 2) * 1000, tableVersion: '2026-12-02' });
    }
  });

  it('price auto at the dearest it can become, never 0, when nobody says what it became', () => {
    const auto = params({ size: 'auto', quality: 'auto' });
    // gpt-image-1-mini's dearest listed size at high is 1024x1536 (6,240 tokens).
    expect(prices.estimate('gpt-image-1-mini', auto)).toMatchObject({
      size: '1024x1536',
      quality: 'high',
      nanoUsd: (6240 * 8 + 2) * 1000,
    });
    expect(prices.cost('gpt-image-1-mini', { output: {}, params: auto, images: 1 })).toMatchObject({
      basis: 'table',
      nanoUsd: (6240 * 8 + 2) * 1000,
    });
    // gpt-image-2 has no auto quality: unset, it is priced as high; auto is the dearest of its
    // auto_sizes, 1024x1024 by the formula (was 1536x1024 at 10,536 tokens by area: wrong, per the contract).
    expect(prices.estimate('gpt-image-2', params({ size: 'auto' }))).toMatchObject({
      size: '1024x1024',
      quality: 'high',
      outputTokensPerImage: 7_024,
    });
  });

  it('share a generation among its images in the record', () => {
    const cost: Cost = { basis: 'usage', nanoUsd: 4_356_000, tableVersion: 'v' };
    expect(costJson(cost, 2)).toEqual({ usd: 0.002178, generation_usd: 0.004356, basis: 'usage', table_version: 'v' });
    expect(costJson(cost)).toEqual({ usd: 0.004356, basis: 'usage', table_version: 'v' });
  });
});

describe('an unpriced model', () => {
  const table = loadPriceTable(
    JSON.stringify({
      version: 'only-mini',
      models: { 'gpt-image-1-mini': loadPriceTable(undefined).models['gpt-image-1-mini'] },
    }),
  );
  const partial = new Prices(table);

  it('is marked unpriced, never 0, in the estimate, the cost and the record', () => {
    const estimate = partial.estimate('gpt-image-2', params({}));
    expect(estimate).toEqual({
      unpriced: true,
      missing: 'model',
      reason: 'the price table only-mini has no price for gpt-image-2',
    });
    expect(estimateJson(estimate, table.version)).toEqual({
      unpriced: true,
      reason: 'the price table only-mini has no price for gpt-image-2',
      table_version: 'only-mini',
    });
    const cost = partial.cost('gpt-image-2', {
      usage: { output_tokens: 7024 },
      output: {},
      params: params({}),
      images: 1,
    });
    expect(cost.basis).toBe('unpriced');
    expect(costJson(cost)).toEqual({
      unpriced: true,
      reason: 'the price table only-mini has no price for gpt-image-2',
      table_version: 'only-mini',
    });
    expect(costJson(cost)).not.toHaveProperty('usd');
  });
});

describe('a model priced per image', () => {
  // gpt-image-1-mini at OpenAI's published per-image prices, as an operator's contract might say.
  const table = loadPriceTable(
    JSON.stringify({
      version: 'per-image',
      models: {
        'gpt-image-1-mini': {
          source: 'OpenAI published per-image prices (contract)',
          date: '2026-12-02',
          billing: 'per_image',
          usd_per_image: {
            '1024x1024': { low: 0.005, medium: 0.011, high: 0.036 },
            '1536x1024': { low: 0.006, medium: 0.015, high: 0.052 },
          },
        },
      },
    }),
  );
  const perImage = new Prices(table);

  it('estimates n images at the price of the size and quality, auto at the dearest listed, the prompt free', () => {
    expect(perImage.estimate('gpt-image-1-mini', params({ quality: 'medium', n: 3 }))).toEqual({
      nanoUsd: 33_000_000,
      images: 3,
      size: '1024x1024',
      quality: 'medium',
      promptTokensAtMost: 1,
    });
    expect(perImage.estimate('gpt-image-1-mini', params({ size: 'auto', quality: 'auto' }))).toMatchObject({
      nanoUsd: 52_000_000,
      size: '1536x1024',
      quality: 'high',
    });
    expect(
      estimateJson(perImage.estimate('gpt-image-1-mini', params({ quality: 'low' })), 'per-image'),
    ).not.toHaveProperty('output_tokens_per_image');
  });

  it('costs what the service made at the table price, whatever its usage says', () => {
    const cost = perImage.cost('gpt-image-1-mini', {
      usage: { output_tokens: 99_999 },
      output: { size: '1536x1024', quality: 'low' },
      params: params({ size: 'auto', n: 2 }),
      images: 2,
    });
    expect(cost).toEqual({ basis: 'table', nanoUsd: 12_000_000, tableVersion: 'per-image' });
  });

  it('leaves a size it does not list unpriced, naming the size', () => {
    expect(perImage.estimate('gpt-image-1-mini', params({ size: '1024x1536' }))).toEqual({
      unpriced: true,
      missing: 'size',
      reason: 'the price table per-image has no price for gpt-image-1-mini at 1024x1536',
    });
  });
});

describe('PRICE_TABLE', () => {
  const shipped = loadPriceTable(undefined);

  it('takes a table written before billing existed: per token', () => {
    const old = structuredClone(shipped) as any;
    delete old.models['gpt-image-1.5'].billing;
    expect(localSettings({ PRICE_TABLE: JSON.stringify(old) }).PRICE_TABLE.models['gpt-image-1.5']).toMatchObject({
      billing: 'per_token',
    });
  });

  it('takes a replacement table as JSON or as a file', () => {
    const replacement = { ...shipped, version: 'contract-2027-01' };
    expect(localSettings({ PRICE_TABLE: JSON.stringify(replacement) }).PRICE_TABLE.version).toBe('contract-2027-01');
    const file = join(mkdtempSync(join(tmpdir(), 'prices-')), 'prices.json');
    writeFileSync(file, JSON.stringify(replacement));
    expect(localSettings({ PRICE_TABLE: file }).PRICE_TABLE.version).toBe('contract-2027-01');
    expect(localSettings().PRICE_TABLE.version).toBe(shipped.version);
  });

  it.each([
    [
      'a negative rate',
      (t: any) => (t.models['gpt-image-2'].usd_per_million_tokens.image_output = -1),
      'PRICE_TABLE: models.gpt-image-2.usd_per_million_tokens.image_output',
    ],
    [
      'a quality missing',
      (t: any) => delete t.models['gpt-image-1.5'].output_tokens['1024x1024'].medium,
      'PRICE_TABLE: models.gpt-image-1.5.output_tokens.1024x1024.medium',
    ],
    [
      'a size that is not a size',
      (t: any) => (t.models['gpt-image-1-mini'].output_tokens.square = { low: 1, medium: 2, high: 3 }),
      'PRICE_TABLE: models.gpt-image-1-mini.output_tokens.square',
    ],
    [
      'a model the app does not serve',
      (t: any) => (t.models['gpt-image-9'] = t.models['gpt-image-2']),
      'PRICE_TABLE: models.gpt-image-9: is not a model this app serves',
    ],
    ['no source', (t: any) => delete t.models['gpt-image-2'].source, 'PRICE_TABLE: models.gpt-image-2.source'],
    [
      'scaling by area, which overestimates',
      (t: any) => (t.models['gpt-image-1.5'].scale_other_sizes_from = '1024x1024'),
      'PRICE_TABLE: models.gpt-image-1.5.scale_other_sizes_from: is no longer taken',
    ],
    [
      'both a token table and a formula',
      (t: any) => (t.models['gpt-image-2'].output_tokens = t.models['gpt-image-1.5'].output_tokens),
      'PRICE_TABLE: models.gpt-image-2.output_tokens: give either',
    ],
    [
      'a formula without the sizes auto may become',
      (t: any) => delete t.models['gpt-image-2'].auto_sizes,
      'PRICE_TABLE: models.gpt-image-2.auto_sizes',
    ],
    [
      'an unknown formula',
      (t: any) => (t.models['gpt-image-2'].output_tokens_formula.name = 'by-area'),
      'PRICE_TABLE: models.gpt-image-2.output_tokens_formula.name',
    ],
    [
      'an unknown billing',
      (t: any) => (t.models['gpt-image-2'].billing = 'per_second'),
      'PRICE_TABLE: models.gpt-image-2.billing',
    ],
    [
      'a per-image price without prices',
      (t: any) => (t.models['gpt-image-1-mini'] = { source: 's', date: '2026-12-02', billing: 'per_image' }),
      'PRICE_TABLE: models.gpt-image-1-mini.usd_per_image',
    ],
  ])('stops start-up naming the entry at fault: %s', (_, spoil, message) => {
    const table = structuredClone(shipped) as any;
    spoil(table);
    expect(() => localSettings({ PRICE_TABLE: JSON.stringify(table) })).toThrow(message);
  });

  it('stops start-up on a file that cannot be read or is not JSON', () => {
    expect(() => localSettings({ PRICE_TABLE: '/nonexistent/prices.json' })).toThrow(
      /PRICE_TABLE: cannot read the file \/nonexistent\/prices\.json/,
    );
    expect(() => localSettings({ PRICE_TABLE: '{"version": ' })).toThrow(/PRICE_TABLE: is not valid JSON/);
  });
});
