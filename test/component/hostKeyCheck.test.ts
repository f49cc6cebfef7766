import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listen } from '../../dev/processes.js';
import { HostKeyCheck } from '../../src/lib/callers/auth.js';
import { DependencyUnavailableError } from '../../src/lib/core/errors.js';

// The function key as the app's own host judges it, against an HTTP server standing in for the host.

describe('HostKeyCheck', () => {
  let url: string;
  let close: () => void;
  const seen: (string | undefined)[] = [];
  let status = (key: string | undefined): number => (key === 'good' || key === undefined ? 204 : 401);

  beforeAll(async () => {
    const server = createServer((req, res) => {
      const key = req.headers['x-functions-key'] as string | undefined;
      seen.push(req.url === '/api/auth/check' ? key : `wrong path ${req.url}`);
      res.writeHead(status(key)).end();
    });
    url = `http://127.0.0.1:${await listen(server)}`;
    close = () => server.close();
  });
  afterAll(() => close());

  it('asks the host once per key and lifetime: the key’s hash is the cache’s key', async () => {
    const check = new HostKeyCheck(url, 60_000);
    expect(await check.accepts('good')).toBe(true);
    expect(await check.accepts('good')).toBe(true);
    expect(await check.accepts('bad')).toBe(false);
    expect(await check.accepts('bad')).toBe(false);
    expect(await check.accepts(undefined)).toBe(true);
    expect(seen.splice(0)).toEqual(['good', 'bad', undefined]);
  });

  it('asks again once the lifetime has passed', async () => {
    // The lifetime on a clock only the test moves: Date alone is faked, and stands still.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const check = new HostKeyCheck(url, 1_000);
      await check.accepts('good');
      vi.setSystemTime(Date.now() + 999);
      await check.accepts('good');
      expect(seen.splice(0)).toEqual(['good']);
      vi.setSystemTime(Date.now() + 1);
      await check.accepts('good');
      expect(seen.splice(0)).toEqual(['good']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a host that fails or is missing is a 503 with a wait, never a yes', async () => {
    status = () => 500;
    await expect(new HostKeyCheck(url, 1).accepts('good')).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(new HostKeyCheck(undefined, 1).accepts('good')).rejects.toThrow(/WEBSITE_HOSTNAME is not set/);
    await expect(new HostKeyCheck('http://127.0.0.1:9', 1).accepts('good')).rejects.toMatchObject({
      dependency: 'FunctionsHost',
      retryAfterMs: 5000,
    });
  });
});
