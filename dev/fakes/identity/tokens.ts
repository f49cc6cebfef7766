import { createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';

// Entra ID access tokens as the stand-ins need them: JWTs with the claims Azure's services read,
// signed RS256 with the stand-in's own keys, which its OpenID configuration publishes (server.ts), so
// that the app verifies them exactly as it verifies Entra ID's. Azurite (`--oauth basic`) and the Key
// Vault and Azure OpenAI stand-ins check the audience and lifetime, as the real services do first.

export const DEV_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const DEV_PRINCIPAL_ID = '11111111-2222-3333-4444-555555555555';

/** The v1.0 issuer (managed identity tokens, app registrations left at v1 tokens), as Entra ID names it. */
export const V1_ISSUER = `https://sts.windows.net/${DEV_TENANT_ID}/`;

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** The public key as a JWKS publishes it. */
  jwk: Record<string, unknown>;
}

export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  // As Entra ID publishes its keys: no `alg`, so a verifier must itself insist on RS256.
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, kty: 'RSA', use: 'sig' } };
}

/** The process's current key: what managed identity tokens are signed with, and the first key a JWKS lists. */
let processKey: SigningKey | undefined;
export const defaultSigningKey = (): SigningKey => (processKey ??= newSigningKey());

/** A compact JWS, RS256, with the key's kid. */
export function signJwt(claims: Record<string, unknown>, key: SigningKey = defaultSigningKey()): string {
  const input = `${base64url({ typ: 'JWT', alg: 'RS256', kid: key.kid })}.${base64url(claims)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(key.privateKey).toString('base64url')}`;
}

export function mintToken(
  audience: string,
  lifetimeSeconds = 3600,
  now = Math.floor(Date.now() / 1000),
): { token: string; expiresOn: number } {
  const expiresOn = now + lifetimeSeconds;
  const claims = {
    aud: audience,
    iss: V1_ISSUER,
    iat: now - 60,
    nbf: now - 60,
    exp: expiresOn,
    oid: DEV_PRINCIPAL_ID,
    sub: DEV_PRINCIPAL_ID,
    tid: DEV_TENANT_ID,
    appid: randomUUID(),
  };
  return { token: signJwt(claims), expiresOn };
}

/** The claims of a JWT, or undefined when it is not one. */
export function tokenClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part))) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    return isObject(header) && isObject(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a token is a JWT for `audience` that is valid now: what a service checks before the signature. */
export function isTokenFor(token: string, audience: string, nowMs = Date.now()): boolean {
  const claims = tokenClaims(token);
  if (!claims) return false;
  const trim = (aud: unknown) => (typeof aud === 'string' ? aud.replace(/\/+$/, '') : aud);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const now = nowMs / 1000;
  return (
    audiences.map(trim).includes(trim(audience)) &&
    typeof claims.exp === 'number' &&
    claims.exp > now &&
    (claims.nbf === undefined || (typeof claims.nbf === 'number' && claims.nbf <= now + 300))
  );
}

/** An `Authorization: Bearer` header holding a token for `audience`. */
export function checkBearer(authorization: string | undefined, audience: string): boolean {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  return token !== undefined && isTokenFor(token, audience);
}
