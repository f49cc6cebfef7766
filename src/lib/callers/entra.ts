import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { withDeadline } from '../platform/deadline.js';
import { DependencyUnavailableError, UnauthorizedError } from '../core/errors.js';
import { isJsonObject } from '../core/json.js';

// Entra ID access tokens, verified by the app itself: Flex Consumption has no App Service
// authentication to vouch for a caller (and nothing strips a forged x-ms-client-principal), so a
// signed-in user is only ever who a token signed with the tenant's keys says.

export interface EntraOptions {
  tenantId: string;
  /** What a token must be for: the app registration's client ID and/or its App ID URI. */
  audiences: string[];
  /** https://login.microsoftonline.com in the public cloud; the identity stand-in offline. */
  authorityHost: string;
  /** Lenience on exp and nbf, for clocks apart. */
  clockToleranceSeconds?: number;
  /** The shortest time between two fetches of the keys: an unknown kid refetches them at most this often. */
  keysCooldownMs?: number;
  timeoutMs?: number;
}

/** Failures that say the token is bad, not that Entra ID could not be asked. */
const REFUSALS = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
];

interface Tenant {
  /** v2.0 tokens' issuer and v1.0 tokens' (sts.windows.net): an app registration issues either. */
  issuers: string[];
  keys: ReturnType<typeof createRemoteJWKSet>;
}

export class EntraTokenVerifier {
  private tenant?: Promise<Tenant>;

  constructor(private readonly options: EntraOptions) {}

  /** The token's claims when it is a valid access token for this app; an UnauthorizedError naming why not. */
  async verify(token: string): Promise<JWTPayload> {
    const tenant = await this.discover();
    try {
      const { payload } = await jwtVerify(token, tenant.keys, {
        issuer: tenant.issuers,
        audience: this.options.audiences,
        algorithms: ['RS256'],
        clockTolerance: this.options.clockToleranceSeconds ?? 60,
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (err) {
      if (REFUSALS.some((refusal) => err instanceof refusal))
        throw new UnauthorizedError(`The bearer token is not valid: ${(err as Error).message}.`, 'authorization');
      throw new DependencyUnavailableError('EntraId', "Entra ID's signing keys cannot be read.", 5_000, { cause: err });
    }
  }

  /** The tenant's OpenID configuration (v2.0 and v1.0): fetched once, again only after a failure. */
  private discover(): Promise<Tenant> {
    this.tenant ??= this.fetchTenant().catch((err: unknown) => {
      this.tenant = undefined;
      throw err;
    });
    return this.tenant;
  }

  private async fetchTenant(): Promise<Tenant> {
    const base = `${this.options.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(this.options.tenantId)}`;
    const [v2, v1] = await Promise.all([
      this.configuration(`${base}/v2.0/.well-known/openid-configuration`),
      this.configuration(`${base}/.well-known/openid-configuration`),
    ]);
    const keys = createRemoteJWKSet(new URL(v2.jwks_uri), {
      timeoutDuration: this.options.timeoutMs ?? 5_000,
      cooldownDuration: this.options.keysCooldownMs ?? 30_000,
    });
    return { issuers: [v2.issuer, v1.issuer], keys };
  }

  private async configuration(url: string): Promise<{ issuer: string; jwks_uri: string }> {
    const unavailable = (why: string, cause?: unknown) =>
      new DependencyUnavailableError('EntraId', `Entra ID's OpenID configuration cannot be read: ${why}.`, 5_000, {
        cause,
      });
    let body: unknown;
    try {
      body = await withDeadline(this.options.timeoutMs ?? 5_000, async (signal) => {
        const response = await fetch(url, { signal, redirect: 'error' });
        if (!response.ok) throw unavailable(`${url} answered ${response.status}`);
        return response.json() as Promise<unknown>;
      });
    } catch (err) {
      throw err instanceof DependencyUnavailableError ? err : unavailable(`${url} did not answer`, err);
    }
    if (!isJsonObject(body) || typeof body.issuer !== 'string' || typeof body.jwks_uri !== 'string')
      throw unavailable(`${url} names no issuer or jwks_uri`);
    return { issuer: body.issuer, jwks_uri: body.jwks_uri };
  }
}
