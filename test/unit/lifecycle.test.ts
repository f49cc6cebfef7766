import { describe, expect, it } from 'vitest';
import { deploymentLifecycles, RETIREMENT_NOTICE_DAYS } from '../../src/lib/core/lifecycle.js';
import { loadPriceTable } from '../../src/lib/core/priceTable.js';
import { deploymentPrices } from '../../src/lib/cost/pricing.js';
import { CURRENT_MODELS, daysUntilRetirement, isRetired, MODELS } from '../../src/lib/core/models.js';
import { localSettings } from '../support/settings.js';

const settings = localSettings({
  AZURE_OPENAI_DEPLOYMENTS: 'g2=gpt-image-2,mini=gpt-image-1-mini',
});

describe('model lifecycle', () => {
  it('today’s table: dall-e-3 and gpt-image-1 retired, three current models', () => {
    expect(isRetired('dall-e-3')).toBe(true);
    expect(isRetired('gpt-image-1')).toBe(true);
    expect(CURRENT_MODELS).toEqual(['gpt-image-1-mini', 'gpt-image-1.5', 'gpt-image-2']);
    expect(MODELS['gpt-image-2']).toMatchObject({
      version: '2026-04-21',
      lifecycle: { stage: 'ga', retires: '2027-10-21' },
    });
  });

  it('warns of a retirement within 90 days, and not before', () => {
    const mini = (now: string) => deploymentLifecycles(settings, new Date(now)).find((d) => d.deployment === 'mini')!;
    // gpt-image-1-mini retires 2027-04-07.
    expect(mini('2026-11-26T00:00:00Z')).toMatchObject({
      model: 'gpt-image-1-mini',
      version: '2025-10-06',
      retires: '2027-04-07',
      days_left: 132,
    });
    expect(mini('2026-11-26T00:00:00Z').warning).toBeUndefined();
    expect(daysUntilRetirement('gpt-image-1-mini', new Date('2027-01-07T00:00:00Z'))).toBe(RETIREMENT_NOTICE_DAYS);
    expect(mini('2027-01-07T00:00:00Z').warning).toMatch(
      /mini: model gpt-image-1-mini retires on 2027-04-07, in 90 days/,
    );
    expect(mini('2027-01-06T00:00:00Z').warning).toBeUndefined();
    expect(mini('2027-04-08T00:00:00Z').warning).toMatch(/retired on 2027-04-07/);
    expect(
      deploymentLifecycles(settings, new Date('2027-01-07T00:00:00Z')).find((d) => d.deployment === 'g2')!.warning,
    ).toBeUndefined();
  });
});

describe('deployment prices', () => {
  const shipped = loadPriceTable(undefined);
  const withTable = (models: Record<string, unknown>, extra: Record<string, string> = {}) =>
    localSettings({
      AZURE_OPENAI_DEPLOYMENTS: 'g2=gpt-image-2,mini=gpt-image-1-mini',
      PRICE_TABLE: JSON.stringify({ version: 't', models }),
      ...extra,
    });

  it('the shipped table prices every size of every deployment: no warning', () => {
    expect(deploymentPrices(settings)).toEqual([
      { deployment: 'g2', model: 'gpt-image-2', table_version: shipped.version, billing: 'per_token' },
      { deployment: 'mini', model: 'gpt-image-1-mini', table_version: shipped.version, billing: 'per_token' },
    ]);
  });

  it('warns of a model without a price, of sizes a table leaves out, and of free sizes priced by a list; says what happens to such requests', () => {
    const { '1536x1024': _wide, ...twoSizes } = (
      shipped.models['gpt-image-1-mini'] as { output_tokens: Record<string, unknown> }
    ).output_tokens;
    const tokenTable = { ...shipped.models['gpt-image-1.5'] };
    const missing = deploymentPrices(
      withTable({ 'gpt-image-1-mini': { ...shipped.models['gpt-image-1-mini'], output_tokens: twoSizes } }),
    );
    expect(missing.map((p) => p.warning)).toEqual([
      'Deployment g2: model gpt-image-2 has no price in the price table t; such requests are refused with 403 PriceNotFound before Azure OpenAI is called (ALLOW_UNPRICED_MODELS is off).',
      'Deployment mini: the price table t has no price for gpt-image-1-mini at 1536x1024; such requests are refused with 403 PriceNotFound before Azure OpenAI is called (ALLOW_UNPRICED_MODELS is off).',
    ]);
    const listed = deploymentPrices(
      withTable(
        { 'gpt-image-2': tokenTable, 'gpt-image-1-mini': shipped.models['gpt-image-1-mini'] },
        { ALLOW_UNPRICED_MODELS: 'true', UNPRICED_IMAGE_ESTIMATE_USD: '0.25' },
      ),
    );
    expect(listed[0].warning).toBe(
      'Deployment g2: the price table t prices gpt-image-2 only at the sizes it lists, not every size the model takes; such requests are served (ALLOW_UNPRICED_MODELS), holding $0.25 per image on the budgets, and recorded as unpriced.',
    );
    expect(listed[1].warning).toBeUndefined();
  });
});
