import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { listen } from '../processes.js';
import { mintToken } from './tokens.js';

// A stand-in for the managed identity endpoint App Service and Azure Functions give an app
// (IDENTITY_ENDPOINT + IDENTITY_HEADER, api-version 2019-08-01). With those two variables set,
// the real DefaultAzureCredential runs its managed identity path unchanged against it.

export interface IdentityEndpoint {
  /** The environment a process needs to use it, as App Service sets it. */
  env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** Tokens handed out, by resource. */
  issued: Map<string, number>;
  close(): Promise<void>;
}

export async function startIdentityEndpoint(options: { port?: number; tokenLifetimeSeconds?: number } = {}): Promise<IdentityEndpoint> {
  const header = randomBytes(16).toString('hex');
  const issued = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/msi/token' || req.method !== 'GET') return answer(404, { error: 'not_found' });
    if (req.headers['x-identity-header'] !== header) return answer(401, { error: 'invalid_identity_header' });
    const resource = url.searchParams.get('resource');
    if (url.searchParams.get('api-version') !== '2019-08-01' || !resource) {
      return answer(400, { error: 'invalid_request', error_description: 'resource and api-version 2019-08-01 are required' });
    }
    const audience = resource.replace(/\/\.default$/, '').replace(/\/$/, '');
    const { token, expiresOn } = mintToken(audience, options.tokenLifetimeSeconds ?? 3600);
    issued.set(audience, (issued.get(audience) ?? 0) + 1);
    answer(200, {
      access_token: token,
      expires_on: String(expiresOn),
      resource,
      token_type: 'Bearer',
      client_id: url.searchParams.get('client_id') ?? undefined,
    });
  });
  const port = await listen(server, options.port);
  return {
    env: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: header },
    issued,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
