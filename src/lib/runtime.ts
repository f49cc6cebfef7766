import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { Authenticator, HostKeyCheck, hostUrlOf } from './callers/auth.js';
import { EntraTokenVerifier } from './callers/entra.js';
import { BackendState } from './generation/poolState.js';
import { BackendPool, createBackendPool } from './generation/pool.js';
import { CallerKeyStore } from './callers/callerKeys.js';
import { Gallery } from './gallery/gallery.js';
import { GalleryIndexer } from './gallery/indexer.js';
import { IdempotencyStore } from './jobs/idempotency.js';
import { ImageIndex } from './gallery/imageIndex.js';
import { ImageStore } from './images/store.js';
import { JobStore } from './jobs/jobStore.js';
import { deploymentLifecycles } from './core/lifecycle.js';
import { StaticApiKey, VaultApiKey, type ApiKeySource } from './generation/apiKeys.js';
import { UsageLedger } from './cost/ledger.js';
import { MeteredGenerator } from './cost/metering.js';
import { ImagePipeline } from './images/pipeline.js';
import { deploymentPrices, Prices } from './cost/pricing.js';
import { ImageQueues } from './jobs/queues.js';
import { ImageService } from './generation/azureOpenAI.js';
import { loadSettings, type Settings } from './platform/settings.js';
import { SettingsError } from './core/errors.js';
import { createStorageClients } from './platform/storage.js';
import { Webhooks } from './jobs/webhooks.js';
import { JobWorker } from './jobs/worker.js';

// Builds the pipeline's parts once per instance from the settings: clients are reused across
// invocations, so connections, the cached key and the user delegation key are too.

export interface Runtime {
  settings: Settings;
  pipeline: ImagePipeline;
  jobs: JobWorker;
  idempotency: IdempotencyStore;
  webhooks: Webhooks;
  auth: Authenticator;
  callerKeys: CallerKeyStore;
  /** The studio's reads of the kept images. */
  gallery: Gallery;
  /** Thumbnails and index entries of kept images (the image-thumbnails queue). */
  galleryIndexer: GalleryIndexer;
  /** Estimates, and what the generations cost. */
  meter: MeteredGenerator;
  /** Absent when LEDGER_ENABLED is off. */
  ledger?: UsageLedger;
  /** Present when AZURE_OPENAI_BACKENDS lists the backends. */
  backends?: BackendPool;
}

/** What the platform says of the instance: not app settings, nobody sets them. */
export interface Platform {
  /** The app's own host name (WEBSITE_HOSTNAME): Azure sets it, as Core Tools and the local host do. */
  hostname?: string;
}

