import { request } from 'node:http';

// Paths sent exactly as written: fetch() would normalise them (dot segments) first. And the forms a
// kept image's name reaches a catch-all route in.

/** A request whose path goes on the wire as given; the status and the body's text. */
export function rawRequest(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A kept image's name as callers send it, each of which reaches it: raw, with its slashes; encoded
 * once, as Power Platform sends a path parameter; encoded twice, whose %25 the host (ASP.NET Core,
 * and the local host with it) decodes, so that the app sees what it sees for the once-encoded name.
 */
export const nameForms = (blob: string): Record<string, string> => ({
  raw: blob,
  'encoded once': encodeURIComponent(blob),
  'encoded twice (the host decodes %25)': encodeURIComponent(encodeURIComponent(blob)),
});

/** Names that must be refused (404 or 400, never 5xx) on every catch-all route, for a kept image's name. */
export const refusedNames = (blob: string): string[] => [
  // Still encoded once the host and the app have each decoded it once.
  encodeURIComponent(encodeURIComponent(encodeURIComponent(blob))),
  `${encodeURIComponent(blob)}.json`,
  `${blob}.json`,
  `..%2F..%2F${encodeURIComponent(blob)}`,
  `%2E%2E%2F%2E%2E%2F${blob}`,
  `..%252F..%252F${blob}`,
  `${blob}%2F..%2F..%2F..%2Fsecrets`,
  `${blob.replace(/\//g, '%5C')}`,
  '..%2F..%2Fsecrets',
  '%zz',
  `${blob}%00`,
  'x'.repeat(4000),
];
