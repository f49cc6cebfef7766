import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../../dev/fakes/azurite.js';
import { listen } from '../../dev/processes.js';
import { sha256 } from '../../src/lib/core/json.js';
import { JobStore } from '../../src/lib/jobs/jobStore.js';
import { QUEUES } from '../../src/lib/jobs/queues.js';
import { nameForms, rawRequest, refusedNames } from '../support/paths.js';
import { startStack, uniqueName, WEBHOOK_KEY, type Stack } from '../support/stack.js';
import { quietFor, until as waitFor } from '../support/until.js';

// What Power Automate, Logic Apps and pipelines do with the app, as they do it: polls that end with
// the answer, webhooks, images that last, reply queues, base64 messages.

let azurite: Azurite;
let stack: Stack;
let queues: QueueServiceClient;
const GENERATE = '/api/images/generations';
const ASYNC = { prefer: 'respond-async' };

beforeAll(async () => {
  azurite = await startAzurite({ silent: true });
  stack = await startStack(
    { WEBHOOK_RETRY_BASE_SECONDS: '1', WEBHOOK_RETRY_WINDOW_SECONDS: '8' },
    { connectionString: azurite.connectionString },
  );
  queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
});
afterAll(async () => {
  await stack?.stop();
  await azurite?.stop();
});

/** Webhook deliveries and flows take longer than a poll. */
const until = <T>(probe: () => Promise<T | undefined>, timeout = 20_000) => waitFor(probe, timeout);

/** Polls a Location as Logic Apps does: until an answer is not 202. */
async function pollToEnd(location: string) {
  return until(async () => {
    const answer = await stack.get(location);
    return answer.status === 202 ? undefined : answer;
  });
}

describe('a poll ends as the synchronous call would have', () => {
  it('200 with exactly the images answer; the job view stays 200 with the status', async () => {
    const accepted = await stack.post(GENERATE, { prompt: 'A heron', quality: 'low', n: 2 }, ASYNC);
    const done = await pollToEnd(accepted.headers.get('location')!);
    expect(done.status).toBe(200);
    expect(Object.keys(done.json).sort()).toEqual([
      'background',
      'created',
      'data',
      'output_format',
      'quality',
      'size',
      'usage',
    ]);
    expect(done.json.data).toHaveLength(2);
    for (const image of done.json.data) expect((await fetch(image.url)).status).toBe(200);
    const view = await stack.get(`/api/images/jobs/${accepted.json.id}`);
    expect(view.json).toMatchObject({ id: accepted.json.id, status: 'succeeded' });
  });

  it('400, 429, 502, 504: the failed job’s own status and Azure’s error body', async () => {
    // A refused prompt, for real.
    const refused = await stack.post(GENERATE, { prompt: 'a forbidden-example poster' }, ASYNC);
    const filtered = await pollToEnd(refused.headers.get('location')!);
    expect(filtered.status).toBe(400);
    expect(filtered.json.error.code).toBe('content_policy_violation');
    // Jobs that ended failed in the other ways, written as the worker writes a last attempt's failure
    // (and no message queued, so no worker touches them).
    const store = new JobStore(
      BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
        stack.settings.JOBS_CONTAINER,
      ),
    );
    for (const [status, code, retryAfter] of [
      [429, 'budget_exceeded', 3600],
      [502, 'UpstreamError', undefined],
      [504, 'UpstreamTimeout', undefined],
    ] as const) {
      const id = uniqueName('ended');
      const token = uniqueName('token');
      const created = (await store.create(id, { request: { prompt: 'x' }, poll_token_sha256: [sha256(token)] }))!;
      const message = `It ended with ${status}.`;
      await store.put(
        {
          ...created.state,
          status: 'failed',
          error: { code, message },
          error_status: status,
          ...(retryAfter && { error_retry_after_seconds: retryAfter }),
        },
        created.etag,
      );
      const ended = await stack.get(`/api/images/jobs/${id}/status?token=${token}`);
      expect(ended.status).toBe(status);
      expect(ended.json).toEqual({ error: { code, message } });
      expect(ended.headers.get('retry-after')).toBe(retryAfter === undefined ? null : String(retryAfter));
    }
  });
});

