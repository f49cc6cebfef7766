import { z } from 'zod';
import { SettingsError } from '../core/errors.js';
import { CURRENT_MODELS, isModelName, isRetired, MODEL_NAMES, type ModelName } from '../core/models.js';
import { loadPriceTable, PriceTableError } from '../core/priceTable.js';

// Every app setting the code reads, parsed once at start-up. infra/ sets them in Azure (test/unit/
// infra.test.ts holds the two together), and local.settings.sample.json gives each a local value.

const SECOND_MS = 1000;
const HOUR_MS = 3600 * SECOND_MS;
const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Storage's rule for container and queue names: 3 to 63 lowercase letters, digits and single hyphens, a letter or digit at each end. */
export const STORAGE_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;
const containerName = (fallback: string) =>
  z.string().regex(STORAGE_NAME, 'must be a valid container name').default(fallback);

const tableName = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a valid table name')
    .default(fallback);
const dailyUsd = z.coerce.number().min(0).optional();

/** The price table: PRICE_TABLE's JSON or file, else the shipped one; a malformed one names its entry. */
const priceTableSetting = z
  .string()
  .optional()
  .transform((value, ctx) => {
    try {
      return loadPriceTable(value);
    } catch (err) {
      if (!(err instanceof PriceTableError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  });

/** Refuses the value a transform reads: the problem, on the setting named (else the one transformed), and no value. */
const refusal =
  (ctx: z.RefinementCtx) =>
  (message: string, setting?: string): never => {
    ctx.addIssue({ code: 'custom', message, ...(setting !== undefined && { path: [setting] }) });
    return z.NEVER;
  };

/** A dated api-version, as Azure's dated images path takes it. */
export const DATED_API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/** An Azure OpenAI deployment's name, in AZURE_OPENAI_DEPLOYMENTS and in each backend alike. */
const DEPLOYMENT_NAME = /^[\w.-]{1,64}$/;
/** A Key Vault secret's name. */
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

/** `deployment=model` pairs, comma separated: the Azure OpenAI deployments this app may call. */
const deploymentsSetting = z.string().transform((text, ctx) => {
  const deployments = new Map<string, ModelName>();
  const fail = refusal(ctx);
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [deployment = '', model = deployment] = pair.split('=').map((p) => p.trim());
    if (!DEPLOYMENT_NAME.test(deployment)) return fail(`"${pair}" is not a deployment name`);
    if (!isModelName(model))
      return fail(`model "${model}" of deployment "${deployment}" is not one of ${MODEL_NAMES.join(', ')}`);
    if (isRetired(model)) {
      return fail(
        `model "${model}" of deployment "${deployment}" is retired; deploy one of ${CURRENT_MODELS.join(', ')} (requests naming ${model} are served by AZURE_OPENAI_SUCCESSOR_DEPLOYMENT)`,
      );
    }
    // A retired model's name is how old clients ask for it: it always means "the successor".
    if (isModelName(deployment) && isRetired(deployment))
      return fail(`deployment name "${deployment}" is the name of a retired model; pick another`);
    deployments.set(deployment, model);
  }
  return deployments.size > 0 ? deployments : fail('names no deployment');
});

/** One deployment on one Azure OpenAI account: a member of the pool of backends that serve its model. */
const backendEntry = z.strictObject({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][\w.-]{0,62}$/,
      'must be 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit',
    ),
  endpoint: z.url({ protocol: /^https?$/ }),
  deployment: z.string().regex(DEPLOYMENT_NAME, 'is not a deployment name'),
  model: z.string().refine((m) => isModelName(m) && !isRetired(m), `must be one of ${CURRENT_MODELS.join(', ')}`),
  region: z.string().min(1),
  /** 1 is tried first; a higher number only when every backend of the lower ones is unavailable. */
  priority: z.int().min(1).max(100).default(1),
  /** Share of the traffic within its priority. */
  weight: z.int().min(1).max(1000).default(1),
  /** AZURE_OPENAI_AUTH when absent. */
  auth: z.enum(['key', 'entra']).optional(),
  /** Key mode: its own Key Vault secret; KEY_VAULT_SECRET_NAME when absent. */
  keyVaultSecretName: z.string().regex(SECRET_NAME, 'must be 1 to 127 letters, digits or "-"').optional(),
});

