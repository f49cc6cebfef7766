import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, SETTING_NAMES, SettingsError } from '../../src/lib/settings.js';

const minimal = {
  AZURE_OPENAI_ENDPOINT: 'https://example.openai.azure.com',
  KEY_VAULT_URI: 'https://kv-example.vault.azure.net',
  AzureWebJobsStorage__blobServiceUri: 'https://st.blob.core.windows.net',
  AzureWebJobsStorage__queueServiceUri: 'https://st.queue.core.windows.net',
};

describe('settings', () => {
  it('parse once with defaults', () => {
    const settings = loadSettings(minimal);
    expect(settings.AZURE_OPENAI_DEPLOYMENTS).toEqual(new Map([['dall-e-3', 'dall-e-3']]));
    expect(settings.defaultDeployment).toBe('dall-e-3');
    expect(settings.KEY_CACHE_TTL_SECONDS).toBe(3600);
    expect(settings.IMAGES_CONTAINER).toBe('images');
  });

  it('read deployments as name=model pairs', () => {
    const settings = loadSettings({ ...minimal, AZURE_OPENAI_DEPLOYMENTS: 'hq=gpt-image-1, d3=dall-e-3', AZURE_OPENAI_DEFAULT_DEPLOYMENT: 'd3' });
    expect([...settings.AZURE_OPENAI_DEPLOYMENTS]).toEqual([['hq', 'gpt-image-1'], ['d3', 'dall-e-3']]);
    expect(settings.defaultDeployment).toBe('d3');
  });

  it.each([
    [{ AZURE_OPENAI_ENDPOINT: undefined }, 'AZURE_OPENAI_ENDPOINT'],
    [{ AZURE_OPENAI_ENDPOINT: 'not a url' }, 'AZURE_OPENAI_ENDPOINT'],
    [{ AZURE_OPENAI_DEPLOYMENTS: 'x=dall-e-2' }, 'AZURE_OPENAI_DEPLOYMENTS'],
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

  it('keyless mode needs no key at all', () => {
    expect(loadSettings({ ...minimal, KEY_VAULT_URI: '', AZURE_OPENAI_AUTH: 'entra' }).AZURE_OPENAI_AUTH).toBe('entra');
  });

  it('local.settings.sample.json names every setting and runs as it is', () => {
    const sample = JSON.parse(readFileSync(join(__dirname, '..', '..', 'local.settings.sample.json'), 'utf8')).Values;
    for (const name of SETTING_NAMES) expect(Object.keys(sample)).toContain(name);
    expect(() => loadSettings(sample)).not.toThrow();
  });
});
