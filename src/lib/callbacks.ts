import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

// Where the app may send a webhook. A callback URL is the caller's text, and the app POSTs to it
// from inside Azure: without checks it could reach the instance's metadata endpoint or a private
// network (SSRF). In Azure: https only, and every address the name resolves to must be public,
// checked on the address actually connected to (pinned at connect time), so a name that resolves
// to a public address at subscription and a private one at delivery (DNS rebinding) gets nowhere.
// Locally, http to the loopback is allowed too, for a receiver on the developer's machine.

export type CallbackPolicy = 'public' | 'local';

/** Addresses no callback may reach in Azure. */
const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, the instance metadata service (169.254.169.254) among them
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4],
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv4');
}
// Azure's platform endpoint (DNS, health probes, the wire server): public in form, private in effect.
FORBIDDEN.addAddress('168.63.129.16', 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local, fd00:ec2::254 (a cloud metadata address) among them
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['2001:db8::', 32],
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv6');
}

/** Whether an address is one a callback may reach in Azure. IPv4 inside IPv6 (::ffff:a.b.c.d) counts as IPv4. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return isPublicAddress(mapped);
  return !FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const isLoopbackHost = (hostname: string) => hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** Why a callback URL is refused, or undefined when it may be used. Resolves the name in Azure. */
export async function callbackProblem(text: string, policy: CallbackPolicy, resolve: Resolver = systemResolver): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'http:') return policy === 'local' && isLoopbackHost(url.hostname) ? undefined : 'must use https (http only to the loopback, and only when running locally)';
  if (url.protocol !== 'https:') return 'must use https';
  if (policy === 'local') return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: LookupAddress[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  } catch {
    return `names a host that does not resolve (${host})`;
  }
  const forbidden = addresses.find((a) => !isPublicAddress(a.address));
  return forbidden ? `resolves to an address that is not public (${forbidden.address})` : undefined;
}

/**
 * A `lookup` for http(s).request that connects only to addresses the policy allows: the check is
 * made on the address the socket will use, not on an earlier resolution.
 */
export function guardedLookup(policy: CallbackPolicy, resolve: Resolver = systemResolver) {
  return (hostname: string, options: { all?: boolean }, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void): void => {
    resolve(hostname).then(
      (addresses) => {
        const allowed = policy === 'local' ? addresses : addresses.filter((a) => isPublicAddress(a.address));
        if (allowed.length === 0) {
          callback(Object.assign(new Error(`${hostname} resolves to no public address`), { code: 'EADDRNOTALLOWED' }), []);
          return;
        }
        if (options.all) callback(null, allowed);
        else callback(null, allowed[0].address, allowed[0].family);
      },
      (err: Error) => callback(err, []),
    );
  };
}
