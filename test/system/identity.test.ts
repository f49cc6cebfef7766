import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../dev/fakes/identity/server.js';
import { mintToken } from '../../dev/fakes/identity/tokens.js';
import { startStack, type Stack } from '../support/stack.js';

// Production's way, with no key anywhere: storage through the managed identity (Azurite with OAuth
// over HTTPS), user delegation SAS, and Azure OpenAI keyless with an Entra ID token.

let azurite: Azurite;
let identity: IdentityEndpoint;
let stack: Stack;

/** Identity-based storage on Azurite's OAuth endpoints, and Entra ID for Azure OpenAI: no key anywhere. */
const keyless = () => ({
  AzureWebJobsStorage: undefined,
  AzureWebJobsStorage__blobServiceUri: azurite.blobEndpoint,
  AzureWebJobsStorage__queueServiceUri: azurite.queueEndpoint,
  AzureWebJobsStorage__tableServiceUri: azurite.tableEndpoint,
  AZURE_OPENAI_AUTH: 'entra',
  AZURE_OPENAI_API_KEY: undefined,
  ...identity.env,
});

beforeAll(async () => {
  const cert = inject('cert');
  azurite = await startAzurite({ oauth: cert, silent: true });
  identity = await startIdentityEndpoint();
  stack = await startStack(keyless(), { extraCaCerts: cert.certPath });
  stack.emulator.configure({ apiKeys: [] });
});
afterAll(async () => {
  await stack?.stop();
  await identity?.close();
  await azurite?.stop();
});

describe('identity-based storage and keyless Azure OpenAI', () => {
  it('keeps the image with a token and answers a user delegation SAS that reads it', async () => {
    const { status, json } = await stack.post('/api/images/generations', { prompt: 'A glass greenhouse' });
    expect(status).toBe(200);
    const url = new URL(json.data[0].url);
    expect(url.protocol).toBe('https:');
    // A user delegation SAS names the signing identity; an account-key SAS cannot.
    expect(url.searchParams.get('skoid')).toEqual(expect.any(String));
    expect(url.searchParams.get('sktid')).toEqual(expect.any(String));
    expect(url.searchParams.get('sp')).toBe('r');
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(
      Buffer.from(await download.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');

    // The token, not a key, reached Azure OpenAI.
    const sent = stack.emulator.lastRequest!.headers;
    expect(sent['api-key']).toBeUndefined();
    expect(String(sent.authorization)).toMatch(/^Bearer /);
    // On the v1 API, for the audience Learn's v1 examples name.
    expect(stack.emulator.lastRequest!.path).toMatch(/^\/openai\/v1\//);
    expect(identity.issued.get('https://ai.azure.com')).toBeGreaterThanOrEqual(1);
    expect(identity.issued.get('https://storage.azure.com')).toBeGreaterThanOrEqual(1);

    const blobs = new BlobServiceClient(azurite.blobEndpoint, {
      getToken: async () => {
        const { token, expiresOn } = mintToken('https://storage.azure.com');
        return { token, expiresOnTimestamp: expiresOn * 1000 };
      },
    });
    const record = JSON.parse(
      (
        await blobs.getContainerClient(stack.container).getBlobClient(json.data[0].storage.record).downloadToBuffer()
      ).toString(),
    );
    expect(record.prompt).toBe('A glass greenhouse');
  });

  it('a SAS for one blob reads no other', async () => {
    const first = await stack.post('/api/images/generations', { prompt: 'one' });
    const second = await stack.post('/api/images/generations', { prompt: 'two' });
    const url = new URL(first.json.data[0].url);
    const other = `${url.origin}${url.pathname.replace(first.json.data[0].storage.blob, second.json.data[0].storage.blob)}${url.search}`;
    expect((await fetch(other)).status).toBe(403);
  });

  it('on the dated path, the token is for Cognitive Services', async () => {
    const dated = await startStack(
      { ...keyless(), AZURE_OPENAI_API_VERSION: '2025-04-01-preview' },
      { extraCaCerts: inject('cert').certPath },
    );
    try {
      dated.emulator.configure({ apiKeys: [] });
      const before = identity.issued.get('https://cognitiveservices.azure.com') ?? 0;
      expect((await dated.post('/api/images/generations', { prompt: 'Dated' })).status).toBe(200);
      expect(dated.emulator.lastRequest!.path).toBe(
        '/openai/deployments/gpt-image-2/images/generations?api-version=2025-04-01-preview',
      );
      expect(identity.issued.get('https://cognitiveservices.azure.com')).toBe(before + 1);
    } finally {
      await dated.stop();
    }
  });

  it('a request with no valid token is refused by the emulator as the service would', async () => {
    const response = await fetch(
      `${stack.emulator.url}/openai/deployments/gpt-image-2/images/generations?api-version=2025-04-01-preview`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${mintToken('https://vault.azure.net').token}`,
        },
        body: JSON.stringify({ prompt: 'x' }),
      },
    );
    expect(response.status).toBe(401);
  });
});
