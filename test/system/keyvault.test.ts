import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../dev/fakes/identity/server.js';
import { startKeyVault, type KeyVaultStandIn } from '../../dev/fakes/keyvault/server.js';
import { startStack, type Stack } from '../support/stack.js';

// The key from Key Vault through the app's managed identity: the real DefaultAzureCredential and
// SecretClient in the host process, against the identity endpoint and Key Vault stand-ins.

const SECRET = 'azure-openai-api-key';
const KEY_1 = 'vault-key-one-7d1f0c9e2b';
const KEY_2 = 'vault-key-two-93aa61c4f0';

let identity: IdentityEndpoint;
let vault: KeyVaultStandIn;
let stack: Stack;

function vaultSettings(): Record<string, string | undefined> {
  return {
    AZURE_OPENAI_API_KEY: undefined,
    KEY_VAULT_URI: vault.url,
    KEY_VAULT_SECRET_NAME: SECRET,
    KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
    ...identity.env,
  };
}

beforeAll(async () => {
  const cert = inject('cert');
  identity = await startIdentityEndpoint();
  vault = await startKeyVault({
    cert: readFileSync(cert.certPath, 'utf8'),
    key: readFileSync(cert.keyPath, 'utf8'),
    secrets: { [SECRET]: KEY_1 },
  });
  stack = await startStack(vaultSettings(), { extraCaCerts: cert.certPath });
  stack.emulator.configure({ apiKeys: [KEY_1] });
});
afterAll(async () => {
  await stack?.stop();
  await vault?.close();
  await identity?.close();
});

const generate = (prompt = 'A quiet harbour') => stack.post('/api/images/generations', { prompt });

describe('the key from Key Vault', () => {
  it('is read once through the managed identity, then served from the cache', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => generate(`harbour ${i}`)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    for (let i = 0; i < 4; i++) expect((await generate()).status).toBe(200);
    expect(vault.reads).toBe(1);
    expect(identity.issued.get('https://vault.azure.net')).toBe(1);
  });

  it('survives a rotation: the service refuses the old key, the app reads the new one once, no request fails', async () => {
    vault.setSecret(SECRET, KEY_2);
    stack.emulator.configure({ apiKeys: [KEY_2] });
    const readsBefore = vault.reads;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => generate(`after rotation ${i}`)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(vault.reads).toBe(readsBefore + 1);
    expect((await generate()).status).toBe(200);
    expect(vault.reads).toBe(readsBefore + 1);
  });

  it('a vault that becomes unreachable costs nothing while the key is cached', async () => {
    vault.setReachable(false);
    try {
      expect((await generate()).status).toBe(200);
    } finally {
      vault.setReachable(true);
    }
  });

  it('never shows either key in answers, logs or blobs', async () => {
    const output = stack.host.output();
    for (const key of [KEY_1, KEY_2]) {
      expect(output).not.toContain(key);
      for (const answer of stack.answers) expect(answer).not.toContain(key);
      for (const name of await stack.blobNames()) expect((await stack.readBlob(name)).includes(key)).toBe(false);
    }
  });
});

describe('a vault that cannot be reached and no cached key', () => {
  it('is 503 with Retry-After; nothing is spent or stored', async () => {
    const cert = inject('cert');
    vault.setReachable(false);
    const fresh = await startStack(vaultSettings(), { extraCaCerts: cert.certPath });
    try {
      const { status, json, headers } = await fresh.post('/api/images/generations', { prompt: 'x' });
      expect(status).toBe(503);
      expect(json.error.code).toBe('KeyVaultUnavailable');
      expect(headers.get('retry-after')).toBe('10');
      expect(fresh.emulator.stats.requests).toBe(0);
      expect(await fresh.blobNames()).toEqual([]);
    } finally {
      vault.setReachable(true);
      await fresh.stop();
    }
  });
});
