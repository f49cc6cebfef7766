import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, SETTING_NAMES, SettingsError } from '../../src/lib/settings.js';

const minimal = {
  AZURE_OPENAI_ENDPOINT: 'https://example.openai.azure.com',
  KEY_VAULT_URI: 'https://kv-example.vault.azure.net',
  AzureWebJobsStorage__blobServiceUri: 'https://st.blob.core.windows.net',
  AzureWebJobsStorage__queueServiceUri: 'https://st.queue.core.windows.net',
  AzureWebJobsStorage__tableServiceUri: 'https://st.table.core.windows.net',
};

describe('settings', () => {
  it('parse once with defaults', () => {
    const settings = loadSettings(minimal);
    expect(settings.AZURE_OPENAI_DEPLOYMENTS).toEqual(new Map([['gpt-image-2', 'gpt-image-2']]));
    expect(settings.AZURE_OPENAI_DEFAULT_DEPLOYMENT).toBe('gpt-image-2');
    expect(settings.AZURE_OPENAI_SUCCESSOR_DEPLOYMENT).toBe('gpt-image-2');
    expect(settings.AZURE_OPENAI_API_VERSION).toBe('v1');
    expect(settings.KEY_CACHE_TTL_SECONDS).toBe(3600);
    expect(settings.IMAGES_CONTAINER).toBe('images');
  });

  it('read deployments as name=model pairs; the successor is the default deployment unless named', () => {
    const settings = loadSettings({ ...minimal, AZURE_OPENAI_DEPLOYMENTS: 'hq=gpt-image-1.5, mini=gpt-image-1-mini', AZURE_OPENAI_DEFAULT_DEPLOYMENT: 'mini' });
    expect([...settings.AZURE_OPENAI_DEPLOYMENTS]).toEqual([['hq', 'gpt-image-1.5'], ['mini', 'gpt-image-1-mini']]);
    expect(settings.AZURE_OPENAI_DEFAULT_DEPLOYMENT).toBe('mini');
    expect(settings.AZURE_OPENAI_SUCCESSOR_DEPLOYMENT).toBe('mini');
    expect(loadSettings({ ...minimal, AZURE_OPENAI_DEPLOYMENTS: 'hq=gpt-image-1.5,g2=gpt-image-2', AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: 'g2' }).AZURE_OPENAI_SUCCESSOR_DEPLOYMENT).toBe('g2');
    expect(loadSettings({ ...minimal, AZURE_OPENAI_API_VERSION: '2025-04-01-preview' }).AZURE_OPENAI_API_VERSION).toBe('2025-04-01-preview');
  });

  it('refuse a retired model, or a deployment named like one, saying why', () => {
    expect(() => loadSettings({ ...minimal, AZURE_OPENAI_DEPLOYMENTS: 'd3=dall-e-3' })).toThrow(/AZURE_OPENAI_DEPLOYMENTS: model "dall-e-3" of deployment "d3" is retired/);
    expect(() => loadSettings({ ...minimal, AZURE_OPENAI_DEPLOYMENTS: 'gpt-image-1=gpt-image-1' })).toThrow(/is retired/);
    expect(() => loadSettings({ ...minimal, AZURE_OPENAI_DEPLOYMENTS: 'dall-e-3=gpt-image-2' })).toThrow(/"dall-e-3" is the name of a retired model/);
  });

  it.each([
    [{ AZURE_OPENAI_ENDPOINT: undefined }, 'AZURE_OPENAI_ENDPOINT'],
    [{ AZURE_OPENAI_ENDPOINT: 'not a url' }, 'AZURE_OPENAI_ENDPOINT'],
    [{ AZURE_OPENAI_DEPLOYMENTS: 'x=dall-e-2' }, 'AZURE_OPENAI_DEPLOYMENTS'],
    [{ AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: 'gone' }, 'AZURE_OPENAI_SUCCESSOR_DEPLOYMENT'],
    [{ AZURE_OPENAI_API_VERSION: 'latest' }, 'AZURE_OPENAI_API_VERSION'],
    [{ AZURE_OPENAI_DEFAULT_DEPLOYMENT: 'gone' }, 'AZURE_OPENAI_DEFAULT_DEPLOYMENT'],
    [{ KEY_VAULT_URI: undefined }, 'KEY_VAULT_URI'],
    [{ KEY_VAULT_URI: 'http://kv.vault.azure.net' }, 'KEY_VAULT_URI'],
    [{ KEY_CACHE_TTL_SECONDS: '-5' }, 'KEY_CACHE_TTL_SECONDS'],
    [{ IMAGES_CONTAINER: 'Images_1' }, 'IMAGES_CONTAINER'],
    [{ AzureWebJobsStorage__blobServiceUri: undefined }, 'AzureWebJobsStorage'],
    [{ AZURE_OPENAI_AUTH: 'password' }, 'AZURE_OPENAI_AUTH'],
  ])('a bad one stops start-up with its name (%o)', (change, name) => {
    expect(() => loadSettings({ ...minimal, ...change })).toThrow(SettingsError);
    expect(() => loadSettings({ ...minimal, ...change })).toThrow(new RegExp(`${name}:`));
  });

  it('callers and costs: keys on, a minute of cache at most, no budget, and a budget only with the ledger', () => {
    const settings = loadSettings(minimal);
    expect(settings).toMatchObject({ CALLER_KEYS_ENABLED: true, AUTH_CACHE_TTL_SECONDS: 60, PLATFORM_AUTH_ENABLED: false, LEDGER_ENABLED: true, USAGE_TABLE: 'usage', CALLER_KEYS_TABLE: 'callerkeys' });
    expect(settings.CALLER_DAILY_BUDGET_USD).toBeUndefined();
    const budgeted = loadSettings({ ...minimal, CALLER_DAILY_BUDGET_USD: '2.5', APP_DAILY_BUDGET_USD: '' });
    expect([budgeted.CALLER_DAILY_BUDGET_USD, budgeted.APP_DAILY_BUDGET_USD]).toEqual([2.5, undefined]);
    expect(() => loadSettings({ ...minimal, AUTH_CACHE_TTL_SECONDS: '61' })).toThrow(/AUTH_CACHE_TTL_SECONDS:/);
    expect(() => loadSettings({ ...minimal, APP_DAILY_BUDGET_USD: '10', LEDGER_ENABLED: 'false' })).toThrow(/APP_DAILY_BUDGET_USD: needs LEDGER_ENABLED/);
    expect(() => loadSettings({ ...minimal, USAGE_TABLE: 'usage-table' })).toThrow(/USAGE_TABLE: must be a valid table name/);
  });

  it('keyless mode needs no key at all', () => {
    expect(loadSettings({ ...minimal, KEY_VAULT_URI: '', AZURE_OPENAI_AUTH: 'entra' }).AZURE_OPENAI_AUTH).toBe('entra');
  });

  it('local.settings.sample.json names every setting and runs as it is', () => {
    const sample = JSON.parse(readFileSync(join(__dirname, '..', '..', 'local.settings.sample.json'), 'utf8')).Values;
    for (const name of SETTING_NAMES) expect(Object.keys(sample)).toContain(name);
    expect(() => loadSettings(sample)).not.toThrow();
  });
});
