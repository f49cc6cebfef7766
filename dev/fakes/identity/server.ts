import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { listen } from '../../processes.js';
import {
  DEV_TENANT_ID,
  defaultSigningKey,
  mintToken,
  newSigningKey,
  signJwt,
  V1_ISSUER,
  type SigningKey,
} from './tokens.js';

// A stand-in for the managed identity endpoint App Service and Azure Functions give an app
// (IDENTITY_ENDPOINT + IDENTITY_HEADER, api-version 2019-08-01). With those two variables set,
// the real DefaultAzureCredential runs its managed identity path unchanged against it.
//
// It is also Entra ID's authority for one tenant (DEV_TENANT_ID), as the app reads it with
// ENTRA_AUTHORITY_HOST set to `authorityHost`: the v2.0 and v1.0 OpenID configurations and the
// tenant's keys (JWKS, at /{tenant}/discovery/v2.0/keys), and access tokens for people signed in
// (`signIn`), signed RS256 with those keys. `rotateKeys` brings in a new signing key as Entra does:
// the new key is published beside the old ones, and tokens are signed with it from then on.

export interface IdentityEndpoint {
  /** The environment a process needs to use it, as App Service sets it. */
  env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** Tokens handed out, by resource. */
  issued: Map<string, number>;
  /** Entra ID's sign-in host, as ENTRA_AUTHORITY_HOST names it. */
  authorityHost: string;
  tenantId: string;
  /** The issuer of v2.0 access tokens (v1.0 tokens carry V1_ISSUER). */
  issuer: string;
  /**
   * An access token as Entra ID issues one for a signed-in user: `aud` the app registration, v2.0
   * unless `version` 1, valid for an hour from `now` (seconds); `claims` add to or replace the usual ones.
   */
  signIn(
    claims: Record<string, unknown> & { aud: string },
    options?: { version?: 1 | 2; now?: number; lifetimeSeconds?: number },
  ): string;
  /** A new signing key, published beside the old ones and used for every token from now on. */
  rotateKeys(): SigningKey;
  /** Requests for the JWKS so far. */
  keyFetches(): number;
  close(): Promise<void>;
}

export async function startIdentityEndpoint(
  options: { port?: number; tokenLifetimeSeconds?: number } = {},
): Promise<IdentityEndpoint> {
  const header = randomBytes(16).toString('hex');
  const issued = new Map<string, number>();
  const keys: SigningKey[] = [defaultSigningKey()];
  let keyFetches = 0;
  let authorityHost = '';
  const tenantPath = `/${DEV_TENANT_ID}`;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const openId = (issuer: string) => ({
      issuer,
      jwks_uri: `${authorityHost}${tenantPath}/discovery/v2.0/keys`,
      authorization_endpoint: `${authorityHost}${tenantPath}/oauth2/v2.0/authorize`,
      token_endpoint: `${authorityHost}${tenantPath}/oauth2/v2.0/token`,
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      subject_types_supported: ['pairwise'],
      tenant_region_scope: 'NA',
    });
    if (req.method === 'GET' && url.pathname === `${tenantPath}/v2.0/.well-known/openid-configuration`)
      return answer(200, openId(`${authorityHost}${tenantPath}/v2.0`));
    if (req.method === 'GET' && url.pathname === `${tenantPath}/.well-known/openid-configuration`)
      return answer(200, openId(V1_ISSUER));
    if (req.method === 'GET' && url.pathname === `${tenantPath}/discovery/v2.0/keys`) {
      keyFetches += 1;
      return answer(200, { keys: keys.map((k) => k.jwk) });
    }
    if (url.pathname !== '/msi/token' || req.method !== 'GET') return answer(404, { error: 'not_found' });
    if (req.headers['x-identity-header'] !== header) return answer(401, { error: 'invalid_identity_header' });
    const resource = url.searchParams.get('resource');
    if (url.searchParams.get('api-version') !== '2019-08-01' || !resource) {
      return answer(400, {
        error: 'invalid_request',
        error_description: 'resource and api-version 2019-08-01 are required',
      });
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
  authorityHost = `http://127.0.0.1:${port}`;
  const issuer = `${authorityHost}${tenantPath}/v2.0`;
  return {
    env: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: header },
    issued,
    authorityHost,
    tenantId: DEV_TENANT_ID,
    issuer,
    signIn(claims, { version = 2, now = Math.floor(Date.now() / 1000), lifetimeSeconds = 3600 } = {}) {
      const oid = randomUUID();
      const usual = {
        iss: version === 2 ? issuer : V1_ISSUER,
        iat: now,
        nbf: now,
        exp: now + lifetimeSeconds,
        tid: DEV_TENANT_ID,
        oid,
        sub: oid,
        ver: version === 2 ? '2.0' : '1.0',
        scp: 'user_impersonation',
      };
      return signJwt({ ...usual, ...claims }, keys.at(-1));
    },
    rotateKeys() {
      const key = newSigningKey();
      keys.push(key);
      return key;
    },
    keyFetches: () => keyFetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
