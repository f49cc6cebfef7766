import type { DequeuedMessageItem } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';
import { triggerMetadata } from '../../dev/fakes/host/queues.js';
import { compileRoute, requestPath } from '../../dev/fakes/host/routes.js';
import { sha256 } from '../../src/lib/core/json.js';
import { queueDelivery } from '../../src/lib/jobs/worker.js';

// The local host as the real Functions host behaves (ASP.NET Core's path decoding, the Storage
// Queues trigger's binding data), and the app's reading of what it is given.

describe('the local host, as ASP.NET Core routes a path', () => {
  it.each([
    ['/api/images/files/2026%2F12%2F02%2Fx.png', '/api/images/files/2026%2F12%2F02%2Fx.png'],
    ['/api/images/files/2026%2f12', '/api/images/files/2026%2f12'],
    ['/api/a%20b/%C3%A9t%C3%A9', '/api/a b/été'],
    ['/api/x%252F', '/api/x%2F'],
    ['/api/%zz/%C3', '/api/%zz/%C3'],
    ['/api/%41%2F%42', '/api/A%2FB'],
  ])('%s is routed as %s', (raw, routed) => {
    expect(requestPath(raw)).toBe(routed);
  });

  it('refuses a NUL', () => {
    expect(requestPath('/api/x%00')).toBeUndefined();
  });

  it('gives a catch-all its text as routed: %2F still encoded', () => {
    expect(compileRoute('images/files/{*blob}').match(requestPath('/images/files/2026%2F12/x%20y.png')!)).toEqual({
      blob: '2026%2F12/x y.png',
    });
    expect(compileRoute('keys/{id}').match(requestPath('/keys/a%2Fb')!)).toEqual({ id: 'a%2Fb' });
  });
});

const message = {
  messageId: 'a7a5c3b0-5d1e-4f63-9a0e-2f1c6d6c0e11',
  dequeueCount: 2,
  popReceipt: 'pop',
  insertedOn: new Date(0),
  expiresOn: new Date(1),
  nextVisibleOn: new Date(2),
} as DequeuedMessageItem;

describe('the local host, as the Storage Queues trigger fills triggerMetadata', () => {
  it("lays a JSON body's top-level properties over its own, ignoring case", () => {
    const body = { ID: '../../etc', dequeueCount: 1, Prompt: 'p', nested: { Inner: 1 } };
    const metadata = triggerMetadata(message, JSON.stringify(body), body);
    expect(metadata).toMatchObject({
      id: '../../etc',
      dequeueCount: 1,
      popReceipt: 'pop',
      prompt: 'p',
      nested: { inner: 1 },
    });
    expect(metadata.ID).toBeUndefined();
  });

  it('keeps its own for a message that is not a JSON object', () => {
    expect(triggerMetadata(message, 'plain text', 'plain text')).toMatchObject({
      id: message.messageId,
      dequeueCount: 2,
      queueTrigger: 'plain text',
    });
  });
});

describe("the app's delivery, from what the body cannot replace", () => {
  const deliveryOf = (body: unknown) =>
    queueDelivery(body, triggerMetadata(message, typeof body === 'string' ? body : JSON.stringify(body), body));

  it("is the message's own id and count when the body has neither", () => {
    expect(deliveryOf({ prompt: 'x' })).toEqual({ messageId: message.messageId, dequeueCount: 2 });
    expect(deliveryOf('not json')).toEqual({ messageId: message.messageId, dequeueCount: 2 });
  });

  it.each([
    { id: '../../etc' },
    { Id: 'x' },
    { ID: 'a7a5c3b0-5d1e-4f63-9a0e-2f1c6d6c0e11', prompt: 'y' },
    { id: 'x'.repeat(5000) },
  ])('is named after the message when the body has an id: %j', (body) => {
    expect(deliveryOf(body).messageId).toBe(`sha256-${sha256(JSON.stringify(body)).slice(0, 32)}`);
  });

  it('counts a hidden dequeueCount as the first attempt', () => {
    expect(deliveryOf({ id: 'j', dequeueCount: 99 }).dequeueCount).toBe(1);
  });
});
