import { constants, createHmac, createSign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../dev/fakes/identity/server.js';
import { defaultSigningKey, newSigningKey, signJwt, V1_ISSUER } from '../../dev/fakes/identity/tokens.js';
import { Authenticator, type Credentials } from '../../src/lib/callers/auth.js';
import { EntraTokenVerifier } from '../../src/lib/callers/entra.js';
import { DependencyUnavailableError, UnauthorizedError } from '../../src/lib/core/errors.js';

// Entra ID bearer tokens, verified by the app against the identity stand-in acting as the tenant's
// authority: its OpenID configuration, its JWKS, tokens signed RS256 with its keys.

const CLIENT_ID = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
const APP_ID_URI = `api://${CLIENT_ID}`;
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let identity: IdentityEndpoint;
beforeAll(async () => {
  identity = await startIdentityEndpoint();
});
afterAll(() => identity.close());

const verifier = (options: { keysCooldownMs?: number; authorityHost?: string } = {}) =>
  new EntraTokenVerifier({
    tenantId: identity.tenantId,
    audiences: [CLIENT_ID, APP_ID_URI],
    authorityHost: options.authorityHost ?? identity.authorityHost,
    clockToleranceSeconds: 60,
    ...options,
  });

const bearer = (headers: Record<string, string>): Credentials => ({
  header: (name) => Object.entries(headers).find(([n]) => n.toLowerCase() === name)?.[1],
  query: () => undefined,
});

/** The app's authenticator, with a function key 'fk' the host takes and Entra ID on or off. */
function authenticator(entra: EntraTokenVerifier | undefined) {
  return new Authenticator({ ...(entra && { entra }), hostKeys: { accepts: async (key) => key === 'fk' } });
}

describe('EntraTokenVerifier', () => {
  it('accepts v2.0 and v1.0 access tokens for the app, and the principal spends as its object id', async () => {
    const entra = verifier();
    const v2 = identity.signIn({
      aud: CLIENT_ID,
      oid: 'aaaaaaaa-0000-0000-0000-000000000001',
      preferred_username: 'alice@contoso.com',
    });
    expect(await entra.verify(v2)).toMatchObject({
      iss: identity.issuer,
      aud: CLIENT_ID,
      oid: 'aaaaaaaa-0000-0000-0000-000000000001',
    });
    const v1 = identity.signIn({ aud: APP_ID_URI }, { version: 1 });
    expect(await entra.verify(v1)).toMatchObject({ iss: V1_ISSUER, aud: APP_ID_URI });
    expect(await authenticator(entra).authenticate(bearer({ authorization: `Bearer ${v2}` }))).toEqual({
      name: 'entra:aaaaaaaa-0000-0000-0000-000000000001',
      kind: 'principal',
    });
  });

  const refused = async (entra: EntraTokenVerifier, token: string, why: RegExp) => {
    const err = await entra.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, why.source).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toMatch(why);
  };

  it('refuses a wrong issuer or audience, an expired or not yet valid token, a bad signature', async () => {
    const entra = verifier();
    await refused(
      entra,
      identity.signIn({ aud: CLIENT_ID, iss: 'https://login.microsoftonline.com/another-tenant/v2.0' }),
      /"iss" claim/,
    );
    await refused(entra, identity.signIn({ aud: 'api://someone-else' }), /"aud" claim/);
    // Beyond the 60 s of clock skew, either way; within it, taken.
    await refused(entra, identity.signIn({ aud: CLIENT_ID }, { now: now() - 3600 - 120 }), /"exp" claim/);
    await refused(entra, identity.signIn({ aud: CLIENT_ID }, { now: now() + 120 }), /"nbf" claim/);
    expect(await entra.verify(identity.signIn({ aud: CLIENT_ID }, { now: now() + 30 }))).toMatchObject({
      aud: CLIENT_ID,
    });
    const token = identity.signIn({ aud: CLIENT_ID });
    const [header, , signature] = token.split('.');
    await refused(
      entra,
      `${header}.${b64({ aud: CLIENT_ID, iss: identity.issuer, exp: now() + 3600, oid: 'mallory' })}.${signature}`,
      /signature verification failed/,
    );
    // Signed by a key that is not the tenant's, under a kid the tenant publishes.
    const stranger = newSigningKey();
    await refused(
      entra,
      signJwt(
        { aud: CLIENT_ID, iss: identity.issuer, exp: now() + 3600, oid: 'mallory' },
        { ...stranger, kid: JSON.parse(Buffer.from(header, 'base64url').toString()).kid },
      ),
      /signature verification failed/,
    );
  });

  it('takes RS256 only: alg none, HS256 (keyed with the public key, the classic confusion) and PS256 are refused', async () => {
    const entra = verifier();
    const claims = { aud: CLIENT_ID, iss: identity.issuer, exp: now() + 3600, oid: 'mallory' };
    await refused(entra, `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, /alg|Algorithm/);
    const kid = JSON.parse(Buffer.from(identity.signIn({ aud: CLIENT_ID }).split('.')[0], 'base64url').toString())
      .kid as string;
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(claims)}`;
    const jwks = (await (await fetch(`${identity.authorityHost}/${identity.tenantId}/discovery/v2.0/keys`)).json()) as {
      keys: { n: string }[];
    };
    await refused(
      entra,
      `${input}.${createHmac('sha256', jwks.keys[0].n).update(input).digest('base64url')}`,
      /alg|Algorithm/,
    );
    // PS256 under the tenant's own key (its JWKS names no alg): a valid signature, of an algorithm Entra ID never uses.
    const key = defaultSigningKey();
    const ps = `${b64({ alg: 'PS256', typ: 'JWT', kid: key.kid })}.${b64(claims)}`;
    const pss = createSign('RSA-SHA256')
      .update(ps)
      .sign({ key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
      .toString('base64url');
    await refused(entra, `${ps}.${pss}`, /alg|Algorithm/);
  });

  it("after the tenant's keys rotate, refetches them for an unknown kid, at most once per cooldown", async () => {
    // The cooldown on a clock the test moves: Date alone is faked, and still runs on its own.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      const entra = verifier({ keysCooldownMs: 1_000 });
      const stranger = newSigningKey(); // made ahead: generating a key takes a while
      expect(await entra.verify(identity.signIn({ aud: CLIENT_ID }))).toBeDefined();
      const fetched = identity.keyFetches();
      identity.rotateKeys();
      vi.setSystemTime(Date.now() + 1_100);
      expect(await entra.verify(identity.signIn({ aud: CLIENT_ID }))).toBeDefined();
      expect(identity.keyFetches()).toBe(fetched + 1);
      // A kid nobody publishes, right after: refused, and the keys are not fetched again for it.
      await refused(
        entra,
        signJwt({ aud: CLIENT_ID, iss: identity.issuer, exp: now() + 3600, oid: 'x' }, stranger),
        /no applicable key|matching/i,
      );
      expect(identity.keyFetches()).toBe(fetched + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers 503-worthy when the authority cannot be asked, and tries again later', async () => {
    const down = verifier({ authorityHost: 'http://127.0.0.1:9' });
    await expect(down.verify(identity.signIn({ aud: CLIENT_ID }))).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(down.verify(identity.signIn({ aud: CLIENT_ID }))).rejects.toMatchObject({
      dependency: 'EntraId',
      retryAfterMs: 5000,
    });
  });
});

describe('a forged x-ms-client-principal', () => {
  const forged = Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      name_typ: 'name',
      claims: [
        { typ: 'name', val: 'admin@contoso.com' },
        { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: 'admin' },
      ],
    }),
  ).toString('base64');

  for (const [mode, entra] of [
    ['Entra ID on', () => verifier()],
    ['Entra ID off', () => undefined],
  ] as const) {
    it(`grants nothing, ${mode}`, async () => {
      const auth = authenticator(entra());
      await expect(auth.authenticate(bearer({ 'x-ms-client-principal': forged }))).rejects.toThrow(/^Access denied/);
      // Beside a function key, the caller is the function key's, not the header's.
      expect(await auth.authenticate(bearer({ 'x-ms-client-principal': forged, 'x-functions-key': 'fk' }))).toEqual({
        name: 'anonymous',
        kind: 'function_key',
      });
    });
  }

  it('a bad bearer token is refused, not passed over for the function key beside it', async () => {
    const auth = authenticator(verifier());
    await expect(
      auth.authenticate(
        bearer({ authorization: `Bearer ${identity.signIn({ aud: 'api://else' })}`, 'x-functions-key': 'fk' }),
      ),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    // Off, a JWT is not the app's to judge: the function key decides, as before.
    expect(
      await authenticator(undefined).authenticate(
        bearer({ authorization: `Bearer ${identity.signIn({ aud: 'api://else' })}`, 'x-functions-key': 'fk' }),
      ),
    ).toMatchObject({ kind: 'function_key' });
  });
});
