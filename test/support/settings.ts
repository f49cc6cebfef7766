import { loadSettings, type Settings } from '../../src/lib/platform/settings.js';

/** Valid local settings (a static key, a storage connection string), with `changes` on top. */
export function localSettings(changes: Record<string, string | undefined> = {}): Settings {
  return loadSettings({
    AZURE_OPENAI_ENDPOINT: 'https://example.openai.azure.com',
    AZURE_OPENAI_API_KEY: 'k',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    WEBHOOK_SIGNING_KEY: 'test-signing-key',
    ...changes,
  });
}
