import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { startHostProcess, type HostProcess } from '../../dev/fakes/host/process.js';
import { PROJECT_ROOT } from '../../dev/processes.js';
import { QUEUES } from '../../src/lib/jobs/queues.js';
import { uniqueName } from '../support/stack.js';
import { until } from '../support/until.js';

// Start-up on bad settings, as the real Functions host runs it: the app stays registered and answers
// 503 naming each bad setting; its queue messages wait for a fix. And the host itself: an entry point
// that throws at load leaves it running with no function, answering 404.

let azurite: Azurite;
const hosts: HostProcess[] = [];
const FUNCTION_KEY = uniqueName('function-key');
/** Too short to sign with: a bad setting whose value must never be answered. */
const SHORT_SECRET = 'sh0rt-s3cret';

beforeAll(async () => {
  azurite = await startAzurite({ silent: true });
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await azurite?.stop();
});

async function start(settings: Record<string, string>, options: { appRoot?: string } = {}): Promise<HostProcess> {
  const host = await startHostProcess(
    { AzureWebJobsStorage: azurite.connectionString, LOCAL_FUNCTION_KEY: FUNCTION_KEY, ...settings },
    options,
  );
  hosts.push(host);
  return host;
}

async function call(host: HostProcess, method: string, path: string, body?: unknown) {
  const response = await fetch(`${host.url}${path}`, {
    method,
    headers: { 'x-functions-key': FUNCTION_KEY, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, text, json: text ? JSON.parse(text) : undefined };
}

describe('an app with bad settings', () => {
  let host: HostProcess;
  beforeAll(async () => {
    // No AZURE_OPENAI_ENDPOINT, and a signing key too short.
    host = await start({ AZURE_OPENAI_API_KEY: 'k', WEBHOOK_SIGNING_KEY: SHORT_SECRET });
  });

  it('stays up, every function registered, and logs the bad settings', () => {
    expect(host.output()).toMatch(/Invalid app settings\. .*AZURE_OPENAI_ENDPOINT: is required/);
    expect(host.output()).toMatch(/Invalid app settings\. .*WEBHOOK_SIGNING_KEY: must be at least 16 characters/);
    expect(host.output()).toMatch(/processImageRequest: queueTrigger image-requests/);
    expect(host.output()).not.toContain(SHORT_SECRET);
  });

  it.each([
    ['GET', '/api/health'],
    ['POST', '/api/images/generations'],
    ['POST', '/api/images/estimate'],
    ['GET', '/api/models'],
    ['GET', '/api/gallery/images'],
    ['GET', '/api/images/files/2026/01/01/000000000-00000000-0000-0000-0000-000000000000-0.png'],
    ['GET', '/api/images/jobs/some-job'],
    ['GET', '/api/images/subscriptions/00000000-0000-4000-8000-000000000000'],
    ['GET', '/api/keys'],
    ['GET', '/api/usage'],
  ])('%s %s answers 503 in Azure’s error shape, naming each setting and what is wrong', async (method, path) => {
    const answer = await call(host, method, path, method === 'POST' ? { prompt: 'x' } : undefined);
    expect(answer.status).toBe(503);
    expect(answer.json.error.code).toBe('InvalidAppSettings');
    expect(answer.json.error.message).toMatch(/AZURE_OPENAI_ENDPOINT: is required unless AZURE_OPENAI_BACKENDS/);
    expect(answer.json.error.message).toMatch(/WEBHOOK_SIGNING_KEY: must be at least 16 characters/);
    expect(answer.text).not.toContain(SHORT_SECRET);
  });

  it('GET /api/health/detail lists the problems', async () => {
    const detail = await call(host, 'GET', '/api/health/detail');
    expect(detail.status).toBe(503);
    expect(detail.json.status).toBe('unhealthy');
    expect(detail.json.problems).toHaveLength(2);
    expect(detail.json.problems).toEqual(
      expect.arrayContaining([
        { setting: 'AZURE_OPENAI_ENDPOINT', problem: expect.stringMatching(/is required/) },
        { setting: 'WEBHOOK_SIGNING_KEY', problem: 'must be at least 16 characters' },
      ]),
    );
    expect(detail.text).not.toContain(SHORT_SECRET);
  });

  it('leaves a queue message to be delivered again: neither answered, failed nor parked', async () => {
    const service = QueueServiceClient.fromConnectionString(azurite.connectionString);
    const requests = service.getQueueClient(QUEUES.requests);
    await requests.createIfNotExists();
    const id = uniqueName('waits');
    await requests.sendMessage(JSON.stringify({ id, prompt: 'x' }));
    await until(
      async () => (host.output().includes('[processImageRequest] failed (attempt 1)') ? true : undefined),
      15_000,
    );
    // Back on the queue, invisible for host.json's visibilityTimeout, with its first attempt counted.
    expect((await requests.getProperties()).approximateMessagesCount).toBe(1);
    expect((await requests.peekMessages()).peekedMessageItems).toHaveLength(0);
    for (const name of [QUEUES.results, QUEUES.poison]) {
      const queue = service.getQueueClient(name);
      expect(
        (await queue.exists()) ? (await queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems : [],
      ).toEqual([]);
    }
  });
});

describe('an app whose price table is malformed', () => {
  it('answers 503 naming the entry', async () => {
    const table = JSON.stringify({
      version: 'broken',
      models: {
        'gpt-image-2': {
          source: 's',
          date: '2026-11-26',
          usd_per_million_tokens: { text_input: 5, image_input: 8, image_output: 0 },
          output_tokens: { '1024x1024': { low: 1, medium: 2, high: 3 } },
        },
      },
    });
    const host = await start({
      AZURE_OPENAI_API_KEY: 'k',
      AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9',
      WEBHOOK_SIGNING_KEY: 'a-signing-key-long-enough',
      PRICE_TABLE: table,
    });
    for (const path of ['/api/health', '/api/models']) {
      const answer = await call(host, 'GET', path);
      expect(answer.status).toBe(503);
      expect(answer.json.error.message).toMatch(
        /PRICE_TABLE: models\.gpt-image-2\.usd_per_million_tokens\.image_output: /,
      );
    }
  });
});

describe('the host, when an entry point throws at load', () => {
  let root: string;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('logs "Worker was unable to load entry point", keeps running with 0 functions and answers 404 everywhere', async () => {
    root = mkdtempSync(join(tmpdir(), 'broken-app-'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ main: '*.js' }));
    writeFileSync(join(root, 'host.json'), JSON.stringify({ version: '2.0' }));
    // The first file registers a function; the second throws, as a module did on a bad setting.
    const functions = JSON.stringify(join(PROJECT_ROOT, 'node_modules', '@azure', 'functions'));
    writeFileSync(
      join(root, 'a.js'),
      `require(${functions}).app.http('ping', { methods: ['GET'], authLevel: 'anonymous', route: 'ping', handler: async () => ({ status: 200 }) });`,
    );
    writeFileSync(
      join(root, 'b.js'),
      `class SettingsError extends Error { name = 'SettingsError' }\nthrow new SettingsError('Invalid app settings. AZURE_OPENAI_ENDPOINT: is required');`,
    );
    const host = await start({}, { appRoot: root });
    expect(host.output()).toMatch(
      /Worker was unable to load entry point "b\.js": SettingsError: Invalid app settings\. AZURE_OPENAI_ENDPOINT: is required/,
    );
    expect(host.output()).toMatch(/0 functions found/);
    for (const path of ['/api/ping', '/api/health', '/api/images/generations'])
      expect((await fetch(`${host.url}${path}`)).status, path).toBe(404);
    expect(host.process.exitCode).toBeNull();
  });
});
