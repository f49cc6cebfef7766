import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SettingsError } from '../../src/lib/core/errors.js';
import { loadSettings, SETTING_NAMES } from '../../src/lib/platform/settings.js';

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
    expect(settings.GALLERY_ZIP_MAX_IN_FLIGHT).toBe(10);
    expect(loadSettings({ ...minimal, GALLERY_ZIP_MAX_IN_FLIGHT: '3' }).GALLERY_ZIP_MAX_IN_FLIGHT).toBe(3);
    expect(() => loadSettings({ ...minimal, GALLERY_ZIP_MAX_IN_FLIGHT: '0' })).toThrow(/GALLERY_ZIP_MAX_IN_FLIGHT:/);
  });

  it('read deployments as name=model pairs; the successor is the default deployment unless named', () => {
    const settings = loadSettings({
      ...minimal,
      AZURE_OPENAI_DEPLOYMENTS: 'hq=gpt-image-1.5, mini=gpt-image-1-mini',
      AZURE_OPENAI_DEFAULT_DEPLOYMENT: 'mini',
    });
    expect([...settings.AZURE_OPENAI_DEPLOYMENTS]).toEqual([
      ['hq', 'gpt-image-1.5'],
      ['mini', 'gpt-image-1-mini'],
    ]);
    expect(settings.AZURE_OPENAI_DEFAULT_DEPLOYMENT).toBe('mini');
    expect(settings.AZURE_OPENAI_SUCCESSOR_DEPLOYMENT).toBe('mini');
    expect(
      loadSettings({
        ...minimal,
        AZURE_OPENAI_DEPLOYMENTS: 'hq=gpt-image-1.5,g2=gpt-image-2',
        AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: 'g2',
      }).AZURE_OPENAI_SUCCESSOR_DEPLOYMENT,
    ).toBe('g2');
    expect(loadSettings({ ...minimal, AZURE_OPENAI_API_VERSION: '2025-04-01-preview' }).AZURE_OPENAI_API_VERSION).toBe(
      '2025-04-01-preview',
    );
  });

  it('hand the code its durations in milliseconds, each read in the unit its setting documents', () => {
    const settings = loadSettings({
      ...minimal,
      AZURE_OPENAI_TIMEOUT_SECONDS: '7',
      AZURE_OPENAI_MAX_RETRY_AFTER_SECONDS: '11',
      AZURE_OPENAI_CIRCUIT_WINDOW_SECONDS: '13',
      AZURE_OPENAI_CIRCUIT_OPEN_SECONDS: '17',
      KEY_CACHE_TTL_SECONDS: '19',
      IDEMPOTENCY_TTL_HOURS: '2',
      WEBHOOK_RETRY_WINDOW_SECONDS: '23',
      WEBHOOK_RETRY_BASE_SECONDS: '29',
      AUTH_CACHE_TTL_SECONDS: '31',
    });
    expect(settings.ms).toEqual({
      azureOpenAITimeout: 7000,
      azureOpenAIMaxRetryAfter: 11_000,
      circuitWindow: 13_000,
      circuitOpen: 17_000,
      keyCacheTtl: 19_000,
      idempotencyTtl: 7_200_000,
      webhookRetryWindow: 23_000,
      webhookRetryBase: 29_000,
      authCacheTtl: 31_000,
    });
    expect(settings.IDEMPOTENCY_TTL_HOURS).toBe(2);
  });

  it('refuse a retired model, or a deployment named like one, saying why', () => {
    expect(() => loadSettings({ ...minimal, AZURE_OPENAI_DEPLOYMENTS: 'd3=dall-e-3' })).toThrow(
      /AZURE_OPENAI_DEPLOYMENTS: model "dall-e-3" of deployment "d3" is retired/,
    );
    expect(() => loadSettings({ ...minimal, AZURE_OPENAI_DEPLOYMENTS: 'gpt-image-1=gpt-image-1' })).toThrow(
      /is retired/,
    );
    expect(() => loadSettings({ ...minimal, AZURE_OPENAI_DEPLOYMENTS: 'dall-e-3=gpt-image-2' })).toThrow(
      /"dall-e-3" is the name of a retired model/,
    );
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

  it('keyless mode needs no Azure OpenAI key; webhooks still need their signing key, from the vault or a setting', () => {
    expect(loadSettings({ ...minimal, AZURE_OPENAI_AUTH: 'entra' }).AZURE_OPENAI_AUTH).toBe('entra');
    expect(
      loadSettings({
        ...minimal,
        KEY_VAULT_URI: '',
        AZURE_OPENAI_AUTH: 'entra',
        WEBHOOK_SIGNING_KEY: 'a-local-signing-key',
      }).AZURE_OPENAI_AUTH,
    ).toBe('entra');
    expect(() => loadSettings({ ...minimal, KEY_VAULT_URI: '', AZURE_OPENAI_AUTH: 'entra' })).toThrow(
      /WEBHOOK_SIGNING_KEY: is required unless KEY_VAULT_URI is set/,
    );
    expect(() => loadSettings({ ...minimal, WEBHOOK_SIGNING_KEY: 'short' })).toThrow(
      /WEBHOOK_SIGNING_KEY: must be at least 16/,
    );
  });

  describe('AZURE_OPENAI_BACKENDS', () => {
    const backend = (name: string, more: Record<string, unknown> = {}) => ({
      name,
      endpoint: `https://${name}.openai.azure.com`,
      deployment: 'gpt-image-2',
      model: 'gpt-image-2',
      region: name,
      ...more,
    });
    const withBackends = (list: unknown, more: Record<string, string | undefined> = {}) =>
      loadSettings({
        ...minimal,
        AZURE_OPENAI_ENDPOINT: undefined,
        AZURE_OPENAI_BACKENDS: typeof list === 'string' ? list : JSON.stringify(list),
        ...more,
      });

    it('lists the backends, each with its priority, weight and auth settled from the app-wide ones', () => {
      const settings = withBackends([
        backend('sweden', { priority: 1, weight: 3 }),
        backend('east', { priority: 2, auth: 'entra' }),
        backend('west', { keyVaultSecretName: 'key-west' }),
      ]);
      expect(settings.AZURE_OPENAI_ENDPOINT).toBeUndefined();
      expect(settings.AZURE_OPENAI_BACKENDS).toEqual([
        { ...backend('sweden'), priority: 1, weight: 3, auth: 'key', keyVaultSecretName: 'azure-openai-api-key' },
        { ...backend('east'), priority: 2, weight: 1, auth: 'entra' },
        { ...backend('west'), priority: 1, weight: 1, auth: 'key', keyVaultSecretName: 'key-west' },
      ]);
      expect(settings.AZURE_OPENAI_MAX_RETRY_AFTER_SECONDS).toBe(60);
      expect([
        settings.AZURE_OPENAI_CIRCUIT_FAILURES,
        settings.AZURE_OPENAI_CIRCUIT_WINDOW_SECONDS,
        settings.AZURE_OPENAI_CIRCUIT_OPEN_SECONDS,
      ]).toEqual([5, 60, 30]);
    });

    it.each([
      ['not JSON', '[{', /AZURE_OPENAI_BACKENDS: is not JSON/],
      ['not a list', { name: 'a' }, /AZURE_OPENAI_BACKENDS: must be a JSON array/],
      ['an empty list', [], /AZURE_OPENAI_BACKENDS: must be a JSON array of at least one/],
      [
        'a bad endpoint',
        [backend('a'), backend('b', { endpoint: 'ftp://b' })],
        /AZURE_OPENAI_BACKENDS: entry 1 \("b"\): endpoint: /,
      ],
      ['a missing region', [{ ...backend('a'), region: undefined }], /entry 0 \("a"\): region: /],
      [
        'a retired model',
        [backend('a', { model: 'dall-e-3' })],
        /entry 0 \("a"\): model: must be one of .*gpt-image-2/,
      ],
      ['priority 0', [backend('a', { priority: 0 })], /entry 0 \("a"\): priority: /],
      ['a weight that is not a whole number', [backend('a', { weight: 1.5 })], /entry 0 \("a"\): weight: /],
      ['an unknown field', [backend('a', { apiKey: 'x' })], /entry 0 \("a"\): .*apiKey/],
      ['a name twice', [backend('a'), backend('a')], /entry 1 \("a"\): name: another entry has it already/],
      ['a bad name', [backend('a b')], /entry 0 \("a b"\): name: /],
      [
        'a secret on an entra backend',
        [backend('a', { auth: 'entra', keyVaultSecretName: 's' })],
        /entry 0 \("a"\): keyVaultSecretName: only with auth key/,
      ],
      [
        'a model no deployment serves',
        [backend('a'), backend('b', { model: 'gpt-image-1-mini' })],
        /entry 1 \("b"\): model: "gpt-image-1-mini" is the model of no deployment/,
      ],
    ])('refuses %s, naming the entry and the field', (_, list, message) => {
      expect(() => withBackends(list)).toThrow(SettingsError);
      expect(() => withBackends(list)).toThrow(message);
    });

    it('must serve every deployment, replaces AZURE_OPENAI_ENDPOINT, and needs a key only for key-mode backends', () => {
      expect(() =>
        withBackends([backend('a')], { AZURE_OPENAI_DEPLOYMENTS: 'gpt-image-2,mini=gpt-image-1-mini' }),
      ).toThrow(/AZURE_OPENAI_BACKENDS: no entry serves model "gpt-image-1-mini" of deployment "mini"/);
      expect(() => withBackends([backend('a')], { AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com' })).toThrow(
        /AZURE_OPENAI_BACKENDS: replaces AZURE_OPENAI_ENDPOINT/,
      );
      expect(() => withBackends([backend('a')], { KEY_VAULT_URI: undefined })).toThrow(/KEY_VAULT_URI: is required/);
      expect(
        withBackends([backend('a', { auth: 'entra' })], {
          KEY_VAULT_URI: undefined,
          WEBHOOK_SIGNING_KEY: 'a-local-signing-key',
        }).AZURE_OPENAI_BACKENDS,
      ).toHaveLength(1);
      expect(() => loadSettings({ ...minimal, AZURE_OPENAI_ENDPOINT: undefined })).toThrow(
        /AZURE_OPENAI_ENDPOINT: is required unless AZURE_OPENAI_BACKENDS/,
      );
    });
  });

  it('Entra ID sign-in: off unless a tenant and an audience are both set; the authority host is https, or http to the loopback', () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const off = loadSettings(minimal);
    expect([off.ENTRA_TENANT_ID, off.ENTRA_AUDIENCE, off.ENTRA_AUTHORITY_HOST]).toEqual([
      undefined,
      undefined,
      'https://login.microsoftonline.com',
    ]);
    const on = loadSettings({
      ...minimal,
      ENTRA_TENANT_ID: tenant,
      ENTRA_AUDIENCE: ' 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0, api://images ,',
    });
    expect(on).toMatchObject({
      ENTRA_TENANT_ID: tenant,
      ENTRA_AUDIENCE: ['0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', 'api://images'],
    });
    expect(() => loadSettings({ ...minimal, ENTRA_TENANT_ID: tenant })).toThrow(
      /ENTRA_AUDIENCE: is required with ENTRA_TENANT_ID/,
    );
    expect(() => loadSettings({ ...minimal, ENTRA_AUDIENCE: 'api://images' })).toThrow(
      /ENTRA_TENANT_ID: is required with ENTRA_AUDIENCE/,
    );
    expect(() =>
      loadSettings({ ...minimal, ENTRA_TENANT_ID: 'contoso.onmicrosoft.com', ENTRA_AUDIENCE: 'api://images' }),
    ).toThrow(/ENTRA_TENANT_ID: must be the tenant ID/);
    expect(() => loadSettings({ ...minimal, ENTRA_TENANT_ID: tenant, ENTRA_AUDIENCE: ' , ' })).toThrow(
      /ENTRA_AUDIENCE: must name at least one audience/,
    );
    expect(() => loadSettings({ ...minimal, ENTRA_AUTHORITY_HOST: 'http://login.example.com' })).toThrow(
      /ENTRA_AUTHORITY_HOST: must be https/,
    );
    expect(loadSettings({ ...minimal, ENTRA_AUTHORITY_HOST: 'http://127.0.0.1:7071' }).ENTRA_AUTHORITY_HOST).toBe(
      'http://127.0.0.1:7071',
    );
  });

  it('callers and costs: keys on, a minute of cache at most, no budget, and a budget only with the ledger', () => {
    const settings = loadSettings(minimal);
    expect(settings).toMatchObject({
      CALLER_KEYS_ENABLED: true,
      AUTH_CACHE_TTL_SECONDS: 60,
      LEDGER_ENABLED: true,
      USAGE_TABLE: 'usage',
      CALLER_KEYS_TABLE: 'callerkeys',
    });
    expect(settings.CALLER_DAILY_BUDGET_USD).toBeUndefined();
    const budgeted = loadSettings({ ...minimal, CALLER_DAILY_BUDGET_USD: '2.5', APP_DAILY_BUDGET_USD: '' });
    expect([budgeted.CALLER_DAILY_BUDGET_USD, budgeted.APP_DAILY_BUDGET_USD]).toEqual([2.5, undefined]);
    expect(() => loadSettings({ ...minimal, AUTH_CACHE_TTL_SECONDS: '61' })).toThrow(/AUTH_CACHE_TTL_SECONDS:/);
    expect(() => loadSettings({ ...minimal, APP_DAILY_BUDGET_USD: '10', LEDGER_ENABLED: 'false' })).toThrow(
      /APP_DAILY_BUDGET_USD: needs LEDGER_ENABLED/,
    );
    expect(() => loadSettings({ ...minimal, USAGE_TABLE: 'usage-table' })).toThrow(
      /USAGE_TABLE: must be a valid table name/,
    );
  });

  it('unpriced models: refused unless ALLOW_UNPRICED_MODELS, which needs a default estimate in USD', () => {
    const plain = loadSettings(minimal);
    expect([plain.ALLOW_UNPRICED_MODELS, plain.UNPRICED_IMAGE_ESTIMATE_USD]).toEqual([false, undefined]);
    expect(
      loadSettings({ ...minimal, ALLOW_UNPRICED_MODELS: 'true', UNPRICED_IMAGE_ESTIMATE_USD: '0.25' }),
    ).toMatchObject({ ALLOW_UNPRICED_MODELS: true, UNPRICED_IMAGE_ESTIMATE_USD: 0.25 });
    expect(() => loadSettings({ ...minimal, ALLOW_UNPRICED_MODELS: 'true' })).toThrow(
      /UNPRICED_IMAGE_ESTIMATE_USD: is required with ALLOW_UNPRICED_MODELS/,
    );
    expect(() => loadSettings({ ...minimal, UNPRICED_IMAGE_ESTIMATE_USD: '0.25' })).toThrow(
      /UNPRICED_IMAGE_ESTIMATE_USD: takes effect only with ALLOW_UNPRICED_MODELS/,
    );
    expect(() => loadSettings({ ...minimal, ALLOW_UNPRICED_MODELS: 'true', UNPRICED_IMAGE_ESTIMATE_USD: '0' })).toThrow(
      /UNPRICED_IMAGE_ESTIMATE_USD:/,
    );
  });

  it('local.settings.sample.json names every setting and runs as it is', () => {
    const sample = JSON.parse(readFileSync(join(__dirname, '..', '..', 'local.settings.sample.json'), 'utf8')).Values;
    for (const name of SETTING_NAMES) expect(Object.keys(sample)).toContain(name);
    expect(() => loadSettings(sample)).not.toThrow();
  });
});
