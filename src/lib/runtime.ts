import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { IdempotencyStore } from './idempotency.js';
import { ImageStore } from './imageStore.js';
import { JobStore } from './jobs.js';
import { StaticApiKey, VaultApiKey, type ApiKeySource } from './keys.js';
import { ImagePipeline } from './pipeline.js';
import { ImageService } from './service.js';
import { loadSettings, type Settings } from './settings.js';
import { ImageQueues } from './queues.js';
import { createStorageClients, type StorageClients } from './storage.js';
import { ImageJobs } from './worker.js';

// Builds the pipeline's parts once per instance from the settings: clients are reused across
// invocations, so connections, the cached key and the user delegation key are too.

export interface Runtime {
  settings: Settings;
  pipeline: ImagePipeline;
  jobs: ImageJobs;
  idempotency: IdempotencyStore;
  store: ImageStore;
  storage: StorageClients;
  /** Absent in the keyless (Entra ID) mode. */
  keys?: ApiKeySource;
}

/** Vault hosts whose challenge names their own resource; elsewhere (a local stand-in) it cannot. */
const VAULT_DOMAINS = /\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)$/;

export function createRuntime(settings: Settings): Runtime {
  let credential: TokenCredential | undefined;
  // Created on first use: a local run on a connection string and a static key never needs one.
  const identity = () => (credential ??= new DefaultAzureCredential({ managedIdentityClientId: settings.AZURE_CLIENT_ID }));
  const storage = createStorageClients(settings, identity);
  const keys = settings.AZURE_OPENAI_AUTH === 'entra' ? undefined : createKeySource(settings, identity);
  const service = new ImageService({
    endpoint: settings.AZURE_OPENAI_ENDPOINT,
    apiVersion: settings.AZURE_OPENAI_API_VERSION,
    auth: keys ? { kind: 'key', keys } : { kind: 'entra', credential: identity() },
    timeoutMs: settings.AZURE_OPENAI_TIMEOUT_SECONDS * 1000,
    maxRetries: settings.AZURE_OPENAI_MAX_RETRIES,
  });
  const store = new ImageStore(storage, { container: settings.IMAGES_CONTAINER, urlTtlMinutes: settings.IMAGE_URL_TTL_MINUTES });
  const pipeline = new ImagePipeline({
    deployments: { deployments: settings.AZURE_OPENAI_DEPLOYMENTS, defaultDeployment: settings.defaultDeployment },
    apiVersion: settings.AZURE_OPENAI_API_VERSION,
    service,
    store,
  });
  const jobsContainer = storage.blobs.getContainerClient(settings.JOBS_CONTAINER);
  const jobs = new ImageJobs(pipeline, new JobStore(jobsContainer), new ImageQueues(storage.queues));
  const idempotency = new IdempotencyStore(jobsContainer, settings.IDEMPOTENCY_TTL_HOURS * 3600_000);
  return { settings, pipeline, jobs, idempotency, store, storage, keys };
}

function createKeySource(settings: Settings, identity: () => TokenCredential): ApiKeySource {
  if (!settings.KEY_VAULT_URI) return new StaticApiKey(settings.AZURE_OPENAI_API_KEY!);
  const client = new SecretClient(settings.KEY_VAULT_URI, identity(), {
    disableChallengeResourceVerification: !VAULT_DOMAINS.test(new URL(settings.KEY_VAULT_URI).hostname),
    // A vault that is down should cost a request seconds, not the SDK's default minute of retries.
    retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
  });
  return new VaultApiKey(client, { secretName: settings.KEY_VAULT_SECRET_NAME, ttlMs: settings.KEY_CACHE_TTL_SECONDS * 1000 });
}

let current: Runtime | undefined;

/** The instance's runtime, from the app settings; a bad setting throws here, at start-up, with its name. */
export function runtime(): Runtime {
  return (current ??= createRuntime(loadSettings(process.env)));
}
