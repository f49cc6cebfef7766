import { describe, expect, it } from 'vitest';
import { Authenticator, hostUrlOf, type Credentials } from '../../src/lib/callers/auth.js';
import type { Caller } from '../../src/lib/core/caller.js';
import { UnauthorizedError } from '../../src/lib/core/errors.js';

// Who a request is, in order: a caller key, an Entra ID token (test/component/entra.test.ts), the
// function key as the host judges it (test/component/hostKeyCheck.test.ts). x-ms-client-principal is
// never read.

const KEY = `igk_${'k'.repeat(43)}`;
const TEAM: Caller = { name: 'team', kind: 'key' };
const request = (headers: Record<string, string>, query: Record<string, string> = {}): Credentials => ({
  header: (name) => Object.entries(headers).find(([n]) => n.toLowerCase() === name)?.[1],
  query: (name) => query[name],
});

function authenticator(options: { callerKeys?: boolean; hostAccepts?: (key: string | undefined) => boolean } = {}) {
  const asked: (string | undefined)[] = [];
  const auth = new Authenticator({
    ...(options.callerKeys !== false && {
      callerKeys: { find: async (key: string) => (key === KEY ? TEAM : undefined) },
    }),
    hostKeys: {
      accepts: async (key) => {
        asked.push(key);
        return (options.hostAccepts ?? ((k) => k === 'fk'))(key);
      },
    },
  });
  return { auth, asked };
}

describe('Authenticator', () => {
  it('takes a caller key from api-key or Authorization: Bearer, before anything else', async () => {
    const { auth, asked } = authenticator();
    expect(await auth.authenticate(request({ 'api-key': KEY }))).toBe(TEAM);
    expect(await auth.authenticate(request({ Authorization: `Bearer ${KEY}` }))).toBe(TEAM);
    expect(await auth.authenticate(request({ authorization: `bearer ${KEY}`, 'x-functions-key': 'fk' }))).toBe(TEAM);
    expect(asked).toEqual([]);
  });

  it('refuses an unknown or revoked caller key, even beside a good function key', async () => {
    const { auth } = authenticator();
    await expect(auth.authenticate(request({ 'api-key': 'igk_nope', 'x-functions-key': 'fk' }))).rejects.toThrow(
      new UnauthorizedError('The caller key is not valid: unknown or revoked.'),
    );
  });

  it('leaves other api-key and Bearer values alone: the function key decides', async () => {
    const { auth, asked } = authenticator();
    expect(
      await auth.authenticate(
        request({ 'api-key': 'unused', authorization: 'Bearer eyJ0eXAi.x.y', 'x-functions-key': 'fk' }),
      ),
    ).toMatchObject({ name: 'anonymous', kind: 'function_key' });
    expect(await auth.authenticate(request({}, { code: 'fk' }))).toMatchObject({ name: 'anonymous' });
    expect(asked).toEqual(['fk', 'fk']);
    await expect(auth.authenticate(request({ 'api-key': 'unused' }))).rejects.toThrow(
      /^Access denied: send a caller key/,
    );
    await expect(auth.authenticate(request({ 'x-functions-key': 'bad' }))).rejects.toThrow(
      'Access denied: the function key is not valid.',
    );
  });

  it('with caller keys off, reads no caller key: the function key alone, never open', async () => {
    const { auth } = authenticator({ callerKeys: false });
    await expect(auth.authenticate(request({ 'api-key': KEY }))).rejects.toBeInstanceOf(UnauthorizedError);
    expect(await auth.authenticate(request({ 'api-key': KEY, 'x-functions-key': 'fk' }))).toMatchObject({
      name: 'anonymous',
    });
  });
});

describe('hostUrlOf', () => {
  it('finds the host from WEBSITE_HOSTNAME: HTTPS in Azure, HTTP locally', () => {
    expect(hostUrlOf('func-api-x.azurewebsites.net')).toBe('https://func-api-x.azurewebsites.net');
    expect(hostUrlOf('localhost:7071')).toBe('http://localhost:7071');
    expect(hostUrlOf('127.0.0.1:50123')).toBe('http://127.0.0.1:50123');
    expect(hostUrlOf(undefined)).toBeUndefined();
  });
});
