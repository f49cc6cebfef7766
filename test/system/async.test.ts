import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QueueSASPermissions, QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { sha256 } from '../../src/lib/core/json.js';
import { MAX_DEQUEUE_COUNT, QUEUES } from '../../src/lib/jobs/queues.js';
import SwaggerParser from '@apidevtools/swagger-parser';
import { startStack, uniqueName, type Stack } from '../support/stack.js';
import { quietFor, until } from '../support/until.js';

// Logic Apps' asynchronous request-reply, the event-driven queues and Idempotency-Key, through the
// local host's HTTP and queue triggers. The queues have fixed names, so this file has its own Azurite.

let azurite: Azurite;
let stack: Stack;
let queues: Record<'requests' | 'results' | 'poison', QueueClient>;

beforeAll(async () => {
  azurite = await startAzurite({ silent: true });
  stack = await startStack({ LOCAL_FUNCTION_KEY: FUNCTION_KEY }, { connectionString: azurite.connectionString });
  const service = QueueServiceClient.fromConnectionString(azurite.connectionString);
  queues = {
    requests: service.getQueueClient(QUEUES.requests),
    results: service.getQueueClient(QUEUES.results),
    poison: service.getQueueClient(QUEUES.poison),
  };
  for (const queue of Object.values(queues)) await queue.createIfNotExists();
});
afterAll(async () => {
  await stack?.stop();
  await azurite?.stop();
});

/**
 * Sends `text` as the SDK would, with every character outside ASCII as an XML character reference.
 * Azurite 3.37 decodes each chunk of a request body on its own (queue/generated/utils/serializer.js,
 * readRequestIntoText: Buffers joined as strings), so a character whose bytes arrive split across
 * two reads becomes U+FFFD: a 64 KiB body always arrives in two or more reads, and under load where
 * it splits varies. An ASCII body cannot be split inside a character; the queue holds exactly `text`.
 */
async function sendWhole(queue: QueueClient, text: string): Promise<void> {
  const sas = new URL(
    queue.generateSasUrl({ permissions: QueueSASPermissions.parse('a'), expiresOn: new Date(Date.now() + 3_600_000) }),
  );
  sas.pathname += '/messages';
  const escaped = text
    .replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/[\u0080-\u{10ffff}]/gu, (c) => `&#${c.codePointAt(0)};`);
  const sent = await fetch(sas, {
    method: 'POST',
    headers: { 'content-type': 'application/xml', 'x-ms-version': '2025-11-05' },
    body: `<?xml version="1.0" encoding="UTF-8"?><QueueMessage><MessageText>${escaped}</MessageText></QueueMessage>`,
  });
  expect(sent.status).toBe(201);
}

const GENERATE = '/api/images/generations';
const FUNCTION_KEY = uniqueName('function-key');
const ASYNC = { prefer: 'respond-async' };

/** Every result read from image-results so far, by job id. */
const seen = new Map<string, any[]>();

async function readResults(): Promise<void> {
  const { receivedMessageItems } = await queues.results.receiveMessages({ numberOfMessages: 32 });
  for (const m of receivedMessageItems) {
    const result = JSON.parse(m.messageText);
    seen.set(result.id, [...(seen.get(result.id) ?? []), result]);
    await queues.results.deleteMessage(m.messageId, m.popReceipt);
  }
}

/** Waits for the first result for `id` on image-results. */
const resultFor = (id: string): Promise<any> =>
  until(async () => {
    await readResults();
    return seen.get(id)?.[0];
  });

async function poisonFor(id: string): Promise<any> {
  return until(async () => {
    const { peekedMessageItems } = await queues.poison.peekMessages({ numberOfMessages: 32 });
    return peekedMessageItems.map((m) => JSON.parse(m.messageText)).find((p) => p.id === id);
  });
}

