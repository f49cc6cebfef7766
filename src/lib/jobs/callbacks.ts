import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

// Where the app may send a webhook. A callback URL is the caller's text, and the app POSTs to it
// from inside Azure: without checks it could reach the instance's metadata endpoint or a private
// network (SSRF). In Azure: https only, and every address the name resolves to must be public,
// checked on the address actually connected to (pinned at connect time), so a name that resolves
// to a public address at subscription and a private one at delivery (DNS rebinding) gets nowhere.
// Locally, http to the loopback is allowed too, for a receiver on the developer's machine.

export type CallbackPolicy = 'public' | 'local';

/** Addresses no callback may reach in Azure: none that is not globally routable. */
const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, the instance metadata service (169.254.169.254) among them
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24], // documentation, as the two below
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['192.88.99.0', 24], // the retired 6to4 relays
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
  ['64:ff9b:1::', 48], // local-use NAT64: the operator's own translation, never global
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (Teredo, 2001::/32, is read for its IPv4 addresses first)
  ['2001:db8::', 32], // documentation, as 3fff::/20
  ['3fff::', 20],
  ['5f00::', 16], // SRv6 segment identifiers
  ['fc00::', 7], // unique local, fd00:ec2::254 (a cloud metadata address) among them
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted quad and a zone allowed); undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number);
    if ([a, b, c, d].some((octet) => octet > 255)) return undefined;
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => (/^[0-9a-f]{1,4}$/i.test(group) ? parseInt(group, 16) : NaN));
  const [head, tail] = [parse(halves[0]), halves.length === 2 ? parse(halves[1]) : []];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<number>(missing).fill(0), ...tail];
  return groups.some(Number.isNaN) ? undefined : groups;
}

const dotted = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;

/**
 * The IPv4 addresses an IPv6 address carries, by the forms that carry one: a network that translates
 * or tunnels it (NAT64, a 6to4 relay, Teredo) delivers to that IPv4 address.
 */
function embeddedIPv4(g: number[]): string[] {
  const zero = (from: number, to: number) => g.slice(from, to).every((group) => group === 0);
  // IPv4-compatible ::a.b.c.d and IPv4-mapped ::ffff:a.b.c.d
  if (zero(0, 5) && (g[5] === 0 || g[5] === 0xffff)) return [dotted(g[6], g[7])];
  // SIIT ::ffff:0:a.b.c.d
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return [dotted(g[6], g[7])];
  // NAT64's well-known prefix 64:ff9b::/96 (64:ff9b:1::/48 is local-use, refused whole)
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return [dotted(g[6], g[7])];
  // 6to4 2002:aabb:ccdd::/48
  if (g[0] === 0x2002) return [dotted(g[1], g[2])];
  // Teredo 2001:0::/32: the server's address, and the client's with every bit flipped
  if (g[0] === 0x2001 && g[1] === 0) return [dotted(g[2], g[3]), dotted(~g[6] & 0xffff, ~g[7] & 0xffff)];
  return [];
}

/**
 * Whether an address is one a callback may reach in Azure. An IPv6 address that carries an IPv4
 * address (mapped, compatible, SIIT, NAT64, 6to4, Teredo) is judged by the IPv4 address it carries.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !FORBIDDEN.check(address, 'ipv4');
  const groups = family === 6 ? ipv6Groups(address) : undefined;
  if (!groups) return false;
  const embedded = embeddedIPv4(groups);
  if (embedded.length > 0) return embedded.every(isPublicAddress);
  return !FORBIDDEN.check(groups.map((group) => group.toString(16)).join(':'), 'ipv6');
}

const isLoopbackHost = (hostname: string) =>
  hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/** Why a callback URL is refused, or undefined when it may be used. Resolves the name in Azure. */
export async function callbackProblem(
  text: string,
  policy: CallbackPolicy,
  resolve: Resolver = systemResolver,
): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'http:')
    return policy === 'local' && isLoopbackHost(url.hostname)
      ? undefined
      : 'must use https (http only to the loopback, and only when running locally)';
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
  return (
    hostname: string,
    options: { all?: boolean },
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    resolve(hostname).then(
      (addresses) => {
        const allowed = policy === 'local' ? addresses : addresses.filter((a) => isPublicAddress(a.address));
        if (allowed.length === 0) {
          callback(
            Object.assign(new Error(`${hostname} resolves to no public address`), { code: 'EADDRNOTALLOWED' }),
            [],
          );
          return;
        }
        if (options.all) callback(null, allowed);
        else callback(null, allowed[0].address, allowed[0].family);
      },
      (err: Error) => callback(err, []),
    );
  };
}
