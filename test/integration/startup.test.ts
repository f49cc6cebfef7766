import { describe, expect, it } from 'vitest';
import { startHostExpectingFailure } from '../support/host.js';

describe('start-up', () => {
  it('the host refuses to start on a bad setting, naming it', async () => {
    const { code, output } = await startHostExpectingFailure({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURE_OPENAI_API_KEY: 'k' });
    expect(code).toBe(1);
    expect(output).toMatch(/AZURE_OPENAI_ENDPOINT: /);
  });
});
