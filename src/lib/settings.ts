import { z } from 'zod';
import { CURRENT_MODELS, isModelName, isRetired, MODEL_NAMES, type ModelName } from './models.js';
import { loadPriceTable, PriceTableError } from './pricing.js';

// Every app setting the code reads, parsed once at start-up. infra/ sets them in Azure (test/unit/
// infra.test.ts holds the two together), and local.settings.sample.json gives each a local value.

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const containerName = (fallback: string) =>
  z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid container name').default(fallback);

const tableName = (fallback: string) => z.string().regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a valid table name').default(fallback);
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

/** A dated api-version, as Azure's dated images path takes it. */
export const DATED_API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/** `deployment=model` pairs, comma separated: the Azure OpenAI deployments this app may call. */
const deploymentsSetting = z.string().transform((text, ctx) => {
  const deployments = new Map<string, ModelName>();
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [deployment = '', model = deployment] = pair.split('=').map((p) => p.trim());
    if (!/^[\w.-]{1,64}$/.test(deployment)) return fail(`"${pair}" is not a deployment name`);
    if (!isModelName(model)) return fail(`model "${model}" of deployment "${deployment}" is not one of ${MODEL_NAMES.join(', ')}`);
    if (isRetired(model)) {
      return fail(`model "${model}" of deployment "${deployment}" is retired; deploy one of ${CURRENT_MODELS.join(', ')} (requests naming ${model} are served by AZURE_OPENAI_SUCCESSOR_DEPLOYMENT)`);
    }
    // A retired model's name is how old clients ask for it: it always means "the successor".
    if (isModelName(deployment) && isRetired(deployment)) return fail(`deployment name "${deployment}" is the name of a retired model; pick another`);
    deployments.set(deployment, model);
  }
  return deployments.size > 0 ? deployments : fail('names no deployment');
});

export const settingsSchema = z
  .object({
    AZURE_OPENAI_ENDPOINT: z.url({ protocol: /^https?$/ }),
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
    KEY_VAULT_SECRET_NAME: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/).default('azure-openai-api-key'),
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
    IMAGE_URL_TTL_MINUTES: z.coerce.number().int().min(1).max(7 * 24 * 60 - 60).default(60),
    JOBS_CONTAINER: containerName('jobs'),
    IDEMPOTENCY_TTL_HOURS: z.coerce.number().positive().max(24 * 30).default(24),
    /** Caller keys (api-key or Authorization: Bearer) on the generation routes; off, only the function key and the platform's principal authenticate. */
    CALLER_KEYS_ENABLED: z.stringbool().default(true),
    CALLER_KEYS_TABLE: tableName('callerkeys'),
    /** How long an instance trusts what it learnt of a key (caller or function key): revocation takes effect within it. */
    AUTH_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(60).default(60),
    /** App Service authentication is on: its x-ms-client-principal (stripped from outside requests) names the caller. */
    PLATFORM_AUTH_ENABLED: z.stringbool().default(false),
    PRICE_TABLE: priceTableSetting,
    /** Totals per caller, model and day, and the budgets, in USAGE_TABLE; off, records still say what each image cost. */
    LEDGER_ENABLED: z.stringbool().default(true),
    USAGE_TABLE: tableName('usage'),
    /** USD a caller may spend per UTC day, unless its caller key says otherwise; none when unset. */
    CALLER_DAILY_BUDGET_USD: dailyUsd,
    /** USD the whole app may spend per UTC day; none when unset. */
    APP_DAILY_BUDGET_USD: dailyUsd,
  })
  .superRefine((s, ctx) => {
    const fail = (name: string, message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
    for (const name of ['AZURE_OPENAI_DEFAULT_DEPLOYMENT', 'AZURE_OPENAI_SUCCESSOR_DEPLOYMENT'] as const) {
      if (s[name] !== undefined && !s.AZURE_OPENAI_DEPLOYMENTS.has(s[name])) fail(name, 'is not one of AZURE_OPENAI_DEPLOYMENTS');
    }
    if (s.AZURE_OPENAI_AUTH === 'key' && !s.KEY_VAULT_URI && !s.AZURE_OPENAI_API_KEY) {
      fail('KEY_VAULT_URI', 'is required (or AZURE_OPENAI_API_KEY for local runs) when AZURE_OPENAI_AUTH is key');
    }
    if (!s.AzureWebJobsStorage && !s.AzureWebJobsStorage__blobServiceUri) {
      fail('AzureWebJobsStorage', 'is required: a connection string, or AzureWebJobsStorage__blobServiceUri for identity-based access');
    }
    for (const name of ['CALLER_DAILY_BUDGET_USD', 'APP_DAILY_BUDGET_USD'] as const) {
      if (s[name] !== undefined && !s.LEDGER_ENABLED) fail(name, 'needs LEDGER_ENABLED: a budget is kept in the usage ledger');
    }
    if (s.AzureWebJobsStorage__blobServiceUri) {
      for (const name of ['AzureWebJobsStorage__queueServiceUri', 'AzureWebJobsStorage__tableServiceUri'] as const) {
        if (!s[name]) fail(name, 'is required with AzureWebJobsStorage__blobServiceUri');
      }
    }
  })
  .transform((s) => {
    const defaultDeployment = s.AZURE_OPENAI_DEFAULT_DEPLOYMENT ?? s.AZURE_OPENAI_DEPLOYMENTS.keys().next().value!;
    return { ...s, AZURE_OPENAI_DEFAULT_DEPLOYMENT: defaultDeployment, AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: s.AZURE_OPENAI_SUCCESSOR_DEPLOYMENT ?? defaultDeployment };
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

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Parses app settings; throws a SettingsError that names every bad setting. Empty values count as unset. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const present = Object.fromEntries(
    SETTING_NAMES.filter((name) => env[name] !== undefined && env[name].trim() !== '').map((name) => [name, env[name]!.trim()]),
  );
  const parsed = settingsSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'settings')}: ${issue.message}`);
    throw new SettingsError(`Invalid app settings. ${lines.join('; ')}`);
  }
  return parsed.data;
}

/** The model behind each deployment, for those who need only that. */
export type Deployments = Pick<Settings, 'AZURE_OPENAI_DEPLOYMENTS' | 'AZURE_OPENAI_DEFAULT_DEPLOYMENT' | 'AZURE_OPENAI_SUCCESSOR_DEPLOYMENT'>;

