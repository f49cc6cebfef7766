import { describe, expect, it } from 'vitest';
import { deploymentLifecycles, RETIREMENT_NOTICE_DAYS } from '../../src/lib/lifecycle.js';
import { CURRENT_MODELS, daysUntilRetirement, isRetired, MODELS } from '../../src/lib/models.js';
import { localSettings } from '../support/settings.js';

const settings = localSettings({
  AZURE_OPENAI_DEPLOYMENTS: 'g2=gpt-image-2,mini=gpt-image-1-mini',
});

describe('model lifecycle', () => {
  it('today’s table: dall-e-3 and gpt-image-1 retired, three current models', () => {
    expect(isRetired('dall-e-3')).toBe(true);
    expect(isRetired('gpt-image-1')).toBe(true);
    expect(CURRENT_MODELS).toEqual(['gpt-image-1-mini', 'gpt-image-1.5', 'gpt-image-2']);
    expect(MODELS['gpt-image-2']).toMatchObject({ version: '2026-04-21', lifecycle: { stage: 'ga', retires: '2027-10-21' } });
  });

  it('warns of a retirement within 90 days, and not before', () => {
    const mini = (now: string) => deploymentLifecycles(settings, new Date(now)).find((d) => d.deployment === 'mini')!;
    // gpt-image-1-mini retires 2027-04-07.
    expect(mini('2026-11-26T00:00:00Z')).toMatchObject({ model: 'gpt-image-1-mini', version: '2025-10-06', retires: '2027-04-07', days_left: 132 });
    expect(mini('2026-11-26T00:00:00Z').warning).toBeUndefined();
    expect(daysUntilRetirement('gpt-image-1-mini', new Date('2027-01-07T00:00:00Z'))).toBe(RETIREMENT_NOTICE_DAYS);
    expect(mini('2027-01-07T00:00:00Z').warning).toMatch(/mini: model gpt-image-1-mini retires on 2027-04-07, in 90 days/);
    expect(mini('2027-01-06T00:00:00Z').warning).toBeUndefined();
    expect(mini('2027-04-08T00:00:00Z').warning).toMatch(/retired on 2027-04-07/);
    expect(deploymentLifecycles(settings, new Date('2027-01-07T00:00:00Z')).find((d) => d.deployment === 'g2')!.warning).toBeUndefined();
  });
});