describe('webhooks', () => {
  interface Received {
    path?: string;
    headers: IncomingMessage['headers'];
    body: string;
  }
  let receiver: Server;
  let url: string;
  const received: Received[] = [];
  /** How the receiver answers each delivery, in turn; 200 once they are used up. */
  let answers: number[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ path: req.url, headers: req.headers, body });
        res.writeHead(answers.shift() ?? 200).end();
      });
    });
    url = `http://127.0.0.1:${await listen(receiver)}/hook`;
  });
  afterAll(() => {
    receiver.close();
  });

  const verify = ({ headers, body }: Received) => {
    const key = Buffer.from(WEBHOOK_KEY.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key)
      .update(`${String(headers['webhook-id'])}.${String(headers['webhook-timestamp'])}.${body}`)
      .digest('base64');
    return headers['webhook-signature'] === `v1,${expected}`;
  };
  const deliveriesOf = (id: string) => received.filter((r) => r.body.includes(id));

  it("Logic Apps' HTTP Webhook: subscribe with a request, get the end signed, once; the subscription ends with it", async () => {
    const callback = `${url}/one?sig=a-logic-apps-signature`;
    const subscribed = await stack.post(
      '/api/images/subscriptions',
      { request: { prompt: 'A call back', quality: 'low' } },
      { 'x-ms-notification-url': callback },
    );
    expect(subscribed.status).toBe(201);
    expect(subscribed.json).toMatchObject({
      id: expect.any(String),
      job_id: expect.any(String),
      callback: `${url}/one`,
    });
    expect(subscribed.text).not.toContain('a-logic-apps-signature');
    expect(new URL(subscribed.headers.get('location')!).pathname).toBe(
      `/api/images/subscriptions/${subscribed.json.id}`,
    );
    const delivery = await until(async () => received.find((r) => r.body.includes(subscribed.json.job_id)));
    expect(verify(delivery)).toBe(true);
    expect(verify({ ...delivery, body: delivery.body.replace('succeeded', 'failed') })).toBe(false);
    const event = JSON.parse(delivery.body);
    expect(event).toMatchObject({
      id: subscribed.json.job_id,
      status: 'succeeded',
      data: [expect.objectContaining({ url: expect.any(String) })],
    });
    expect(delivery.headers['webhook-id']).toBe(`${subscribed.json.id}.${subscribed.json.job_id}`);
    // The job spends as the function key that subscribed, as a synchronous call with it would.
    const { storage } = event.data[0];
    expect(JSON.parse((await stack.readBlob(storage.record, storage.container)).toString()).caller).toEqual({
      name: 'anonymous',
      kind: 'function_key',
    });
    await quietFor(1_500, 'no second delivery of the end');
    expect(deliveriesOf(subscribed.json.job_id)).toHaveLength(1);
    expect((await stack.get(`/api/images/subscriptions/${subscribed.json.id}`)).status).toBe(404);
  });

  it('a standing subscription hears every job that ends, retries a failing receiver, and stops when unsubscribed', async () => {
    const subscribed = await stack.post(
      '/api/images/subscriptions',
      { status: 'succeeded' },
      { 'x-ms-notification-url': `${url}/all` },
    );
    expect(subscribed.status).toBe(201);
    answers = [500, 503];
    const id = uniqueName('hook');
    await queues
      .getQueueClient(QUEUES.requests)
      .sendMessage(JSON.stringify({ id, prompt: 'Heard by a hook', quality: 'low' }));
    // Two failures, then delivered: the third attempt, a second and two after the first.
    await until(async () => (deliveriesOf(id).length === 3 ? true : undefined));
    expect(deliveriesOf(id).every(verify)).toBe(true);
    // Counted once the receiver's answer is in, a moment after the receiver saw it.
    const view = await until(async () => {
      const answer = await stack.get(`/api/images/subscriptions/${subscribed.json.id}`);
      return answer.json.delivered > 0 ? answer.json : undefined;
    });
    expect(view).toMatchObject({ delivered: 1, undeliverable: 0 });

    expect((await stack.delete(subscribed.headers.get('location')!)).status).toBe(200);
    const after = uniqueName('hook');
    await queues
      .getQueueClient(QUEUES.requests)
      .sendMessage(JSON.stringify({ id: after, prompt: 'Nobody listens', quality: 'low' }));
    await until(async () =>
      (await stack.get(`/api/images/jobs/${after}`)).json?.status === 'succeeded' ? true : undefined,
    );
    await quietFor(1_500, 'no delivery to the subscription that ended');
    expect(deliveriesOf(after)).toHaveLength(0);
  });

  it('a receiver that keeps failing is given up on after the retry window, and recorded as undeliverable', async () => {
    const subscribed = await stack.post('/api/images/subscriptions', {}, { 'x-ms-notification-url': `${url}/down` });
    answers = Array(20).fill(500);
    const id = uniqueName('lost');
    await queues
      .getQueueClient(QUEUES.requests)
      .sendMessage(JSON.stringify({ id, prompt: 'Never heard', quality: 'low' }));
    const view = await until(async () => {
      const answer = await stack.get(`/api/images/subscriptions/${subscribed.json.id}`);
      return answer.json.undeliverable > 0 ? answer.json : undefined;
    }, 30_000);
    expect(view).toMatchObject({
      delivered: 0,
      undeliverable: 1,
      last_error: expect.stringContaining(`${id}: the receiver answered 500`),
    });
    // Bounded: 1, 2, 4 s apart within an 8 s window, then no more.
    const attempts = deliveriesOf(id).length;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(4);
    answers = [];
    await stack.delete(`/api/images/subscriptions?callback_url=${encodeURIComponent(`${url}/down`)}`);
    expect((await stack.get(`/api/images/subscriptions/${subscribed.json.id}`)).status).toBe(404);
  });

  it('refuses a callback it may not call, naming it, before subscribing', async () => {
    for (const callback of [
      'ftp://example.com/x',
      'http://example.com/hook',
      'not a url',
      'https://user:pass@example.com/',
    ]) {
      const answer = await stack.post('/api/images/subscriptions', {}, { 'x-ms-notification-url': callback });
      expect(answer.status).toBe(400);
      expect(answer.json.error.param).toBe('x-ms-notification-url');
    }
    const none = await stack.post('/api/images/subscriptions', {});
    expect(none.json.error.param).toBe('x-ms-notification-url');
    const badRequest = await stack.post(
      '/api/images/subscriptions',
      { request: { prompt: 'x', n: 99 } },
      { 'x-ms-notification-url': `${url}/x` },
    );
    expect(badRequest.status).toBe(400);
  });

  it("the connector's trigger: the callback URL in the body property it marks x-ms-notification-url, refused by that name", async () => {
    // The body Power Automate sends for "When an image is ready": callback_url filled by the platform, no header.
    const subscribed = await stack.post('/api/images/subscriptions', {
      callback_url: `${url}/flow?sig=a-flow-signature`,
      status: 'succeeded',
    });
    expect(subscribed.status).toBe(201);
    expect(subscribed.json).toMatchObject({ callback: `${url}/flow`, status: 'succeeded' });
    const id = uniqueName('flow');
    await queues
      .getQueueClient(QUEUES.requests)
      .sendMessage(JSON.stringify({ id, prompt: 'Heard by a flow', quality: 'low' }));
    const delivery = await until(async () =>
      received.find((r) => r.body.includes(id) && r.path?.startsWith('/hook/flow?')),
    );
    expect(verify(delivery)).toBe(true);
    expect((await stack.delete(subscribed.headers.get('location')!)).status).toBe(200);

    const refused = await stack.post('/api/images/subscriptions', { callback_url: 'http://example.com/hook' });
    expect(refused.status).toBe(400);
    expect(refused.json.error.param).toBe('callback_url');
    // The header still wins, for Logic Apps: a body's URL is not what is subscribed then.
    const both = await stack.post(
      '/api/images/subscriptions',
      { callback_url: 'http://example.com/hook' },
      { 'x-ms-notification-url': `${url}/header` },
    );
    expect(both.status).toBe(201);
    expect(both.json.callback).toBe(`${url}/header`);
    expect((await stack.delete(both.headers.get('location')!)).status).toBe(200);
  });
});

