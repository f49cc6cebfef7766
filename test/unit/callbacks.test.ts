import { describe, expect, it } from 'vitest';
import { callbackProblem, guardedLookup, isPublicAddress, type Resolver } from '../../src/lib/callbacks.js';

// Where a webhook may go: checked on the address, at subscription and again at connect time.

const resolving = (table: Record<string, string[]>): Resolver => async (hostname) => {
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

describe('callback addresses', () => {
  it.each([
    ['10.1.2.3'],
    ['172.16.0.1'],
    ['172.31.255.255'],
    ['192.168.1.1'],
    ['127.0.0.1'],
    ['169.254.169.254'], // the instance metadata service
    ['168.63.129.16'], // Azure's platform endpoint
    ['100.64.0.1'],
    ['0.0.0.0'],
    ['::1'],
    ['fe80::1'],
    ['fd00:ec2::254'],
    ['::ffff:10.0.0.1'],
    ['::ffff:169.254.169.254'],
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([['20.50.1.1'], ['8.8.8.8'], ['172.32.0.1'], ['2606:4700::6810:84e5']])('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('callbackProblem', () => {
  const dns = resolving({ 'hooks.example.com': ['20.50.1.1'], 'inside.example.com': ['10.0.0.5'], 'mixed.example.com': ['20.50.1.1', '192.168.0.9'], localhost: ['127.0.0.1'] });

  it('in Azure: https to public addresses only, checked on what the name resolves to', async () => {
    expect(await callbackProblem('https://hooks.example.com/x?sig=1', 'public', dns)).toBeUndefined();
    expect(await callbackProblem('http://hooks.example.com/x', 'public', dns)).toMatch(/https/);
    expect(await callbackProblem('https://inside.example.com/x', 'public', dns)).toMatch(/not public \(10\.0\.0\.5\)/);
    expect(await callbackProblem('https://mixed.example.com/x', 'public', dns)).toMatch(/not public \(192\.168\.0\.9\)/);
    expect(await callbackProblem('https://localhost/x', 'public', dns)).toMatch(/not public/);
    expect(await callbackProblem('http://127.0.0.1:8080/x', 'public', dns)).toMatch(/https/);
    expect(await callbackProblem('https://169.254.169.254/metadata', 'public', dns)).toMatch(/not public/);
    expect(await callbackProblem('https://[::1]/x', 'public', dns)).toMatch(/not public/);
    expect(await callbackProblem('https://nowhere.example.com/x', 'public', dns)).toMatch(/does not resolve/);
    expect(await callbackProblem('https://u:p@hooks.example.com/', 'public', dns)).toMatch(/credentials/);
    expect(await callbackProblem('file:///etc/passwd', 'public', dns)).toMatch(/https/);
  });

  it('locally: http to the loopback too, and nothing else over http', async () => {
    expect(await callbackProblem('http://127.0.0.1:7000/hook', 'local', dns)).toBeUndefined();
    expect(await callbackProblem('http://localhost:7000/hook', 'local', dns)).toBeUndefined();
    expect(await callbackProblem('http://hooks.example.com/hook', 'local', dns)).toMatch(/loopback/);
  });
});

describe('guardedLookup', () => {
  const lookup = (policy: 'public' | 'local', resolver: Resolver, hostname: string) =>
    new Promise<{ err: Error | null; address: unknown }>((resolve) => guardedLookup(policy, resolver)(hostname, {}, (err, address) => resolve({ err, address })));

  it('connects only to a public address, even when the name changed its answer since the subscription (DNS rebinding)', async () => {
    let answers = 0;
    // Public when checked at subscription, private at delivery.
    const rebinding: Resolver = async () => [{ address: answers++ === 0 ? '20.50.1.1' : '10.0.0.7', family: 4 }];
    expect(await callbackProblem('https://rebind.example.com/hook', 'public', rebinding)).toBeUndefined();
    const connect = await lookup('public', rebinding, 'rebind.example.com');
    expect(connect.err?.message).toMatch(/no public address/);
    expect((connect.err as { code?: string }).code).toBe('EADDRNOTALLOWED');
  });

  it('picks a public address when the name has both, and anything locally', async () => {
    const mixed = resolving({ 'mixed.example.com': ['192.168.0.9', '20.50.1.1'] });
    expect((await lookup('public', mixed, 'mixed.example.com')).address).toBe('20.50.1.1');
    expect((await lookup('local', mixed, 'mixed.example.com')).address).toBe('192.168.0.9');
  });
});
