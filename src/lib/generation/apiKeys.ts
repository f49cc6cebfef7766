import type { SecretClient } from '@azure/keyvault-secrets';
import { DependencyUnavailableError } from '../core/errors.js';

// Where the Azure OpenAI api-key comes from. The vault is read once per instance per TTL, never per
// request, and again when the service refuses the key (a rotation), so a rotation fails no request.

export interface ApiKeySource {
  /** The key to use now. */
  get(): Promise<string>;
  /** The service refused `rejected`: a newer key, read again unless another request already did. */
  refresh(rejected: string): Promise<string>;
}

/** A key from a setting: local runs against the emulator, or a key you manage yourself. */
export class StaticApiKey implements ApiKeySource {
  constructor(private readonly key: string) {}
  async get() {
    return this.key;
  }
  async refresh() {
    return this.key;
  }
}

export interface VaultApiKeyOptions {
  secretName: string;
  ttlMs: number;
  now?: () => number;
}

/** How long a stale key is used before the vault is asked again, when it failed. */
const RETRY_VAULT_AFTER_MS = 30_000;
/** What a caller is told to wait when there is no key at all. */
const CALLER_RETRY_AFTER_MS = 10_000;

export class VaultApiKey implements ApiKeySource {
  private cached?: { value: string; expiresAt: number };
  private inFlight?: Promise<string>;
  private readonly now: () => number;

  constructor(
    private readonly client: Pick<SecretClient, 'getSecret'>,
    private readonly options: VaultApiKeyOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async get(): Promise<string> {
    if (this.cached && this.now() < this.cached.expiresAt) return this.cached.value;
    return this.read(false);
  }

  async refresh(rejected: string): Promise<string> {
    if (this.cached && this.cached.value !== rejected) return this.cached.value;
    return this.read(true);
  }

  /** One read at a time: concurrent callers share it rather than each asking the vault. */
  private read(mustBeNew: boolean): Promise<string> {
    this.inFlight ??= this.readVault(mustBeNew).finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async readVault(mustBeNew: boolean): Promise<string> {
    try {
      const secret = await this.client.getSecret(this.options.secretName);
      if (!secret.value) throw new Error(`secret ${this.options.secretName} has no value`);
      this.cached = { value: secret.value, expiresAt: this.now() + this.options.ttlMs };
      return secret.value;
    } catch (err) {
      // A key past its TTL still beats none while the vault is away; a refused key does not.
      if (this.cached && !mustBeNew) {
        this.cached.expiresAt = this.now() + Math.min(RETRY_VAULT_AFTER_MS, this.options.ttlMs);
        return this.cached.value;
      }
      throw new DependencyUnavailableError(
        'KeyVault',
        'The Azure OpenAI key could not be read from Key Vault. Try again later.',
        CALLER_RETRY_AFTER_MS,
        {
          cause: err,
        },
      );
    }
  }
}
