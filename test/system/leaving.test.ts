import { request as httpRequest, type ClientRequest } from 'node:http';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { utcDay } from '../../src/lib/cost/ledger.js';
import { startStack, uniqueName, type Stack } from '../support/stack.js';
import { quietFor, until } from '../support/until.js';

// A caller who leaves: the generation is paid for at the service, so it runs to the end, each image
// is kept with its record, and the hold settles to what it cost, once. Each case is a real client
// that closes its socket (node:http destroyed, fetch aborted) on a host of its own, counted at the
// emulator, in Azurite and in the ledger.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  // Slow enough that a caller can leave between the events, or before the answer.
  stack.emulator.configure({ latencyMs: 1500 });
});
afterAll(async () => {
  await stack?.stop();
});

const GENERATE = '/api/images/generations';
// A budget that holds every request here: the point is that each hold settles.
const BUDGET_USD = 1;

async function keyWithBudget(): Promise<{ key: string; name: string }> {
  const created = await stack.post('/api/keys', { name: uniqueName('leaver'), daily_budget_usd: BUDGET_USD });
  expect(created.status).toBe(201);
  return created.json;
}

/**
 * Sends a streamed request and destroys the socket when `leave` says so, given the text read so far
 * (`''` when the answer's headers arrive, before any event).
 */
function streamAndLeave(key: string, body: object, leave: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req: ClientRequest = httpRequest(
      `${stack.host.url}${GENERATE}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': key } },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`answered ${res.statusCode}`));
        const gone = () => {
          req.destroy();
          resolve(text);
        };
        if (leave(text)) return gone();
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (leave(text)) gone();
        });
        res.on('end', () => reject(new Error('the stream ended before the caller left')));
      },
    );
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
    req.end(JSON.stringify(body));
  });
}

/** Waits until what was made is all kept and counted, then answers what the ledger and budget row say. */
async function settled(name: string, images: number) {
  const usage = await until(async () => {
    const row = (await stack.get(`/api/usage?caller=${name}&groupBy=caller`)).json.data[0];
    return row?.images === images ? row : undefined;
  }, 60_000);
  const table = TableClient.fromConnectionString(inject('azurite').connectionString, stack.settings.USAGE_TABLE, {
    allowInsecureConnection: true,
  });
  const budget = await table.getEntity<{ spent: number; holds: string }>(utcDay(Date.now()), `budget|caller|${name}`);
  return { usage, budget: { spent: Number(budget.spent) / 1e9, holds: JSON.parse(budget.holds) } };
}

/** The images and records this caller's requests kept, and what the records say they cost. */
async function keptBy(name: string) {
  const names = await stack.blobNames();
  const records = await Promise.all(
    names
      .filter((n) => n.endsWith('.json'))
      .map(async (n) => ({ name: n, record: JSON.parse((await stack.readBlob(n)).toString()) })),
  );
  const mine = records.filter(({ record }) => record.caller?.name === name);
  // Each record sits beside its image: <image>.json.
  const images = mine.map(({ name: n }) => n.slice(0, -'.json'.length)).filter((image) => names.includes(image));
  return { records: mine, images, usd: mine.reduce((sum, { record }) => sum + record.cost.usd, 0) };
}

async function expectKeptAndSettled(name: string, generationsBefore: number, images: number) {
  const { usage, budget } = await settled(name, images);
  expect(stack.emulator.stats.generations - generationsBefore).toBe(1);
  const kept = await until(async () => {
    const found = await keptBy(name);
    return found.records.length === images ? found : undefined;
  });
  expect(kept.images).toHaveLength(images);
  // Once: one request, its images, the hold gone and the spend what the records say.
  expect(usage).toMatchObject({ requests: 1, images });
  expect(usage.usd).toBeGreaterThan(0);
  expect(usage.usd).toBeCloseTo(kept.usd, 8);
  expect(budget.holds).toEqual({});
  expect(budget.spent).toBeCloseTo(usage.usd, 8);
  // Nothing more comes later: a second settlement would double the counts.
  await quietFor(500, 'no second settlement');
  expect((await settled(name, images)).usage).toEqual(usage);
  expect(stack.emulator.stats.generations - generationsBefore).toBe(1);
}

/** What the host logged from `since` (an offset in its output) on: the caller left, and no 500 nor premature close. */
function expectNo500(since: number): void {
  const output = stack.host.output().slice(since);
  expect(output).toMatch(/POST \/api\/images\/generations 200 \d+ ms \(the caller left\)/);
  expect(output).not.toMatch(/ERR_STREAM_PREMATURE_CLOSE/);
  expect(output).not.toMatch(/Failed with 5\d\d|POST \S+ 5\d\d /);
}

describe('a caller who leaves a stream', () => {
  it.each([
    ['before the first event', { n: 1, partial_images: 2 }, (text: string) => text === ''],
    [
      'after the first partial image',
      { n: 1, partial_images: 2 },
      (text: string) => text.includes('image_generation.partial_image'),
    ],
    [
      'between the images of n=2',
      { n: 2, partial_images: 1 },
      (text: string) => text.includes('image_generation.completed'),
    ],
  ])('%s: the generation runs to the end, every image is kept and the hold settles once', async (_, params, leave) => {
    const { key, name } = await keyWithBudget();
    const before = stack.emulator.stats.generations;
    const logged = stack.host.output().length;
    const read = await streamAndLeave(
      key,
      { model: 'mini', prompt: `Left ${name}`, stream: true, quality: 'low', size: '1024x1024', ...params },
      leave,
    );
    // It left before the stream ended.
    expect(read.split('event: image_generation.completed').length - 1).toBeLessThan(params.n);
    await expectKeptAndSettled(name, before, params.n);
    expect(stack.host.output().slice(logged)).toMatch(/The caller left the stream/);
    expectNo500(logged);
  });
});

describe('a caller who leaves a synchronous request', () => {
  it('mid-request: the images are kept and the hold settles once', async () => {
    const { key, name } = await keyWithBudget();
    const before = stack.emulator.stats.generations;
    const logged = stack.host.output().length;
    const controller = new AbortController();
    const answer = fetch(`${stack.host.url}${GENERATE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': key },
      body: JSON.stringify({ model: 'mini', prompt: `Left ${name}`, n: 2, quality: 'low', size: '1024x1024' }),
      signal: controller.signal,
    });
    // Gone once the service has started (and billed) the generation, long before it answers.
    await until(async () => (stack.emulator.stats.generations > before ? true : undefined));
    controller.abort();
    await expect(answer).rejects.toThrow();
    await expectKeptAndSettled(name, before, 2);
    expectNo500(logged);
  });
});

describe('a poller who goes away', () => {
  it('the job runs to the end: its images are kept and the hold settles once', async () => {
    const { key, name } = await keyWithBudget();
    const before = stack.emulator.stats.generations;
    const logged = stack.host.output().length;
    const accepted = await stack.post(
      GENERATE,
      { model: 'mini', prompt: `Left ${name}`, n: 1, quality: 'low', size: '1024x1024' },
      { 'api-key': key, prefer: 'respond-async' },
    );
    expect(accepted.status).toBe(202);
    // One poll, left mid-answer, and no other.
    const controller = new AbortController();
    const poll = fetch(accepted.headers.get('location')!, { signal: controller.signal });
    controller.abort();
    await expect(poll).rejects.toThrow();
    await expectKeptAndSettled(name, before, 1);
    const output = stack.host.output().slice(logged);
    expect(output).not.toMatch(/ERR_STREAM_PREMATURE_CLOSE|Failed with 5\d\d| 5\d\d \d+ ms/);
  });
});
