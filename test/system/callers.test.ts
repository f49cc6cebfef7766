import { TableClient } from '@azure/data-tables';
import OpenAI, { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { HostProcess } from '../../dev/fakes/host/process.js';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../dev/fakes/identity/server.js';
import { startStack, uniqueName, type Stack } from '../support/stack.js';

// Caller keys end to end: the local host checks function keys as Azure does (LOCAL_FUNCTION_KEY),
// the generation routes are anonymous to it, and the app authenticates each request itself. The
// official SDKs work with a caller key alone; a revocation reaches a second instance within the
// cache's lifetime (1 s here, 60 s at most).

let stack: Stack;
let second: HostProcess;
const FUNCTION_KEY = uniqueName('function-key');
const GENERATE = '/api/images/generations';
/** Every caller key this file was given: none may be found in clear anywhere but the answer that issued it. */
const issued: string[] = [];

let identity: IdentityEndpoint;
/** The app registration people sign in to. */
const CLIENT_ID = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

beforeAll(async () => {
  // The identity stand-in is the tenant's authority: the app fetches its OpenID configuration and keys.
  identity = await startIdentityEndpoint();
  stack = await startStack({
    LOCAL_FUNCTION_KEY: FUNCTION_KEY,
    AUTH_CACHE_TTL_SECONDS: '1',
    ENTRA_TENANT_ID: identity.tenantId,
    ENTRA_AUDIENCE: `${CLIENT_ID},api://${CLIENT_ID}`,
    ENTRA_AUTHORITY_HOST: identity.authorityHost,
  });
  second = await stack.anotherHost();
});
afterAll(async () => {
  await stack?.stop();
  await identity?.close();
});

/** A call with exactly these headers: no function key unless given. */
async function call(path: string, body: unknown, headers: Record<string, string> = {}, host = stack.host.url) {
  const response = await fetch(`${host}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

async function newKey(body: Record<string, unknown>): Promise<{ id: string; key: string; name: string }> {
  const created = await stack.post('/api/keys', body);
  expect(created.status).toBe(201);
  issued.push(created.json.key);
  return created.json;
}

const readRecord = async (blob: string) => JSON.parse((await stack.readBlob(`${blob}.json`)).toString('utf8'));

describe('caller keys', () => {
  it('are issued once, named, and listed without the key', async () => {
    const created = await stack.post('/api/keys', {
      name: 'team-render',
      daily_budget_usd: 5,
      models: ['gpt-image-1-mini'],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.json).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'team-render',
      daily_budget_usd: 5,
      models: ['gpt-image-1-mini'],
      key: expect.stringMatching(/^igk_[\w-]{43}$/),
    });
    issued.push(created.json.key);
    const listed = await stack.get('/api/keys');
    expect(listed.json.data).toContainEqual({
      id: created.json.id,
      name: 'team-render',
      daily_budget_usd: 5,
      models: ['gpt-image-1-mini'],
      created: created.json.created,
    });
    expect(listed.text).not.toContain(created.json.key);
  });

  it('are refused with a bad name, budget or model, naming the field', async () => {
    for (const [body, param] of [
      [{ name: 'has space' }, 'name'],
      [{ name: 'anonymous' }, 'name'],
      [{ name: 'ok', daily_budget_usd: -1 }, 'daily_budget_usd'],
      [{ name: 'ok', models: ['dall-e-3'] }, 'models.0'],
      [{ name: 'ok', key: 'mine' }, 'key'],
    ] as const) {
      const refused = await stack.post('/api/keys', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.json.error.param).toBe(param);
    }
  });

  it('need the function key to be issued, listed or revoked', async () => {
    const { key } = await newKey({ name: 'no-admin' });
    for (const [method, path] of [
      ['POST', '/api/keys'],
      ['GET', '/api/keys'],
      ['DELETE', '/api/keys/x'],
    ]) {
      const response = await fetch(`${stack.host.url}${path}`, {
        method,
        headers: { 'api-key': key, 'content-type': 'application/json' },
        ...(method === 'POST' && { body: '{"name":"x"}' }),
      });
      expect(response.status, `${method} ${path}`).toBe(401);
    }
  });
});

describe('the official SDKs with only a caller key', () => {
  it('AzureOpenAI: endpoint <app>/api, the key as api-key', async () => {
    const { key } = await newKey({ name: 'sdk-azure' });
    const client = new AzureOpenAI({
      endpoint: `${stack.host.url}/api`,
      apiKey: key,
      apiVersion: '2024-10-21',
      deployment: 'dall-e-3',
      maxRetries: 0,
    });
    const answer = await client.images.generate({ prompt: 'A paper boat', model: 'dall-e-3' });
    const record = await readRecord((answer.data![0] as any).storage.blob);
    expect(record.caller).toEqual({ name: 'sdk-azure', kind: 'key' });
    expect(record.cost).toMatchObject({ usd: expect.any(Number), basis: 'usage', table_version: '2026-12-02' });
    expect(record.cost.usd).toBeGreaterThan(0);
  });

  it('OpenAI: baseURL <app>/api/openai/v1, the key as Bearer; streams too', async () => {
    const { key } = await newKey({ name: 'sdk-openai' });
    const client = new OpenAI({ baseURL: `${stack.host.url}/api/openai/v1`, apiKey: key, maxRetries: 0 });
    const answer = await client.images.generate({
      model: 'mini',
      prompt: 'A cactus',
      quality: 'low',
      size: '1024x1024',
    });
    const record = await readRecord((answer.data![0] as any).storage.blob);
    expect(record).toMatchObject({ caller: { name: 'sdk-openai', kind: 'key' }, cost: { basis: 'usage' } });
    // 'A cactus': 2 text tokens at $2 and 272 output tokens at $8 per 1M, as the emulator counts them.
    expect(record.cost.usd).toBeCloseTo((2 * 2 + 272 * 8) / 1e6, 12);

    const completed: any[] = [];
    for await (const event of await client.images.generate({
      model: 'mini',
      prompt: 'A comet',
      quality: 'low',
      size: '1024x1024',
      stream: true,
      partial_images: 1,
    })) {
      if (event.type === 'image_generation.completed') completed.push(event);
    }
    expect(completed).toHaveLength(1);
    const streamed = await readRecord(completed[0].storage.blob);
    expect(streamed).toMatchObject({ caller: { name: 'sdk-openai', kind: 'key' }, cost: { basis: 'usage' } });
  });
});

describe('refused callers', () => {
  it('no key at all, an unknown key, or a wrong function key: 401 in Azure’s shape, before any work', async () => {
    const before = stack.emulator.stats.requests;
    const unknown = `igk_${'A'.repeat(43)}`;
    const attempts: Record<string, string>[] = [
      {},
      { 'api-key': unknown },
      { authorization: `Bearer ${unknown}` },
      { 'x-functions-key': 'wrong' },
    ];
    for (const headers of attempts) {
      const refused = await call(GENERATE, { prompt: 'x' }, headers);
      expect(refused.status, JSON.stringify(headers)).toBe(401);
      expect(refused.json.error).toMatchObject({
        code: 'Unauthorized',
        message: expect.stringMatching(/^(Access denied|The caller key is not valid)/),
      });
    }
    // Even a body that is not JSON is refused for who sends it first.
    const garbage = await fetch(`${stack.host.url}${GENERATE}`, { method: 'POST', body: 'not json' });
    expect(garbage.status).toBe(401);
    expect(stack.emulator.stats.requests).toBe(before);
  });

  it('a model the key may not use: 403, before any work; the estimate says so too', async () => {
    const { key } = await newKey({ name: 'mini-only', models: ['gpt-image-1-mini'] });
    const before = stack.emulator.stats.requests;
    // The default deployment is gpt-image-2, and a dall-e-3 request is served by gpt-image-2.
    for (const body of [{ prompt: 'x' }, { prompt: 'x', model: 'dall-e-3' }, { prompt: 'x', model: 'hq' }]) {
      const refused = await call(GENERATE, body, { 'api-key': key });
      expect(refused.status, JSON.stringify(body)).toBe(403);
      expect(refused.json.error).toMatchObject({ code: 'model_not_allowed', param: 'model' });
    }
    expect((await call('/api/images/estimate', { prompt: 'x' }, { 'api-key': key })).status).toBe(403);
    expect(stack.emulator.stats.requests).toBe(before);
    expect((await call(GENERATE, { prompt: 'x', model: 'mini', quality: 'low' }, { 'api-key': key })).status).toBe(200);
  });

  it('a revoked key: 401 at once where it was revoked, and on a second instance within the cache’s lifetime', async () => {
    const { id, key } = await newKey({ name: 'short-lived' });
    const body = { prompt: 'x', model: 'mini', quality: 'low' };
    // Both instances know the key (and cache it).
    expect((await call(GENERATE, body, { 'api-key': key })).status).toBe(200);
    expect((await call(GENERATE, body, { 'api-key': key }, second.url)).status).toBe(200);
    const revoked = await fetch(`${stack.host.url}/api/keys/${id}`, {
      method: 'DELETE',
      headers: { 'x-functions-key': FUNCTION_KEY },
    });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ id, revoked: expect.any(String) });
    const at = Date.now();
    expect((await call(GENERATE, body, { 'api-key': key })).status).toBe(401);
    await vi.waitUntil(
      async () => (await call(GENERATE, body, { authorization: `Bearer ${key}` }, second.url)).status === 401,
      { timeout: 10_000, interval: 100 },
    );
    // AUTH_CACHE_TTL_SECONDS is 1 here.
    expect(Date.now() - at).toBeLessThan(3_000);
    expect((await stack.get('/api/keys')).json.data.find((k: any) => k.id === id).revoked).toBeDefined();
    expect(
      (
        await fetch(`${stack.host.url}/api/keys/no-such-id`, {
          method: 'DELETE',
          headers: { 'x-functions-key': FUNCTION_KEY },
        })
      ).status,
    ).toBe(404);
  });
});

describe('operators', () => {
  it('keep the function key: x-functions-key or ?code=, spending as anonymous', async () => {
    const byHeader = await call(
      GENERATE,
      { prompt: 'x', model: 'mini', quality: 'low' },
      { 'x-functions-key': FUNCTION_KEY },
    );
    expect(byHeader.status).toBe(200);
    expect((await readRecord(byHeader.json.data[0].storage.blob)).caller).toEqual({
      name: 'anonymous',
      kind: 'function_key',
    });
    const byQuery = await call(`${GENERATE}?code=${FUNCTION_KEY}`, { prompt: 'x', model: 'mini', quality: 'low' });
    expect(byQuery.status).toBe(200);
    // An api-key that is not a caller key (the README's old `apiKey: 'unused'`) is not ours to judge.
    expect(
      (
        await call(
          GENERATE,
          { prompt: 'x', model: 'mini', quality: 'low' },
          { 'x-functions-key': FUNCTION_KEY, 'api-key': 'unused' },
        )
      ).status,
    ).toBe(200);
  });
});

describe('people signed in with Entra ID', () => {
  it('a valid access token spends as its principal: the record and the ledger name its object id', async () => {
    const oid = crypto.randomUUID();
    const token = identity.signIn({ aud: CLIENT_ID, oid, preferred_username: 'alice@contoso.com' });
    const made = await call(GENERATE, { prompt: 'Signed in', quality: 'low' }, { authorization: `Bearer ${token}` });
    expect(made.status).toBe(200);
    expect((await readRecord(made.json.data[0].storage.blob)).caller).toEqual({
      name: `entra:${oid}`,
      kind: 'principal',
    });
    const usage = await stack.get(`/api/usage?caller=${encodeURIComponent(`entra:${oid}`)}`);
    expect(usage.json.data).toEqual([expect.objectContaining({ images: 1 })]);
  });

  it('a token for another app, an expired one, or a forged x-ms-client-principal: 401 in Azure’s shape, before any work', async () => {
    const before = stack.emulator.stats.requests;
    const forged = Buffer.from(
      JSON.stringify({ auth_typ: 'aad', claims: [{ typ: 'name', val: 'admin@contoso.com' }] }),
    ).toString('base64');
    const attempts: [Record<string, string>, RegExp][] = [
      [
        { authorization: `Bearer ${identity.signIn({ aud: 'api://another-app' })}` },
        /^The bearer token is not valid: .*"aud"/,
      ],
      [
        {
          authorization: `Bearer ${identity.signIn({ aud: CLIENT_ID }, { now: Math.floor(Date.now() / 1000) - 7200 })}`,
        },
        /^The bearer token is not valid: .*"exp"/,
      ],
      [{ 'x-ms-client-principal': forged }, /^Access denied/],
    ];
    for (const [headers, message] of attempts) {
      const refused = await call(GENERATE, { prompt: 'x' }, headers);
      expect(refused.status, JSON.stringify(headers)).toBe(401);
      expect(refused.json.error).toMatchObject({ code: 'Unauthorized', message: expect.stringMatching(message) });
    }
    expect(stack.emulator.stats.requests).toBe(before);
  });
});

describe('the estimate', () => {
  it('answers the cost and the served model and parameters, without calling the service', async () => {
    const { key } = await newKey({ name: 'estimator' });
    const before = stack.emulator.stats.requests;
    const answer = await call(
      '/api/images/estimate',
      { prompt: 'A red kite', model: 'dall-e-3', quality: 'hd', size: '1792x1024' },
      { 'api-key': key },
    );
    expect(answer.status).toBe(200);
    // 10 prompt bytes at $5 and 5,063 output tokens (the contract's 1792x1024 high for gpt-image-2; it
    // was 12,292 by pixel area, which the contract of 2026-12-02 says is wrong) at $30 per 1M.
    expect(answer.json).toEqual({
      caller: 'estimator',
      requested_model: 'dall-e-3',
      served: { model: 'gpt-image-2', deployment: 'gpt-image-2', params: { n: 1, size: '1792x1024', quality: 'high' } },
      estimate: {
        usd: (10 * 5 + 5063 * 30) / 1e6,
        basis: 'table',
        table_version: '2026-12-02',
        images: 1,
        size: '1792x1024',
        quality: 'high',
        output_tokens_per_image: 5063,
        prompt_tokens_at_most: 10,
      },
    });
    const invalid = await call('/api/images/estimate', { prompt: 'x', model: 'dall-e-3', n: 2 }, { 'api-key': key });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.param).toBe('n');
    expect(stack.emulator.stats.requests).toBe(before);
  });
});

describe('usage', () => {
  it('answers totals per caller, model and day, as JSON or CSV, matching what the records say', async () => {
    const { key, name } = await newKey({ name: uniqueName('usage') });
    const costs: number[] = [];
    for (const body of [
      { prompt: 'one', model: 'mini', quality: 'low' },
      { prompt: 'two', model: 'mini', quality: 'medium', n: 2 },
      { prompt: 'three', quality: 'low' },
    ]) {
      const made = await call(GENERATE, body, { 'api-key': key });
      for (const image of made.json.data) costs.push((await readRecord(image.storage.blob)).cost.usd);
    }
    const today = new Date().toISOString().slice(0, 10);
    const usage = await stack.get(`/api/usage?caller=${name}&groupBy=caller,model`);
    expect(usage.status).toBe(200);
    expect(usage.json).toMatchObject({ from: today, to: today, caller: name, group_by: ['caller', 'model'] });
    const rows = usage.json.data;
    expect(rows.map((r: any) => [r.model, r.requests, r.images])).toEqual([
      ['gpt-image-1-mini', 2, 3],
      ['gpt-image-2', 1, 1],
    ]);
    expect(rows.reduce((sum: number, r: any) => sum + r.usd, 0)).toBeCloseTo(
      costs.reduce((a, b) => a + b, 0),
      9,
    );

    const csv = await fetch(`${stack.host.url}/api/usage?caller=${name}&groupBy=model`, {
      headers: { 'x-functions-key': FUNCTION_KEY, accept: 'text/csv' },
    });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await csv.text()).split('\r\n')).toEqual([
      'model,requests,images,usd,unpriced_images',
      `gpt-image-1-mini,2,3,${rows[0].usd},0`,
      `gpt-image-2,1,1,${rows[1].usd},0`,
      '',
    ]);

    const bad = await stack.get('/api/usage?groupBy=colour');
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe('groupBy');
    expect((await fetch(`${stack.host.url}/api/usage`, { headers: { 'api-key': key } })).status).toBe(401);
  });
});

describe('secrets', () => {
  it('no caller key is stored or logged in clear: not in a table, a blob, a log line, or another answer', async () => {
    expect(issued.length).toBeGreaterThan(5);
    const connection = inject('azurite').connectionString;
    const texts: string[] = [stack.host.output(), second.output()];
    for (const table of [stack.settings.CALLER_KEYS_TABLE, stack.settings.USAGE_TABLE]) {
      const client = TableClient.fromConnectionString(connection, table, { allowInsecureConnection: true });
      for await (const entity of client.listEntities()) texts.push(JSON.stringify(entity));
    }
    for (const container of [stack.container, stack.settings.JOBS_CONTAINER]) {
      for (const name of await stack.blobNames(container))
        texts.push((await stack.readBlob(name, container)).toString('latin1'));
    }
    // Every answer but the ones that issued the keys.
    texts.push(...stack.answers.filter((a) => !issued.some((key) => a.includes(`"key":"${key}"`))));
    expect(texts.join('\n').length).toBeGreaterThan(10_000);
    for (const key of issued) {
      for (const text of texts) expect(text.includes(key.slice(4)), 'a caller key in clear').toBe(false);
    }
  });
});
