import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY } from '../../dev/fakes/azurite.js';
import { rawRequest } from '../support/paths.js';
import { startStack, uniqueName, type Stack } from '../support/stack.js';

// Every route that takes an id in its path refuses one it could never have given before asking
// Storage: 404 (or 400), at once, never a 503 after Storage's retries. The hostile ids go to an app
// whose Storage does not answer at all, so any that reached it would be a 503. The paths go on the
// wire as written, %2F and all, and the local host routes them as the Functions host does.

let stack: Stack;
let noStorage: Stack;
const FUNCTION_KEY = uniqueName('function-key');
const asOperator = { 'x-functions-key': FUNCTION_KEY };
/** Every Storage endpoint on a port nothing listens on. */
const UNREACHABLE = `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};${['Blob', 'Queue', 'Table'].map((s) => `${s}Endpoint=http://127.0.0.1:9/${DEV_ACCOUNT};`).join('')}`;

beforeAll(async () => {
  [stack, noStorage] = await Promise.all([
    startStack({ LOCAL_FUNCTION_KEY: FUNCTION_KEY }),
    startStack({ LOCAL_FUNCTION_KEY: FUNCTION_KEY }, { connectionString: UNREACHABLE }),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.stop(), noStorage?.stop()]);
});

const ROUTES: [method: string, path: (id: string) => string][] = [
  ['GET', (id) => `/api/images/jobs/${id}`],
  ['GET', (id) => `/api/images/jobs/${id}/status?token=x`],
  ['GET', (id) => `/api/images/subscriptions/${id}`],
  ['DELETE', (id) => `/api/images/subscriptions/${id}`],
  ['DELETE', (id) => `/api/keys/${id}`],
  ['GET', (id) => `/api/models/${id}`],
  ['GET', (id) => `/api/models/${id}/schema`],
];

const IDS = [
  'a%2Fb',
  '..%2F..%2Fetc',
  '00000000-0000-4000-8000-000000000000%2F..%2F..',
  '%2E%2E',
  'x'.repeat(2000),
  "o'neil",
  'a%20b',
  '%25',
  '%zz',
  '%00',
  'ab%3Fc%23d',
  'a%5Cb',
  'a%2Fb%5C..%5C..',
  '-0000000-0000-4000-8000-000000000000',
  '00000000-0000-4000-8000-00000000000G%2F',
];

describe('an id that names nothing', () => {
  it.each(ROUTES)('%s %s: 404 or 400 at once, before Storage', async (method, path) => {
    for (const id of IDS) {
      const started = Date.now();
      const answer = await rawRequest(noStorage.host.url, path(id), asOperator, method);
      const where = `${method} ${path(id).slice(0, 90)}: ${answer.status} ${answer.text.slice(0, 200)}`;
      expect([400, 404], where).toContain(answer.status);
      // Storage's retries take seconds: an answer this quick never waited on them.
      expect(Date.now() - started, where).toBeLessThan(1000);
    }
  });

  it('a well-formed id reaches Storage: 503 when it is down, 404 in Azure’s error shape when it names nothing', async () => {
    expect(
      (
        await rawRequest(
          noStorage.host.url,
          '/api/images/subscriptions/00000000-0000-4000-8000-000000000000',
          asOperator,
        )
      ).status,
    ).toBe(503);
    for (const path of [
      '/api/images/subscriptions/00000000-0000-4000-8000-000000000000',
      '/api/images/jobs/no-such-job',
    ]) {
      const answer = await stack.get(path);
      expect([answer.status, answer.json.error.code], path).toEqual([404, 'NotFound']);
    }
    const key = await stack.delete('/api/keys/00000000-0000-4000-8000-000000000000');
    expect(key.status).toBe(404);
  });
});
