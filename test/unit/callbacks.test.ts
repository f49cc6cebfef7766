import { describe, expect, it } from 'vitest';
import { callbackProblem, guardedLookup, isPublicAddress, type Resolver } from '../../src/lib/jobs/callbacks.js';

// Where a webhook may go: checked on the address, at subscription and again at connect time.

const resolving =
  (table: Record<string, string[]>): Resolver =>
  async (hostname) => {
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

// Each IPv6 form that carries an IPv4 address, with the IPv4 address it carries: judged as that address.
// Teredo's client address is every bit of the last 32 flipped; its server here is 65.54.227.120 (4136:e378).
const EMBEDDED: [form: string, address: string, carries: string, isPublic: boolean][] = [
  ['IPv4-compatible', '::127.0.0.1', '127.0.0.1', false],
  ['IPv4-compatible, in hex', '::7f00:1', '127.0.0.1', false],
  ['IPv4-compatible', '::a9fe:a9fe', '169.254.169.254', false],
  ['IPv4-compatible', '::8.8.8.8', '8.8.8.8', true],
  ['IPv4-mapped', '::ffff:127.0.0.1', '127.0.0.1', false],
  ['IPv4-mapped, in hex', '::ffff:7f00:1', '127.0.0.1', false],
  ['IPv4-mapped, written out', '0:0:0:0:0:ffff:a00:5', '10.0.0.5', false],
  ['IPv4-mapped', '::ffff:20.50.1.1', '20.50.1.1', true],
  ['SIIT', '::ffff:0:127.0.0.1', '127.0.0.1', false],
  ['SIIT, in hex', '::ffff:0:a9fe:a9fe', '169.254.169.254', false],
  ['SIIT', '::ffff:0:20.50.1.1', '20.50.1.1', true],
  ['NAT64 64:ff9b::/96', '64:ff9b::127.0.0.1', '127.0.0.1', false],
  ['NAT64 64:ff9b::/96, in hex', '64:ff9b::c0a8:101', '192.168.1.1', false],
  ['NAT64 64:ff9b::/96', '64:ff9b::a83f:8110', '168.63.129.16', false],
  ['NAT64 64:ff9b::/96', '64:ff9b::808:808', '8.8.8.8', true],
  ['NAT64 local-use 64:ff9b:1::/48 (refused whole)', '64:ff9b:1::7f00:1', '127.0.0.1', false],
  [
    'NAT64 local-use 64:ff9b:1::/48 (refused whole, even with a public address inside)',
    '64:ff9b:1:808:8:800::',
    '',
    false,
  ],
  ['6to4', '2002:7f00:1::', '127.0.0.1', false],
  ['6to4', '2002:a9fe:a9fe::1', '169.254.169.254', false],
  ['6to4', '2002:ac10:1:1::1', '172.16.0.1', false],
  ['6to4', '2002:1432:101::1', '20.50.1.1', true],
  ['Teredo, client 127.0.0.1', '2001:0:4136:e378:8000:63bf:80ff:fffe', '127.0.0.1', false],
  ['Teredo, client 10.0.0.1', '2001:0:4136:e378:8000:63bf:f5ff:fffe', '10.0.0.1', false],
  ['Teredo, client 169.254.169.254', '2001:0:4136:e378:8000:63bf:5601:5601', '169.254.169.254', false],
  ['Teredo, server 10.0.0.1', '2001:0:a00:1:8000:63bf:f7f7:f7f7', '10.0.0.1', false],
  ['Teredo, client 8.8.8.8', '2001:0:4136:e378:8000:63bf:f7f7:f7f7', '8.8.8.8', true],
];

describe('IPv6 forms that carry an IPv4 address', () => {
  it.each(EMBEDDED)('%s %s carries %s: public %s', async (_, address, carries, isPublic) => {
    if (carries) expect(isPublicAddress(carries)).toBe(isPublic);
    expect(isPublicAddress(address)).toBe(isPublic);
    // A literal host, and a name that resolves to it, at subscription and at connect time.
    const literal = await callbackProblem(`https://[${address}]/hook`, 'public');
    const dns = resolving({ 'hooks.example.com': [address] });
    const named = await callbackProblem('https://hooks.example.com/hook', 'public', dns);
    const connect = await new Promise<Error | null>((resolve) =>
      guardedLookup('public', dns)('hooks.example.com', {}, (err) => resolve(err)),
    );
    if (isPublic) {
      expect([literal, named, connect]).toEqual([undefined, undefined, null]);
    } else {
      expect(literal).toMatch(/not public/);
      expect(named).toMatch(/not public/);
      expect((connect as { code?: string }).code).toBe('EADDRNOTALLOWED');
    }
  });

  it.each([
    ['100::1'],
    ['2001:2::1'],
    ['2001:10::1'],
    ['3fff::1'],
    ['5f00::1'],
    ['192.0.2.1'],
    ['198.51.100.7'],
    ['203.0.113.9'],
    ['192.88.99.1'],
    ['fe80::1%eth0'],
    ['::'],
    ['not-an-address'],
  ])('%s, not globally routable (or not an address), is refused', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });
});

describe('callbackProblem', () => {
  const dns = resolving({
    'hooks.example.com': ['20.50.1.1'],
    'inside.example.com': ['10.0.0.5'],
    'mixed.example.com': ['20.50.1.1', '192.168.0.9'],
    localhost: ['127.0.0.1'],
  });

  it('in Azure: https to public addresses only, checked on what the name resolves to', async () => {
    expect(await callbackProblem('https://hooks.example.com/x?sig=1', 'public', dns)).toBeUndefined();
    expect(await callbackProblem('http://hooks.example.com/x', 'public', dns)).toMatch(/https/);
    expect(await callbackProblem('https://inside.example.com/x', 'public', dns)).toMatch(/not public \(10\.0\.0\.5\)/);
    expect(await callbackProblem('https://mixed.example.com/x', 'public', dns)).toMatch(
      /not public \(192\.168\.0\.9\)/,
    );
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
    new Promise<{ err: Error | null; address: unknown }>((resolve) =>
      guardedLookup(policy, resolver)(hostname, {}, (err, address) => resolve({ err, address })),
    );

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