export function createRuntime(settings: Settings, platform: Platform = {}): Runtime {
  let credential: TokenCredential | undefined;
  // Created on first use: a local run on a connection string and a static key never needs one.
  const identity = () =>
    (credential ??= new DefaultAzureCredential({ managedIdentityClientId: settings.AZURE_CLIENT_ID }));
  const storage = createStorageClients(settings, identity);
  const secret = secretSources(settings, identity);
  const openAiKey = (secretName = settings.KEY_VAULT_SECRET_NAME) => secret(secretName, settings.AZURE_OPENAI_API_KEY);
  const backends = settings.AZURE_OPENAI_BACKENDS
    ? createBackendPool(settings, {
        state: new BackendState(storage.table(settings.BACKEND_STATE_TABLE), { log: (m) => console.warn(m) }),
        keys: openAiKey,
        credential: identity,
        log: (m) => console.warn(m),
      })
    : undefined;
  // AZURE_OPENAI_ENDPOINT: one account, called as it always was.
  const accounts =
    backends ??
    new ImageService({
      endpoint: settings.AZURE_OPENAI_ENDPOINT!,
      apiVersion: settings.AZURE_OPENAI_API_VERSION,
      auth:
        settings.AZURE_OPENAI_AUTH === 'entra'
          ? { kind: 'entra', credential: identity() }
          : { kind: 'key', keys: openAiKey() },
      timeoutMs: settings.ms.azureOpenAITimeout,
      maxRetries: settings.AZURE_OPENAI_MAX_RETRIES,
    });
  const ledger = settings.LEDGER_ENABLED ? new UsageLedger(storage.table(settings.USAGE_TABLE)) : undefined;
  // Metering wraps the accounts: a budget is held before any of them is called, whichever serves.
  const meter = new MeteredGenerator(accounts, {
    prices: new Prices(settings.PRICE_TABLE),
    models: settings.AZURE_OPENAI_DEPLOYMENTS,
    ledger,
    callerDailyBudgetUsd: settings.CALLER_DAILY_BUDGET_USD,
    appDailyBudgetUsd: settings.APP_DAILY_BUDGET_USD,
    unpricedImageEstimateUsd: settings.ALLOW_UNPRICED_MODELS ? settings.UNPRICED_IMAGE_ESTIMATE_USD : undefined,
  });
  const store = new ImageStore(storage.blobs, {
    container: settings.IMAGES_CONTAINER,
    urlTtlMinutes: settings.IMAGE_URL_TTL_MINUTES,
  });
  const index = new ImageIndex(storage.table(settings.IMAGE_INDEX_TABLE), settings.IMAGES_CONTAINER);
  const queues = new ImageQueues(storage.queues);
  const galleryIndexer = new GalleryIndexer(store, index, queues);
  const pipeline = new ImagePipeline({
    deployments: settings,
    apiVersion: settings.AZURE_OPENAI_API_VERSION,
    generator: meter,
    store,
    gallery: galleryIndexer,
  });
  const jobsContainer = storage.blobs.getContainerClient(settings.JOBS_CONTAINER);
  const webhooks = new Webhooks(storage.table(settings.WEBHOOKS_TABLE), {
    policy: settings.WEBHOOK_CALLBACKS,
    secret: secret(settings.WEBHOOK_SIGNING_SECRET_NAME, settings.WEBHOOK_SIGNING_KEY),
    retryWindowMs: settings.ms.webhookRetryWindow,
    retryBaseMs: settings.ms.webhookRetryBase,
  });
  const jobs = new JobWorker(pipeline, new JobStore(jobsContainer), queues, webhooks);
  const idempotency = new IdempotencyStore(jobsContainer, settings.ms.idempotencyTtl);
  const authTtlMs = settings.ms.authCacheTtl;
  const callerKeys = new CallerKeyStore(storage.table(settings.CALLER_KEYS_TABLE), authTtlMs);
  const auth = new Authenticator({
    ...(settings.CALLER_KEYS_ENABLED && { callerKeys }),
    ...(settings.ENTRA_TENANT_ID && {
      entra: new EntraTokenVerifier({
        tenantId: settings.ENTRA_TENANT_ID,
        audiences: settings.ENTRA_AUDIENCE!,
        authorityHost: settings.ENTRA_AUTHORITY_HOST,
      }),
    }),
    hostKeys: new HostKeyCheck(hostUrlOf(platform.hostname), authTtlMs),
  });
  return {
    settings,
    pipeline,
    jobs,
    idempotency,
    webhooks,
    auth,
    callerKeys,
    gallery: new Gallery(index, store, { maxZipsInFlight: settings.GALLERY_ZIP_MAX_IN_FLIGHT }),
    galleryIndexer,
    meter,
    ...(ledger && { ledger }),
    ...(backends && { backends }),
  };
}

/** Secrets from the vault when there is one (cached, re-read on rotation), else from a setting (local runs). */
function secretSources(settings: Settings, identity: () => TokenCredential) {
  let vault: SecretClient | undefined;
  return (secretName: string, localValue: string | undefined): ApiKeySource => {
    if (!settings.KEY_VAULT_URI) return new StaticApiKey(localValue!);
    vault ??= new SecretClient(settings.KEY_VAULT_URI, identity(), {
      disableChallengeResourceVerification: settings.KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION,
      // A vault that is down should cost a request seconds, not the SDK's default minute of retries.
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
    });
    return new VaultApiKey(vault, { secretName, ttlMs: settings.ms.keyCacheTtl });
  };
}

let current: Runtime | SettingsError | undefined;

/**
 * The instance's runtime, built once from the app settings, at start-up (index.ts) or on first use.
 * Bad settings throw their SettingsError on every use, never at load: the functions stay registered,
 * so each route answers 503 naming them and each queue message is delivered again, where a module
 * that throws at load would leave the real host running with no function at all (404 everywhere).
 * A deployment whose model retires soon, or has no price, is a warning in the start-up log.
 */
export function runtime(): Runtime {
  current ??= start();
  if (current instanceof SettingsError) throw current;
  return current;
}

function start(): Runtime | SettingsError {
  let rt: Runtime;
  try {
    rt = createRuntime(loadSettings(process.env), { hostname: process.env.WEBSITE_HOSTNAME });
  } catch (err) {
    // A client that refuses a setting the schema let through (a malformed connection string): its
    // message is logged, never answered, in case it quotes the setting.
    const refused =
      err instanceof SettingsError
        ? err
        : new SettingsError([
            {
              setting: 'settings',
              problem: `the app could not be built from them (${(err as Error).name}; see the log)`,
            },
          ]);
    console.error(
      `${refused.message}. Every function answers 503 (its queue messages are delivered again) until they are fixed.${err === refused ? '' : ` ${String(err)}`}`,
    );
    return refused;
  }
  for (const { warning } of [...deploymentLifecycles(rt.settings), ...deploymentPrices(rt.settings)])
    if (warning) console.warn(warning);
  return rt;
}

/** The bad settings the instance started with; none when it started well. */
export function settingsProblems(): SettingsError | undefined {
  try {
    runtime();
    return undefined;
  } catch (err) {
    if (err instanceof SettingsError) return err;
    throw err;
  }
}