describe('Prefer: respond-async', () => {
  it('answers 202 at once, then the job runs and its Location answers the synchronous body', async () => {
    stack.emulator.configure({ latencyMs: 800 });
    try {
      const accepted = await stack.post(GENERATE, { prompt: 'A slow sunrise', size: '1024x1792' }, ASYNC);
      expect(accepted.status).toBe(202);
      expect(accepted.json).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'notStarted' });
      const location = accepted.headers.get('location')!;
      expect(new URL(location).pathname).toBe(`/api/images/jobs/${accepted.json.id}/status`);
      expect(new URL(location).searchParams.get('token')).toMatch(/^[\w-]{43}$/);
      expect(Number(accepted.headers.get('retry-after'))).toBeGreaterThan(0);

      // While it runs, polling answers 202 with where to poll next: Logic Apps keeps polling. The
      // Location needs no function key (Power Automate polls without it): plain fetch.
      const polling = await fetch(location);
      expect(polling.status).toBe(202);
      expect(['notStarted', 'running']).toContain(((await polling.json()) as { status: string }).status);
      expect(polling.headers.get('location')).toBe(location);

      // The poll ends with exactly what the synchronous call answers: the action's output is the images.
      const done = await until(async () => {
        const answer = await fetch(location);
        return answer.status === 200 ? { json: await answer.json(), headers: answer.headers } : undefined;
      });
      expect(done.json).toMatchObject({
        created: expect.any(Number),
        size: '1024x1792',
        data: [expect.objectContaining({ url: expect.any(String) })],
      });
      expect(done.json.id).toBeUndefined();
      expect(done.headers.get('x-served-model')).toBe('gpt-image-2');
      const image = done.json.data[0];
      expect(image.content_filter_results).toBeDefined();
      expect(image.b64_json).toBeUndefined();
      expect((await fetch(image.url)).status).toBe(200);
      const record = JSON.parse((await stack.readBlob(image.storage.record)).toString());
      expect(record).toMatchObject({
        prompt: 'A slow sunrise',
        requested: { size: '1024x1792' },
        job_id: accepted.json.id,
      });
      // The function-key route is the job's view: always 200, with its status and result.
      const view = await stack.get(`/api/images/jobs/${accepted.json.id}`);
      expect(view.status).toBe(200);
      expect(view.headers.get('location')).toBeNull();
      expect(view.json).toMatchObject({
        id: accepted.json.id,
        status: 'succeeded',
        result: { data: [expect.objectContaining({ url: expect.any(String) })] },
      });
    } finally {
      stack.emulator.configure({ latencyMs: 0 });
    }
  });

  it('refuses an invalid body at once, queueing nothing', async () => {
    const before = (await queues.requests.getProperties()).approximateMessagesCount;
    const refused = await stack.post(GENERATE, { prompt: 'x', n: 11 }, ASYNC);
    expect(refused.status).toBe(400);
    expect(refused.json.error.param).toBe('n');
    expect((await queues.requests.getProperties()).approximateMessagesCount).toBe(before);
  });

  it('a job the content filter rejects ends its poll with the 400 the call would have answered', async () => {
    const accepted = await stack.post(GENERATE, { prompt: 'forbidden-example' }, ASYNC);
    const done = await until(async () => {
      const answer = await stack.get(accepted.headers.get('location')!);
      return answer.status === 202 ? undefined : answer;
    });
    expect(done.status).toBe(400);
    expect(done.json.error).toMatchObject({
      code: 'content_policy_violation',
      inner_error: { code: 'ResponsibleAIPolicyViolation' },
    });
    expect((await stack.get(`/api/images/jobs/${accepted.json.id}`)).json).toMatchObject({
      status: 'failed',
      error: { code: 'content_policy_violation' },
    });
  });

  it("a job's Location is a valet key for that job alone; the function-key route reads any job", async () => {
    const accepted = await stack.post(GENERATE, { prompt: 'A valet key' }, ASYNC);
    const location = new URL(accepted.headers.get('location')!);
    const id = accepted.json.id as string;
    const token = location.searchParams.get('token')!;
    const statusUrl = (query: string) => `${location.origin}${location.pathname}${query}`;
    expect((await fetch(statusUrl(''))).status).toBe(401);
    const other = await stack.post(GENERATE, { prompt: 'Another job' }, ASYNC);
    const otherToken = new URL(other.headers.get('location')!).searchParams.get('token')!;
    expect((await fetch(statusUrl(`?token=${otherToken}`))).status).toBe(404);
    expect((await fetch(statusUrl(`?token=${token.slice(0, -1)}`))).status).toBe(404);
    expect([200, 202]).toContain((await fetch(statusUrl(`?token=${token}`))).status);

    // The route without a token wants the function key, as every route does but these two and
    // those the app authenticates itself (generation and estimate).
    expect((await fetch(`${stack.host.url}/api/images/jobs/${id}`)).status).toBe(401);
    expect([200, 202]).toContain((await stack.get(`/api/images/jobs/${id}`)).status);
    expect((await fetch(`${stack.host.url}/api/health`)).status).toBe(200);
    expect((await fetch(`${stack.host.url}${GENERATE}`, { method: 'POST', body: '{}' })).status).toBe(401);

    // Only the token's hash is kept. Read after the job's last write (`notified`, once it has ended):
    // Azurite may serve a blob being rewritten half-written.
    const jobsContainer = stack.settings.JOBS_CONTAINER;
    const state = await until(async () => {
      const text = (await stack.readBlob(`jobs/${id}.json`, jobsContainer)).toString();
      try {
        return (JSON.parse(text) as { notified?: boolean }).notified === true ? text : undefined;
      } catch {
        return undefined;
      }
    });
    expect(state).not.toContain(token);
    expect(JSON.parse(state).poll_token_sha256).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
  });

  it('accepts every valid body, however large: the queue message carries the job id, not the body', async () => {
    // 32,000 CJK characters: valid, and 96,000 bytes of UTF-8, past a queue message's 64 KiB.
    const prompt = '山'.repeat(32_000);
    const accepted = await stack.post(GENERATE, { prompt, quality: 'low' }, ASYNC);
    expect(accepted.status).toBe(202);
    const done = await until(async () => {
      const answer = await fetch(accepted.headers.get('location')!);
      return answer.status === 200 ? await answer.json() : undefined;
    });
    const record = JSON.parse((await stack.readBlob(done.data[0].storage.record)).toString());
    expect(record.prompt).toBe(prompt);
  });

  it('a job spends as the caller who asked for it, and keeps no key', async () => {
    const { key, name } = (await stack.post('/api/keys', { name: uniqueName('async-caller') })).json;
    const accepted = await stack.post(
      GENERATE,
      { prompt: 'A caller of my own', quality: 'low' },
      { ...ASYNC, 'api-key': key },
    );
    expect(accepted.status).toBe(202);
    const done = await until(async () => {
      const answer = await fetch(accepted.headers.get('location')!);
      return answer.status === 200 ? await answer.json() : undefined;
    });
    const record = JSON.parse((await stack.readBlob(done.data[0].storage.record)).toString());
    expect(record.caller).toEqual({ name, kind: 'key' });
    const state = (await stack.readBlob(`jobs/${accepted.json.id}.json`, stack.settings.JOBS_CONTAINER)).toString();
    expect(JSON.parse(state).caller).toEqual({ name, kind: 'key' });
    expect(state).not.toContain(key.slice(4));
  });

  it("a job over its caller's budget fails with 429 and Retry-After, parked with that reason, and nothing is generated", async () => {
    const { key } = (await stack.post('/api/keys', { name: uniqueName('broke'), daily_budget_usd: 0 })).json;
    const before = stack.emulator.stats.generations;
    const accepted = await stack.post(
      GENERATE,
      { prompt: 'Over budget', quality: 'low' },
      { ...ASYNC, 'api-key': key },
    );
    expect(accepted.status).toBe(202);
    const done = await until(async () => {
      const answer = await fetch(accepted.headers.get('location')!);
      return answer.status === 202 ? undefined : answer;
    });
    expect(done.status).toBe(429);
    expect(Number(done.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await done.json()).error.code).toBe('budget_exceeded');
    const poisoned = await poisonFor(accepted.json.id);
    expect(poisoned.reason.code).toBe('budget_exceeded');
    expect(poisoned.dequeueCount).toBe(1);
    expect(stack.emulator.stats.generations).toBe(before);
  });

  it('an unknown job is 404', async () => {
    expect((await stack.get('/api/images/jobs/no-such-job')).status).toBe(404);
    expect((await stack.get('/api/images/jobs/..%2F..%2Fsecrets')).status).toBe(404);
  });
});

