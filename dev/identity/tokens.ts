import { randomBytes, randomUUID } from 'node:crypto';

// Entra ID access tokens as the stand-ins need them: JWTs with the claims Azure's services read.
// They are not signed by Entra: nothing here can be. Azurite (`--oauth basic`) and the Key Vault
// and Azure OpenAI stand-ins check the audience and lifetime, as the real services do first.

export const DEV_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const DEV_PRINCIPAL_ID = '11111111-2222-3333-4444-555555555555';

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function mintToken(audience: string, lifetimeSeconds = 3600, now = Math.floor(Date.now() / 1000)): { token: string; expiresOn: number } {
  const expiresOn = now + lifetimeSeconds;
  const claims = {
    aud: audience,
    iss: `https://sts.windows.net/${DEV_TENANT_ID}/`,
    iat: now - 60,
    nbf: now - 60,
    exp: expiresOn,
    oid: DEV_PRINCIPAL_ID,
    sub: DEV_PRINCIPAL_ID,
    tid: DEV_TENANT_ID,
    appid: randomUUID(),
  };
  const token = `${base64url({ typ: 'JWT', alg: 'RS256' })}.${base64url(claims)}.${randomBytes(32).toString('base64url')}`;
  return { token, expiresOn };
}

/** The claims of a bearer token when it is a JWT for `audience` that has not expired. */
export function checkBearer(authorization: string | undefined, audience: string): Record<string, unknown> | undefined {
  const match = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]*)$/.exec(authorization ?? '');
  if (!match) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(match[2]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const aud = String(claims.aud ?? '').replace(/\/$/, '');
    if (aud !== audience.replace(/\/$/, '')) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return undefined;
    return claims;
  } catch {
    return undefined;
  }
}
