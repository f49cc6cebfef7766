import { z } from 'zod';
import { isModelName, MODEL_NAMES, type ModelName } from './models.js';

// Every app setting the code reads, parsed once at start-up. infra/ sets exactly these names
// (test/infra.test.ts holds the two together), and local.settings.sample.json gives each a local value.

const optional = <T extends z.ZodType>(schema: T) => schema.optional();
const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** `deployment=model` pairs, comma separated: the Azure OpenAI deployments this app may call. */
const deploymentsSetting = z
  .string()
  .transform((text, ctx) => {
    const deployments = new Map<string, ModelName>();
    for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [deployment, model = deployment] = pair.split('=').map((p) => p.trim());
      if (!deployment || !/^[\w.-]{1,64}$/.test(deployment)) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not a deployment name` });
        return z.NEVER;
      }
      if (!isModelName(model)) {
        ctx.addIssue({ code: 'custom', message: `model "${model}" of deployment "${deployment}" is not one of ${MODEL_NAMES.join(', ')}` });
        return z.NEVER;
      }
      deployments.set(deployment, model);
    }
    if (deployments.size === 0) {
      ctx.addIssue({ code: 'custom', message: 'names no deployment' });
      return z.NEVER;
    }
    return deployments;
  });

export const settingsSchema = z
  .object({
    AZURE_OPENAI_ENDPOINT: z.url({ protocol: /^https?$/ }),
    AZURE_OPENAI_API_VERSION: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, 'must look like 2025-04-01-preview')
      .default('2025-04-01-preview'),
    AZURE_OPENAI_DEPLOYMENTS: deploymentsSetting.default(new Map([['dall-e-3', 'dall-e-3' as ModelName]])),
    AZURE_OPENAI_DEFAULT_DEPLOYMENT: optional(z.string()),
    AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: z.string().optional(),
    /** `key`: an api-key from Key Vault (or AZURE_OPENAI_API_KEY locally); `entra`: keyless, an Entra ID token. */
    AZURE_OPENAI_AUTH: z.enum(['key', 'entra']).default('key'),
    AZURE_OPENAI_API_KEY: optional(z.string().min(1)),
    AZURE_OPENAI_TIMEOUT_SECONDS: seconds(100),
    AZURE_OPENAI_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
    KEY_VAULT_URI: optional(z.url({ protocol: /^https$/ })),
    KEY_VAULT_SECRET_NAME: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/).default('azure-openai-api-key'),
    KEY_CACHE_TTL_SECONDS: seconds(3600),
    /** Selects a user-assigned managed identity (read by DefaultAzureCredential too). */
    AZURE_CLIENT_ID: optional(z.string().min(1)),
    // Storage: the same connection the Functions host uses. A connection string locally; in Azure,
    // identity-based service URIs with no account key.
    AzureWebJobsStorage: optional(z.string().min(1)),
    AzureWebJobsStorage__blobServiceUri: optional(z.url()),
    AzureWebJobsStorage__queueServiceUri: optional(z.url()),
    IMAGES_CONTAINER: z
      .string()
      .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid container name')
      .default('images'),
    // A user delegation SAS lives at most 7 days, as does its key.
    IMAGE_URL_TTL_MINUTES: z.coerce.number().int().min(1).max(7 * 24 * 60 - 60).default(60),
    JOBS_CONTAINER: z
      .string()
      .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid container name')
      .default('jobs'),
    IDEMPOTENCY_TTL_HOURS: z.coerce.number().positive().max(24 * 30).default(24),
  })
  .superRefine((s, ctx) => {
    const fail = (name: string, message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
    if (s.AZURE_OPENAI_DEFAULT_DEPLOYMENT && !s.AZURE_OPENAI_DEPLOYMENTS.has(s.AZURE_OPENAI_DEFAULT_DEPLOYMENT)) {
      fail('AZURE_OPENAI_DEFAULT_DEPLOYMENT', 'is not one of AZURE_OPENAI_DEPLOYMENTS');
    }
    if (s.AZURE_OPENAI_AUTH === 'key' && !s.KEY_VAULT_URI && !s.AZURE_OPENAI_API_KEY) {
      fail('KEY_VAULT_URI', 'is required (or AZURE_OPENAI_API_KEY for local runs) when AZURE_OPENAI_AUTH is key');
    }
    if (!s.AzureWebJobsStorage && !s.AzureWebJobsStorage__blobServiceUri) {
      fail('AzureWebJobsStorage', 'is required: a connection string, or AzureWebJobsStorage__blobServiceUri for identity-based access');
    }
    if (s.AzureWebJobsStorage__blobServiceUri && !s.AzureWebJobsStorage__queueServiceUri) {
      fail('AzureWebJobsStorage__queueServiceUri', 'is required with AzureWebJobsStorage__blobServiceUri');
    }
  });

export type Settings = z.output<typeof settingsSchema> & { defaultDeployment: string };

/** The names of every app setting the code reads. */
export const SETTING_NAMES = Object.keys(settingsSchema.shape) as (keyof typeof settingsSchema.shape)[];

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
  'AzureWebJobsStorage__tableServiceUri',
] as const;

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Parses app settings; throws a SettingsError that names every bad setting. Empty values count as unset. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const present = Object.fromEntries(
    SETTING_NAMES.filter((name) => env[name] !== undefined && env[name]!.trim() !== '').map((name) => [name, env[name]!.trim()]),
  );
  const parsed = settingsSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'settings')}: ${issue.message}`);
    throw new SettingsError(`Invalid app settings. ${lines.join('; ')}`);
  }
  const s = parsed.data;
  return { ...s, defaultDeployment: s.AZURE_OPENAI_DEFAULT_DEPLOYMENT ?? s.AZURE_OPENAI_DEPLOYMENTS.keys().next().value! };
}