describe('the image-requests queue', () => {
  it('turns a message into images and a result message', async () => {
    const id = uniqueName('job');
    await queues.requests.sendMessage(
      JSON.stringify({ id, prompt: 'A queue of ducks', model: 'mini', n: 2, quality: 'low' }),
    );
    const result = await resultFor(id);
    expect(result.status).toBe('succeeded');
    expect(result.data).toHaveLength(2);
    for (const image of result.data) {
      expect(image.b64_json).toBeUndefined(); // queue messages carry URLs, not bytes
      expect((await fetch(image.url)).status).toBe(200);
    }
    const job = await stack.get(`/api/images/jobs/${id}`);
    expect(job.json).toMatchObject({ id, status: 'succeeded' });
    // A message names nobody: it spends as `queue`, whoever may write to image-requests.
    const record = JSON.parse((await stack.readBlob(result.data[0].storage.record)).toString());
    expect(record.caller).toEqual({ name: 'queue', kind: 'queue' });
  });

  /** The name of a delivery whose body hid the message's own id (the trigger lays a body's `id` over it). */
  const hidden = (text: string) => `msg-sha256-${sha256(text).slice(0, 32)}`;
  const LONG_ID = 'x'.repeat(5000);

  it.each([
    ['not JSON', 'draw me a sheep', undefined, /neither JSON nor base64/],
    ['an invalid body', JSON.stringify({ id: 'bad-body', prompt: 'x', size: '64x64' }), 'bad-body', /'size'/],
    [
      'a content-filter rejection',
      JSON.stringify({ id: 'filtered-one', prompt: 'forbidden-example' }),
      'filtered-one',
      /safety system/,
    ],
    ['an invalid id', JSON.stringify({ id: '../../etc', prompt: 'x' }), hidden, /'id'/],
    ['an id with slashes', JSON.stringify({ id: 'a/b/c', prompt: 'x' }), hidden, /'id'/],
    ['a very long id', JSON.stringify({ id: LONG_ID, prompt: 'x' }), hidden, /'id'/],
    ['an id that is not a string', JSON.stringify({ id: { $ne: null }, prompt: 'x' }), hidden, /'id'/],
    [
      'an ID in other case',
      JSON.stringify({ ID: '../../etc', prompt: 'x' }),
      hidden,
      /'ID' is the name of the queue trigger's own metadata/,
    ],
    [
      'a dequeueCount of its own',
      JSON.stringify({ id: 'counts-itself', prompt: 'x', dequeueCount: 1 }),
      'counts-itself',
      /'dequeueCount' is the name/,
    ],
    [
      'a refused result_queue, under its own id',
      JSON.stringify({ id: 'bad-reply', prompt: 'x', result_queue: 'Not_A_Queue!' }),
      'bad-reply',
      /'result_queue'/,
    ],
  ])('%s fails once, for good, onto the poison queue with its reason', async (_name, text, givenId, reason) => {
    const generationsBefore = stack.emulator.stats.generations;
    const sent = await queues.requests.sendMessage(text);
    const id = typeof givenId === 'function' ? givenId(text) : (givenId ?? `msg-${sent.messageId}`);
    const result = await resultFor(id);
    expect(result.status).toBe('failed');
    expect(result.error.message).toMatch(reason);
    const poisoned = await poisonFor(id);
    expect(poisoned.reason.message).toMatch(reason);
    expect(poisoned.dequeueCount).toBe(1);
    expect(stack.emulator.stats.generations).toBe(generationsBefore);
  });

  it('a message without an id is its own job, named after its queue message', async () => {
    const sent = await queues.requests.sendMessage(JSON.stringify({ prompt: 'Nameless', quality: 'low' }));
    const result = await resultFor(`msg-${sent.messageId}`);
    expect(result.status).toBe('succeeded');
  });

  it('a large message with a hostile id is kept in a blob named after the message, never after the id', async () => {
    const text = JSON.stringify({ id: '../../../etc/passwd', prompt: 'x'.repeat(65_300) });
    const id = hidden(text);
    await queues.requests.sendMessage(text);
    expect((await resultFor(id)).status).toBe('failed');
    const poisoned = await poisonFor(id);
    expect(poisoned.message.blob).toBe(`poison/${id}-${id.slice('msg-'.length)}.json`);
    expect((await stack.readBlob(poisoned.message.blob, stack.settings.JOBS_CONTAINER)).toString()).toBe(text);
  });

  it('a failing message close to 64 KiB is still parked: the poison entry names a blob that keeps it', async () => {
    const id = uniqueName('big');
    const text = JSON.stringify({ id, prompt: '山'.repeat(21_784), size: '64x64' });
    expect(Buffer.byteLength(text)).toBeGreaterThan(65_000);
    expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024);
    await sendWhole(queues.requests, text);
    expect((await resultFor(id)).status).toBe('failed');
    const poisoned = await poisonFor(id);
    expect(poisoned.reason.param).toBe('size');
    expect(poisoned.message).toEqual({ blob: expect.stringMatching(/^poison\//), bytes: Buffer.byteLength(text) });
    expect((await stack.readBlob(poisoned.message.blob, stack.settings.JOBS_CONTAINER)).toString()).toBe(text);
    await quietFor(500, 'no second result for the parked message');
    await readResults();
    expect(seen.get(id)).toHaveLength(1);
  });

  it('a 429 puts the message back for Retry-After instead of failing it', async () => {
    stack.emulator.configure({ requestsPerMinute: 1 });
    try {
      const ids = [uniqueName('quota'), uniqueName('quota')];
      for (const id of ids) await queues.requests.sendMessage(JSON.stringify({ id, prompt: `quota ${id}` }));
      await until(async () => {
        await readResults();
        return ids.some((id) => seen.has(id)) && stack.emulator.stats.rateLimited > 0 ? true : undefined;
      });
      await quietFor(1_000, 'the throttled job is neither failed nor poisoned once its 429 is handled');
      await readResults();
      // One got through; the other waits on the queue for the window (up to a minute): neither failed nor poisoned.
      expect(ids.filter((id) => seen.has(id)).map((id) => seen.get(id)![0].status)).toEqual(['succeeded']);
      const waiting = ids.find((id) => !seen.has(id))!;
      const job = await stack.get(`/api/images/jobs/${waiting}`);
      expect(job.json.status).toBe('notStarted');
      const { peekedMessageItems: poisoned } = await queues.poison.peekMessages({ numberOfMessages: 32 });
      expect(poisoned.filter((m) => m.messageText.includes(waiting))).toHaveLength(0);
      const visibleNow = await queues.requests.peekMessages();
      expect(visibleNow.peekedMessageItems.filter((m) => m.messageText.includes(waiting))).toHaveLength(0);
    } finally {
      stack.emulator.configure({ requestsPerMinute: undefined });
    }
  });

  it('a message delivered again after its job succeeded neither generates nor announces twice', async () => {
    const id = uniqueName('again');
    const message = JSON.stringify({ id, prompt: 'Only once' });
    await queues.requests.sendMessage(message);
    expect((await resultFor(id)).status).toBe('succeeded');
    const generations = stack.emulator.stats.generations;
    await queues.requests.sendMessage(message);
    // Taken by the trigger (no longer visible), then given time to be handled.
    await until(async () =>
      (await queues.requests.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.some((m) =>
        m.messageText.includes(id),
      )
        ? undefined
        : true,
    );
    await quietFor(1_000, 'no second generation or announcement for the redelivered message');
    await readResults();
    expect(seen.get(id)).toHaveLength(1);
    expect(stack.emulator.stats.generations).toBe(generations);
  });
});

describe('Idempotency-Key', () => {
  it('a repeat returns the first answer without a second generation', async () => {
    const key = uniqueName('key');
    const first = await stack.post(GENERATE, { prompt: 'Once only', user: 'u1' }, { 'idempotency-key': key });
    const generations = stack.emulator.stats.generations;
    // The same body in another key order is the same request.
    const again = await stack.post(GENERATE, { user: 'u1', prompt: 'Once only' }, { 'idempotency-key': key });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.data[0].storage.blob).toBe(first.json.data[0].storage.blob);
    expect((await fetch(again.json.data[0].url)).status).toBe(200);
    expect(stack.emulator.stats.generations).toBe(generations);
  });

  it('the same key with another body is 422; another key generates again', async () => {
    const key = uniqueName('key');
    expect((await stack.post(GENERATE, { prompt: 'A' }, { 'idempotency-key': key })).status).toBe(200);
    const reused = await stack.post(GENERATE, { prompt: 'B' }, { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(reused.json.error).toMatchObject({ code: 'IdempotencyKeyReused', param: 'Idempotency-Key' });
    const generations = stack.emulator.stats.generations;
    expect((await stack.post(GENERATE, { prompt: 'A' }, { 'idempotency-key': uniqueName('key') })).status).toBe(200);
    expect(stack.emulator.stats.generations).toBe(generations + 1);
  });

  it('a failed first request frees the key', async () => {
    const key = uniqueName('key');
    expect((await stack.post(GENERATE, { prompt: 'forbidden-example' }, { 'idempotency-key': key })).status).toBe(400);
    stack.emulator.configure({ failureRate: 1 });
    try {
      expect((await stack.post(GENERATE, { prompt: 'C' }, { 'idempotency-key': key })).status).toBe(502);
    } finally {
      stack.emulator.configure({ failureRate: 0 });
    }
    expect((await stack.post(GENERATE, { prompt: 'C' }, { 'idempotency-key': key })).status).toBe(200);
  });

  it('an asynchronous request repeated gets the same job, and a poll token of its own; no token is stored in clear', async () => {
    const key = uniqueName('key');
    const first = await stack.post(GENERATE, { prompt: 'Async once' }, { ...ASYNC, 'idempotency-key': key });
    const again = await stack.post(GENERATE, { prompt: 'Async once' }, { ...ASYNC, 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.id).toBe(first.json.id);
    const tokens = [first, again].map((a) => new URL(a.headers.get('location')!).searchParams.get('token')!);
    expect(tokens[1]).not.toBe(tokens[0]);
    for (const answer of [first, again])
      expect([200, 202]).toContain((await fetch(answer.headers.get('location')!)).status);
    // Neither token is in any blob of the jobs container: the job and the idempotency entry keep hashes or nothing.
    const jobsContainer = stack.settings.JOBS_CONTAINER;
    for (const name of await stack.blobNames(jobsContainer)) {
      const text = (await stack.readBlob(name, jobsContainer)).toString();
      for (const token of tokens) expect(text).not.toContain(token);
    }
  });

  it('a key longer than 255 characters is 400 naming it', async () => {
    const answer = await stack.post(GENERATE, { prompt: 'x' }, { 'idempotency-key': 'k'.repeat(256) });
    expect(answer.status).toBe(400);
    expect(answer.json.error.param).toBe('Idempotency-Key');
  });
});

describe('the API description and host settings', () => {
  it('serves a valid OpenAPI document that describes every route the host serves', async () => {
    const { status, json } = await stack.get('/api/openapi.json');
    expect(status).toBe(200);
    await SwaggerParser.validate(structuredClone(json));
    // The routes as the host registered them, from its start-up log.
    const served = [...stack.host.output().matchAll(/: \[([A-Z,]+)\] http:\/\/[^/]+\/api\/(\S+)/g)].flatMap(
      ([, methods, route]) =>
        // A catch-all {*blob} is a {blob} path parameter to OpenAPI.
        methods.split(',').map((method) => `${method} /${route.replace('{*', '{')}`),
    );
    expect(served.length).toBeGreaterThan(5);
    const described = Object.entries(json.paths as Record<string, object>).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(described.sort()).toEqual(served.filter((route) => route !== 'GET /openapi.json').sort());
  });

  it('host.json agrees with the worker on attempts and message encoding', () => {
    const hostJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'host.json'), 'utf8'));
    expect(hostJson.extensions.queues.maxDequeueCount).toBe(MAX_DEQUEUE_COUNT);
    expect(hostJson.extensions.queues.messageEncoding).toBe('none');
    expect(hostJson.extensionBundle.version).toBe('[4.*, 5.0.0)');
  });
});
