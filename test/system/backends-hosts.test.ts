import { readFileSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../dev/fakes/emulator/index.js';
import { startHostProcess, type HostProcess } from '../../dev/fakes/host/process.js';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../dev/fakes/identity/server.js';
import { startKeyVault, type KeyVaultStandIn } from '../../dev/fakes/keyvault/server.js';
import { uniqueName } from '../support/stack.js';
import { quietFor, untilHolds } from '../support/until.js';

// Two instances of the app (two host processes) in front of two emulated accounts, as Azure scales
// it out: one storage account between them (an Azurite of this file's own: the host's queue
// trigger must not take other files' messages), each account's key in its own Key Vault secret.

const KEY_A = `key-a-${uniqueName('k')}`;
const KEY_B = `key-b-${uniqueName('k')}`;
const GENERATE = '/api/images/generations';

let azurite: Azurite;
let identity: IdentityEndpoint;
let vault: KeyVaultStandIn;
let a: OpenAIEmulator;
let b: OpenAIEmulator;
let hosts: HostProcess[] = [];
let images: string;
const answers: string[] = [];

beforeAll(async () => {
  const cert = inject('cert');
  azurite = await startAzurite({ silent: true });
  identity = await startIdentityEndpoint();
  vault = await startKeyVault({
    cert: readFileSync(cert.certPath, 'utf8'),
    key: readFileSync(cert.keyPath, 'utf8'),
    secrets: { 'openai-key-a': KEY_A, 'openai-key-b': KEY_B },
  });
  [a, b] = await Promise.all(
    [KEY_A, KEY_B].map((key) => startOpenAIEmulator({ apiKeys: [key], deployments: { 'gpt-image-2': 'gpt-image-2' } })),
  );
  images = uniqueName('images');
  const settings = {
    AzureWebJobsStorage: azurite.connectionString,
    AZURE_OPENAI_BACKENDS: JSON.stringify([
      {
        name: 'sweden',
        endpoint: a.url,
        deployment: 'gpt-image-2',
        model: 'gpt-image-2',
        region: 'swedencentral',
        priority: 1,
        keyVaultSecretName: 'openai-key-a',
      },
      {
        name: 'east',
        endpoint: b.url,
        deployment: 'gpt-image-2',
        model: 'gpt-image-2',
        region: 'eastus2',
        priority: 2,
        keyVaultSecretName: 'openai-key-b',
      },
    ]),
    KEY_VAULT_URI: vault.url,
    KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
    ...identity.env,
    BACKEND_STATE_TABLE: uniqueName('state').replaceAll('-', ''),
    IMAGES_CONTAINER: images,
    JOBS_CONTAINER: uniqueName('jobs'),
    AZURE_OPENAI_TIMEOUT_SECONDS: '5',
  };
  hosts = await Promise.all([
    startHostProcess(settings, { extraCaCerts: cert.certPath }),
    startHostProcess(settings, { extraCaCerts: cert.certPath }),
  ]);
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await Promise.all([a, b].map((e) => e?.close()));
  await vault?.close();
  await identity?.close();
  await azurite?.stop();
});

async function post(host: HostProcess, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${host.url}${GENERATE}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  answers.push(text, JSON.stringify([...response.headers]));
  return { status: response.status, headers: response.headers, json: JSON.parse(text) };
}

const backendOf = (answer: { headers: Headers }) => [
  answer.headers.get('x-served-backend'),
  answer.headers.get('x-served-region'),
];

/** Whether an instance's health detail shows each of `names` unavailable (throttled, or its circuit open). */
async function seesUnavailable(host: HostProcess, ...names: string[]): Promise<boolean> {
  const { backends } = (await (await fetch(`${host.url}/api/health/detail`)).json()) as {
    backends: { name: string; available: boolean }[];
  };
  return names.every((name) => backends.find((b) => b.name === name)?.available === false);
}

describe('two instances, two accounts', () => {
  it('share a throttle mark: one instance meets the 429, the other honours it within a second', async () => {
    a.configure({ requestsPerMinute: 2 });
    const [one, two] = hosts;
    // The second instance has read the shared state already: what it learns next, it learns from the table.
    expect(backendOf(await post(two, { prompt: 'first' }))).toEqual(['sweden', 'swedencentral']);
    expect(backendOf(await post(one, { prompt: 'second' }))).toEqual(['sweden', 'swedencentral']);
    const spilled = await post(one, { prompt: 'third' });
    expect(spilled.status).toBe(200);
    expect(backendOf(spilled)).toEqual(['east', 'eastus2']);
    expect(a.stats.rateLimited).toBe(1);

    // Each instance reads the shared marks again when its copy is 750 ms old: a second, with a
    // second's margin for a loaded machine.
    await untilHolds(() => seesUnavailable(two, 'sweden'), 2_000);
    const asked = a.stats.requests;
    expect(backendOf(await post(two, { prompt: 'fourth' }))).toEqual(['east', 'eastus2']);
    expect(a.stats.requests).toBe(asked);
    expect(a.stats.rateLimited).toBe(1);

    // The record keeps the backend and each attempt on the way.
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(images);
    const record = JSON.parse(
      (await blobs.getBlobClient(spilled.json.data[0].storage.record).downloadToBuffer()).toString(),
    );
    expect(record.backend).toEqual({ name: 'east', region: 'eastus2' });
    expect(record.attempts).toEqual([
      { backend: 'sweden', outcome: 'throttled', status: 429, code: '429', ms: expect.any(Number) },
      { backend: 'east', outcome: 'ok', ms: expect.any(Number) },
    ]);
  });

  it('answer 429 with the soonest Retry-After of the pool when every backend is throttled, without asking either account', async () => {
    b.configure({ requestsPerMinute: 1, retryAfterSeconds: 8 });
    const [one, two] = hosts;
    expect(backendOf(await post(one, { prompt: 'quota of east' }))).toEqual(['east', 'eastus2']);
    const refused = await post(one, { prompt: 'none left' });
    expect(refused.status).toBe(429);
    // Sweden's wait is the rest of its minute (about 60 s); east said 8.
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(7);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(8);
    expect(refused.json.error).toMatchObject({ code: '429' });
    const refusedAt = Date.now();

    // The other instance has the mark, and a second has passed: its wait is computed from the mark, not east's own 8 s.
    await untilHolds(async () => Date.now() - refusedAt >= 1_000 && (await seesUnavailable(two, 'sweden', 'east')));
    const asked = [a.stats.requests, b.stats.requests];
    const computed = await post(two, { prompt: 'still none' });
    expect(computed.status).toBe(429);
    expect(Number(computed.headers.get('retry-after'))).toBeGreaterThanOrEqual(5);
    expect(Number(computed.headers.get('retry-after'))).toBeLessThanOrEqual(7);
    expect(computed.json.error.message).toMatch(/^No Azure OpenAI backend .*\(sweden, east: throttled or failing\)/);
    expect([a.stats.requests, b.stats.requests]).toEqual(asked);
  });

  it('list each backend in the health detail: available, throttled until, and this instance’s calls', async () => {
    const detail = await (await fetch(`${hosts[0].url}/api/health/detail`)).json();
    const [sweden, east] = detail.backends;
    expect(sweden).toMatchObject({
      name: 'sweden',
      region: 'swedencentral',
      priority: 1,
      weight: 1,
      available: false,
      circuit: 'closed',
      open_until: null,
      last_5_minutes: { requests: 2, throttled: 1, failures: 0 },
    });
    expect(Date.parse(sweden.throttled_until)).toBeGreaterThan(Date.now());
    expect(east).toMatchObject({ name: 'east', available: false, last_5_minutes: { requests: 3, throttled: 1 } });
  });

  it('call each account with its own key, read once per secret, and show neither anywhere', async () => {
    expect(a.stats.unauthorized + b.stats.unauthorized).toBe(0);
    // The v1 API carries the key as a bearer token.
    expect(a.lastRequest?.headers.authorization).toBe(`Bearer ${KEY_A}`);
    expect(b.lastRequest?.headers.authorization).toBe(`Bearer ${KEY_B}`);
    // Each instance read each secret once.
    expect(vault.reads).toBe(4);
    for (const text of [...answers, ...hosts.map((h) => h.output())]) {
      expect(text).not.toContain(KEY_A);
      expect(text).not.toContain(KEY_B);
    }
  });

  it('keep the backend in an asynchronous job’s result, and a job that meets no available backend waits', async () => {
    a.configure({ requestsPerMinute: undefined });
    b.configure({ requestsPerMinute: undefined });
    // Both still marked throttled: the job goes back on the queue until the soonest Retry-After.
    const accepted = await post(hosts[0], { prompt: 'later' }, { prefer: 'respond-async' });
    expect(accepted.status).toBe(202);
    const location = accepted.headers.get('location')!;
    await quietFor(2_000, 'the job waits while both backends are marked throttled');
    expect((await fetch(location)).status).toBe(202);
    const done = await vi.waitUntil(
      async () => {
        const poll = await fetch(location);
        return poll.status === 200 ? poll : undefined;
      },
      { timeout: 25_000, interval: 500 },
    );
    expect(done.headers.get('x-served-backend')).toBe('east');
  }, 40_000);
});