describe('images that last', () => {
  it('the file itself, with its content type; a permanent link that redirects to a fresh URL', async () => {
    const made = await stack.post(GENERATE, { prompt: 'Kept for good', quality: 'low', output_format: 'jpeg' });
    const blob = made.json.data[0].storage.blob as string;
    const file = await fetch(`${stack.host.url}/api/images/files/${blob}`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(await stack.readBlob(blob));
    const link = await fetch(`${stack.host.url}/api/images/links/${blob}`, { redirect: 'manual' });
    expect(link.status).toBe(302);
    const target = new URL(link.headers.get('location')!);
    expect(target.searchParams.get('sp')).toBe('r');
    expect((await fetch(target)).status).toBe(200);
    for (const name of [
      `${blob}.json`,
      '2026/01/01/000000000-00000000-0000-0000-0000-000000000000-0.png',
      '../../secrets',
    ]) {
      expect((await fetch(`${stack.host.url}/api/images/files/${name}`)).status).toBe(404);
      expect((await fetch(`${stack.host.url}/api/images/links/${name}`, { redirect: 'manual' })).status).toBe(404);
    }
  });

  it('reach the image by its name sent raw or encoded (the host leaves %2F encoded), and refuse any other name', async () => {
    const made = await stack.post(GENERATE, { prompt: 'Named every way', quality: 'low' });
    const blob = made.json.data[0].storage.blob as string;
    const bytes = await stack.readBlob(blob);
    for (const [form, name] of Object.entries(nameForms(blob))) {
      const file = await fetch(`${stack.host.url}/api/images/files/${name}`);
      expect(file.status, form).toBe(200);
      expect(Buffer.from(await file.arrayBuffer()).equals(bytes), form).toBe(true);
      expect(file.headers.get('content-disposition'), form).toBe(`attachment; filename="${blob.split('/').pop()}"`);
      const link = await fetch(`${stack.host.url}/api/images/links/${name}`, { redirect: 'manual' });
      expect(link.status, form).toBe(302);
      expect(new URL(link.headers.get('location')!).pathname, form).toMatch(new RegExp(`/${stack.container}/${blob}$`));
    }
    for (const name of refusedNames(blob)) {
      for (const route of ['files', 'links']) {
        const answer = await rawRequest(stack.host.url, `/api/images/${route}/${name}`);
        expect([400, 404], `${route}/${name.slice(0, 80)}: ${answer.status} ${answer.text}`).toContain(answer.status);
      }
    }
  });
});

describe('what each deployment takes', () => {
  it('lists the deployments, and the body each takes with its sizes as choices', async () => {
    const list = await stack.get('/api/models');
    expect(list.json.data.map((d: any) => d.deployment).sort()).toEqual(['gpt-image-2', 'hq', 'mini']);
    const mini = { json: (await stack.get('/api/models/mini/schema')).json.schema };
    expect(mini.json.properties.size.enum).toEqual(['1024x1024', '1536x1024', '1024x1536', 'auto']);
    expect(mini.json.properties.n.maximum).toBe(10);
    expect(mini.json.properties.quality.enum).toContain('auto');
    expect(mini.json.properties).not.toHaveProperty('style');
    const g2 = { json: (await stack.get('/api/models/gpt-image-2/schema')).json.schema };
    expect(g2.json.properties.size.enum).toContain('3840x2160');
    expect(g2.json.properties.size.description).toMatch(/multiples of 16/);
    expect(g2.json.properties.quality.enum).toEqual(['low', 'medium', 'high']);
    expect((await stack.get('/api/models/nope/schema')).status).toBe(404);
  });
});

describe('pipelines get only their own results', () => {
  let results: QueueClient;
  beforeAll(async () => {
    results = queues.getQueueClient(QUEUES.results);
    await results.createIfNotExists();
  });
  const peekAll = async (queue: QueueClient) =>
    (await queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => m.messageText);

  it('a base64 message, as a Functions output binding writes it, is read like a plain one; its result goes to its reply queue', async () => {
    const reply = queues.getQueueClient(uniqueName('reply'));
    await reply.createIfNotExists();
    const id = uniqueName('b64');
    await queues
      .getQueueClient(QUEUES.requests)
      .sendMessage(
        Buffer.from(JSON.stringify({ id, prompt: 'Encoded', quality: 'low', result_queue: reply.name })).toString(
          'base64',
        ),
      );
    const result = await until(async () => (await peekAll(reply)).map((t) => JSON.parse(t)).find((r) => r.id === id));
    expect(result).toMatchObject({ id, status: 'succeeded' });
    expect((await peekAll(results)).some((t) => t.includes(id))).toBe(false);
  });

  it('HTTP jobs post no result to image-results unless asked, and then where asked', async () => {
    const quiet = await stack.post(GENERATE, { prompt: 'Quiet', quality: 'low' }, ASYNC);
    const asked = await stack.post(
      GENERATE,
      { prompt: 'Asked', quality: 'low' },
      { ...ASYNC, 'x-result-queue': 'my-results' },
    );
    await pollToEnd(quiet.headers.get('location')!);
    await pollToEnd(asked.headers.get('location')!);
    const mine = await until(async () =>
      (await peekAll(queues.getQueueClient('my-results'))).find((t) => t.includes(asked.json.id)),
    );
    expect(JSON.parse(mine).status).toBe('succeeded');
    expect((await peekAll(results)).some((t) => t.includes(quiet.json.id) || t.includes(asked.json.id))).toBe(false);
    const refused = await stack.post(GENERATE, { prompt: 'Loop' }, { ...ASYNC, 'x-result-queue': QUEUES.requests });
    expect(refused.status).toBe(400);
    expect(refused.json.error.param).toBe('x-result-queue');
  });

  it('a message neither JSON nor base64 JSON is poison, with its reason', async () => {
    const sent = await queues.getQueueClient(QUEUES.requests).sendMessage('%%% not a request %%%');
    const poisoned = await until(async () =>
      (await peekAll(queues.getQueueClient(QUEUES.poison)))
        .map((t) => JSON.parse(t))
        .find((p) => p.id === `msg-${sent.messageId}`),
    );
    expect(poisoned.reason.message).toMatch(/neither JSON nor base64/);
  });
});