/** AZURE_OPENAI_BACKENDS: a JSON array of backends; a bad entry is named by its position and name. */
const backendsSetting = z.string().transform((text, ctx) => {
  const fail = refusal(ctx);
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    return fail(`is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(list) || list.length === 0) return fail('must be a JSON array of at least one backend');
  const backends: z.output<typeof backendEntry>[] = [];
  for (const [index, entry] of list.entries()) {
    const name =
      typeof (entry as { name?: unknown } | null)?.name === 'string' ? ` ("${(entry as { name: string }).name}")` : '';
    const parsed = backendEntry.safeParse(entry);
    if (!parsed.success) {
      const { path, message } = parsed.error.issues[0];
      return fail(`entry ${index}${name}: ${path.length ? `${path.join('.')}: ` : ''}${message}`);
    }
    if (parsed.data.auth === 'entra' && parsed.data.keyVaultSecretName !== undefined)
      return fail(`entry ${index}${name}: keyVaultSecretName: only with auth key`);
    if (backends.some((b) => b.name === parsed.data.name))
      return fail(`entry ${index}${name}: name: another entry has it already`);
    backends.push(parsed.data);
  }
  return backends;
});

export const settingsSchema = z
  .object({
    /** One account, the app's deployments on it: when AZURE_OPENAI_BACKENDS does not list several. */
    AZURE_OPENAI_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /** Several accounts: every deployment of every account the app may call; replaces AZURE_OPENAI_ENDPOINT. */
    AZURE_OPENAI_BACKENDS: backendsSetting.optional(),
    /** The longest wait a 429 may mark a backend throttled for: Azure has asked for a day. */
    AZURE_OPENAI_MAX_RETRY_AFTER_SECONDS: seconds(60),
    /** Failures of one backend (refused connections, 5xx, timeouts) within the window that open its circuit. */
    AZURE_OPENAI_CIRCUIT_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
    AZURE_OPENAI_CIRCUIT_WINDOW_SECONDS: seconds(60),
    /** How long an open circuit stays open before one trial request decides. */
    AZURE_OPENAI_CIRCUIT_OPEN_SECONDS: seconds(30),
    /** The table of the app's storage account that every instance shares backend state through. */
    BACKEND_STATE_TABLE: tableName('backendstate'),
    /** `v1`: the v1 API (the deployment in the body); a date such as 2025-04-01-preview: the dated path. */
    AZURE_OPENAI_API_VERSION: z
      .string()
      .refine((v) => v === 'v1' || DATED_API_VERSION.test(v), 'must be v1 or a date such as 2025-04-01-preview')
      .default('v1'),
    AZURE_OPENAI_DEPLOYMENTS: deploymentsSetting.default(new Map([['gpt-image-2', 'gpt-image-2']])),
    /** The deployment a request gets when it names none; the first of AZURE_OPENAI_DEPLOYMENTS when unset. */
    AZURE_OPENAI_DEFAULT_DEPLOYMENT: z.string().optional(),
    /** The deployment that serves requests naming a retired model (dall-e-3, gpt-image-1); the default deployment when unset. */
    AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: z.string().optional(),
    /** `key`: an api-key from Key Vault (or AZURE_OPENAI_API_KEY locally); `entra`: keyless, an Entra ID token. */
    AZURE_OPENAI_AUTH: z.enum(['key', 'entra']).default('key'),
    AZURE_OPENAI_API_KEY: z.string().min(1).optional(),
    AZURE_OPENAI_TIMEOUT_SECONDS: seconds(100),
    AZURE_OPENAI_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
    KEY_VAULT_URI: z.url({ protocol: /^https$/ }).optional(),
    KEY_VAULT_SECRET_NAME: z.string().regex(SECRET_NAME).default('azure-openai-api-key'),
    KEY_CACHE_TTL_SECONDS: seconds(3600),
    /** Skips the check that a Key Vault challenge names the vault's own resource: only for a local stand-in. */
    KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: z.stringbool().default(false),
    /** Selects a user-assigned managed identity (read by DefaultAzureCredential too). */
    AZURE_CLIENT_ID: z.string().min(1).optional(),
    // Storage: the same connection the Functions host uses. A connection string locally; in Azure,
    // identity-based service URIs with no account key.
    AzureWebJobsStorage: z.string().min(1).optional(),
    AzureWebJobsStorage__blobServiceUri: z.url().optional(),
    AzureWebJobsStorage__queueServiceUri: z.url().optional(),
    AzureWebJobsStorage__tableServiceUri: z.url().optional(),
    IMAGES_CONTAINER: containerName('images'),
    // A user delegation SAS lives at most 7 days, as does its key.
    IMAGE_URL_TTL_MINUTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60 - 60)
      .default(60),
    JOBS_CONTAINER: containerName('jobs'),
    /** The gallery's index of kept images: one entity per image, the record blob staying the source of truth. */
    IMAGE_INDEX_TABLE: tableName('imageindex'),
    /** ZIPs one instance writes at once; one more is answered 429. Each holds about one image's chunks, not the selection. */
    GALLERY_ZIP_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1000).default(10),
    IDEMPOTENCY_TTL_HOURS: z.coerce
      .number()
      .positive()
      .max(24 * 30)
      .default(24),
    /** Signs webhook deliveries: a secret in the vault (Azure), or this setting's value (local runs). */
    WEBHOOK_SIGNING_SECRET_NAME: z.string().regex(SECRET_NAME).default('webhook-signing-key'),
    WEBHOOK_SIGNING_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    /** `public`: https callbacks to public addresses only (Azure); `local`: http to the loopback too. */
    WEBHOOK_CALLBACKS: z.enum(['public', 'local']).default('public'),
    WEBHOOK_RETRY_WINDOW_SECONDS: z.coerce
      .number()
      .int()
      .positive()
      .max(7 * 24 * 3600)
      .default(24 * 3600),
    WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().int().positive().max(3600).default(30),
    WEBHOOKS_TABLE: tableName('webhooks'),
    /** Caller keys (api-key or Authorization: Bearer) on the generation routes; off, only the function key and Entra ID tokens authenticate. */
    CALLER_KEYS_ENABLED: z.stringbool().default(true),
    CALLER_KEYS_TABLE: tableName('callerkeys'),
    /** How long an instance trusts what it learnt of a key (caller or function key): revocation takes effect within it. */
    AUTH_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(60).default(60),
    /** The Entra ID tenant whose access tokens (Authorization: Bearer) sign people in; unset, none do. */
    ENTRA_TENANT_ID: z.guid('must be the tenant ID, a GUID').optional(),
    /** What those tokens must be for, comma-separated: the app registration's client ID and/or its App ID URI. */
    ENTRA_AUDIENCE: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((a) => a.trim())
          .filter((a) => a !== ''),
      )
      .refine((list) => list.length > 0, 'must name at least one audience')
      .optional(),
    /** Where the tenant's OpenID configuration and keys are: Entra ID's sign-in host in the cloud deployed to. */
    ENTRA_AUTHORITY_HOST: z
      .url({ protocol: /^https?$/ })
      .refine(
        (u) => u.startsWith('https:') || /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/i.test(u),
        'must be https (http only to a local stand-in)',
      )
      .default('https://login.microsoftonline.com'),
    PRICE_TABLE: priceTableSetting,
    /** Serve a model (or size) the price table has no price for, holding UNPRICED_IMAGE_ESTIMATE_USD per image on the budgets; off, such a request is refused with 403 PriceNotFound. */
    ALLOW_UNPRICED_MODELS: z.stringbool().default(false),
    /** USD held on the budgets per image that the price table cannot price; required by ALLOW_UNPRICED_MODELS. */
    UNPRICED_IMAGE_ESTIMATE_USD: z.coerce.number().positive().optional(),
    /** Totals per caller, model and day, and the budgets, in USAGE_TABLE; off, records still say what each image cost. */
    LEDGER_ENABLED: z.stringbool().default(true),
    USAGE_TABLE: tableName('usage'),
    /** USD a caller may spend per UTC day, unless its caller key says otherwise; none when unset. */
    CALLER_DAILY_BUDGET_USD: dailyUsd,
    /** USD the whole app may spend per UTC day; none when unset. */
    APP_DAILY_BUDGET_USD: dailyUsd,
  })
  .superRefine((s, ctx) => {
    const fail = refusal(ctx);
    for (const name of ['AZURE_OPENAI_DEFAULT_DEPLOYMENT', 'AZURE_OPENAI_SUCCESSOR_DEPLOYMENT'] as const) {
      if (s[name] !== undefined && !s.AZURE_OPENAI_DEPLOYMENTS.has(s[name]))
        fail('is not one of AZURE_OPENAI_DEPLOYMENTS', name);
    }
    const backends = s.AZURE_OPENAI_BACKENDS;
    if (!backends && !s.AZURE_OPENAI_ENDPOINT)
      fail('is required unless AZURE_OPENAI_BACKENDS lists the backends', 'AZURE_OPENAI_ENDPOINT');
    if (backends && s.AZURE_OPENAI_ENDPOINT)
      fail('replaces AZURE_OPENAI_ENDPOINT: set one of the two', 'AZURE_OPENAI_BACKENDS');
    if (backends) {
      for (const [deployment, model] of s.AZURE_OPENAI_DEPLOYMENTS) {
        if (!backends.some((b) => b.model === model))
          fail(`no entry serves model "${model}" of deployment "${deployment}"`, 'AZURE_OPENAI_BACKENDS');
      }
      const served = new Set(s.AZURE_OPENAI_DEPLOYMENTS.values());
      for (const [index, b] of backends.entries()) {
        if (!served.has(b.model as ModelName))
          fail(
            `entry ${index} ("${b.name}"): model: "${b.model}" is the model of no deployment in AZURE_OPENAI_DEPLOYMENTS`,
            'AZURE_OPENAI_BACKENDS',
          );
      }
    }
    const needsKey = backends
      ? backends.some((b) => (b.auth ?? s.AZURE_OPENAI_AUTH) === 'key')
      : s.AZURE_OPENAI_AUTH === 'key';
    if (needsKey && !s.KEY_VAULT_URI && !s.AZURE_OPENAI_API_KEY) {
      fail(
        "is required (or AZURE_OPENAI_API_KEY for local runs) when AZURE_OPENAI_AUTH, or a backend's auth, is key",
        'KEY_VAULT_URI',
      );
    }
    if (!s.KEY_VAULT_URI && !s.WEBHOOK_SIGNING_KEY) {
      fail(
        'is required unless KEY_VAULT_URI is set (the key is then the secret WEBHOOK_SIGNING_SECRET_NAME)',
        'WEBHOOK_SIGNING_KEY',
      );
    }
    if (!s.AzureWebJobsStorage && !s.AzureWebJobsStorage__blobServiceUri) {
      fail(
        'is required: a connection string, or AzureWebJobsStorage__blobServiceUri for identity-based access',
        'AzureWebJobsStorage',
      );
    }
    if (s.ENTRA_TENANT_ID !== undefined && s.ENTRA_AUDIENCE === undefined)
      fail('is required with ENTRA_TENANT_ID: the client ID or App ID URI tokens must be for', 'ENTRA_AUDIENCE');
    if (s.ENTRA_AUDIENCE !== undefined && s.ENTRA_TENANT_ID === undefined)
      fail('is required with ENTRA_AUDIENCE: the tenant that issues the tokens', 'ENTRA_TENANT_ID');
    for (const name of ['CALLER_DAILY_BUDGET_USD', 'APP_DAILY_BUDGET_USD'] as const) {
      if (s[name] !== undefined && !s.LEDGER_ENABLED)
        fail('needs LEDGER_ENABLED: a budget is kept in the usage ledger', name);
    }
    if (s.ALLOW_UNPRICED_MODELS && s.UNPRICED_IMAGE_ESTIMATE_USD === undefined) {
      fail(
        'is required with ALLOW_UNPRICED_MODELS: what the budgets hold for an image the price table cannot price',
        'UNPRICED_IMAGE_ESTIMATE_USD',
      );
    }
    if (!s.ALLOW_UNPRICED_MODELS && s.UNPRICED_IMAGE_ESTIMATE_USD !== undefined)
      fail('takes effect only with ALLOW_UNPRICED_MODELS=true', 'UNPRICED_IMAGE_ESTIMATE_USD');
    if (s.AzureWebJobsStorage__blobServiceUri) {
      for (const name of ['AzureWebJobsStorage__queueServiceUri', 'AzureWebJobsStorage__tableServiceUri'] as const) {
        if (!s[name]) fail('is required with AzureWebJobsStorage__blobServiceUri', name);
      }
    }
  })
  .transform((s) => {
    const defaultDeployment = s.AZURE_OPENAI_DEFAULT_DEPLOYMENT ?? s.AZURE_OPENAI_DEPLOYMENTS.keys().next().value!;
    // Each backend with its auth and secret settled: the app-wide settings are the defaults.
    const backends = s.AZURE_OPENAI_BACKENDS?.map(
      ({ auth = s.AZURE_OPENAI_AUTH, keyVaultSecretName, model, ...b }) => ({
        ...b,
        model: model as ModelName,
        auth,
        ...(auth === 'key' && { keyVaultSecretName: keyVaultSecretName ?? s.KEY_VAULT_SECRET_NAME }),
      }),
    );
    return {
      ...s,
      AZURE_OPENAI_BACKENDS: backends,
      AZURE_OPENAI_DEFAULT_DEPLOYMENT: defaultDeployment,
      AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: s.AZURE_OPENAI_SUCCESSOR_DEPLOYMENT ?? defaultDeployment,
      /** The durations in milliseconds, the unit the code counts in; each setting keeps the unit it is documented in. */
      ms: {
        azureOpenAITimeout: s.AZURE_OPENAI_TIMEOUT_SECONDS * SECOND_MS,
        azureOpenAIMaxRetryAfter: s.AZURE_OPENAI_MAX_RETRY_AFTER_SECONDS * SECOND_MS,
        circuitWindow: s.AZURE_OPENAI_CIRCUIT_WINDOW_SECONDS * SECOND_MS,
        circuitOpen: s.AZURE_OPENAI_CIRCUIT_OPEN_SECONDS * SECOND_MS,
        keyCacheTtl: s.KEY_CACHE_TTL_SECONDS * SECOND_MS,
        idempotencyTtl: s.IDEMPOTENCY_TTL_HOURS * HOUR_MS,
        webhookRetryWindow: s.WEBHOOK_RETRY_WINDOW_SECONDS * SECOND_MS,
        webhookRetryBase: s.WEBHOOK_RETRY_BASE_SECONDS * SECOND_MS,
        authCacheTtl: s.AUTH_CACHE_TTL_SECONDS * SECOND_MS,
      },
    };
  });

export type Settings = z.output<typeof settingsSchema>;

/** The names of every app setting the code reads. */
export const SETTING_NAMES = Object.keys(settingsSchema.in.shape) as (keyof typeof settingsSchema.in.shape)[];

/**
 * Settings read by the Functions host or its platform rather than by this code; infra/ sets them too.
 * Kept here so that the infra test can tell a typo from a host setting. None of Flex Consumption's
 * deprecated settings (FUNCTIONS_EXTENSION_VERSION, FUNCTIONS_WORKER_RUNTIME): it sets the runtime
 * in functionAppConfig instead.
 */
export const HOST_SETTING_NAMES = [
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
] as const;

/** Parses app settings; throws a SettingsError that names every bad setting. Empty values count as unset. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const present = Object.fromEntries(
    SETTING_NAMES.filter((name) => env[name] !== undefined && env[name].trim() !== '').map((name) => [
      name,
      env[name]!.trim(),
    ]),
  );
  const parsed = settingsSchema.safeParse(present);
  if (!parsed.success) {
    throw new SettingsError(
      parsed.error.issues.map((issue) => ({ setting: String(issue.path[0] ?? 'settings'), problem: issue.message })),
    );
  }
  return parsed.data;
}

/** One backend as the app calls it: its auth settled. */
export type BackendSettings = NonNullable<Settings['AZURE_OPENAI_BACKENDS']>[number];
