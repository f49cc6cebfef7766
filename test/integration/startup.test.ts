import { describe, expect, it } from 'vitest';
import { startHostExpectingFailure } from '../support/host.js';

describe('start-up', () => {
  it('the host refuses to start on a bad setting, naming it', async () => {
    const { code, output } = await startHostExpectingFailure({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURE_OPENAI_API_KEY: 'k' });
    expect(code).toBe(1);
    expect(output).toMatch(/AZURE_OPENAI_ENDPOINT: /);
  });

  it('the host refuses to start on a malformed price table, naming the entry', async () => {
    const table = JSON.stringify({ version: 'broken', models: { 'gpt-image-2': { source: 's', date: '2026-11-26', usd_per_million_tokens: { text_input: 5, image_input: 8, image_output: 0 }, output_tokens: { '1024x1024': { low: 1, medium: 2, high: 3 } } } } });
    const { code, output } = await startHostExpectingFailure({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURE_OPENAI_API_KEY: 'k', AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9', PRICE_TABLE: table });
    expect(code).toBe(1);
    expect(output).toMatch(/PRICE_TABLE: models\.gpt-image-2\.usd_per_million_tokens\.image_output: /);
  });
});
