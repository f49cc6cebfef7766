import { ANONYMOUS, isCallerKey, type Caller } from '../core/caller.js';
import { withDeadline } from '../platform/deadline.js';
import { DependencyUnavailableError, UnauthorizedError } from '../core/errors.js';
import type { EntraTokenVerifier } from './entra.js';
import { sha256 } from '../core/json.js';
import { TtlCache } from '../platform/ttlCache.js';

// Who is calling, before any work: the generation and estimate routes are anonymous to the host and
// authenticated here, in this order:
//   1. a caller key, as `api-key` (what AzureOpenAI sends) or `Authorization: Bearer` (what OpenAI sends);
//   2. an Entra ID access token as `Authorization: Bearer`, where ENTRA_TENANT_ID is set, verified here
//      (entra.ts). x-ms-client-principal is never read: on Flex Consumption no platform authentication
//      strips a forged one, so it would name whoever a caller wished;
//   3. the function key (x-functions-key or ?code=), which the host no longer checks on these routes:
//      the app asks its own host, on a function-key route, whether the host would take it.

/** What authentication reads of a request. */
export interface Credentials {
  header(name: string): string | undefined;
  query(name: string): string | undefined;
}

export interface AuthOptions {
  /** The caller a key names (CallerKeyStore); absent when CALLER_KEYS_ENABLED is off. */
  callerKeys?: { find(key: string): Promise<Caller | undefined> };
  /** Verifies Entra ID access tokens; absent when ENTRA_TENANT_ID is not set. */
  entra?: Pick<EntraTokenVerifier, 'verify'>;
  /** Whether the host takes a function key (HostKeyCheck). */
  hostKeys: { accepts(functionKey: string | undefined): Promise<boolean> };
}

export class Authenticator {
  constructor(private readonly options: AuthOptions) {}

  async authenticate(request: Credentials): Promise<Caller> {
    const presented = this.options.callerKeys && callerKeyOf(request);
    if (presented !== undefined) {
      const caller = await this.options.callerKeys!.find(presented);
      if (!caller) throw new UnauthorizedError('The caller key is not valid: unknown or revoked.');
      return caller;
    }
    const token = this.options.entra && bearerOf(request);
    if (token !== undefined && isJwt(token)) return principalCaller(await this.options.entra!.verify(token));
    const functionKey = request.header('x-functions-key') ?? request.query('code');
    if (await this.options.hostKeys.accepts(functionKey)) return ANONYMOUS;
    throw new UnauthorizedError(
      functionKey === undefined
        ? 'Access denied: send a caller key (api-key header, or Authorization: Bearer) or a function key (x-functions-key).'
        : 'Access denied: the function key is not valid.',
    );
  }
}

/** A caller key where the request carries one; other api-key or Bearer values are not ours to judge. */
function callerKeyOf(request: Credentials): string | undefined {
  const apiKey = request.header('api-key')?.trim();
  if (apiKey !== undefined && isCallerKey(apiKey)) return apiKey;
  const bearer = bearerOf(request);
  return bearer !== undefined && isCallerKey(bearer) ? bearer : undefined;
}

const bearerOf = (request: Credentials) => /^Bearer\s+(\S+)\s*$/i.exec(request.header('authorization') ?? '')?.[1];
const isJwt = (token: string) => /^[\w-]+\.[\w-]*\.[\w-]*$/.test(token);

/**
 * A verified token's principal. Its object id (`oid`) names it, in records and the ledger: it is the
 * same for a user or a workload for good, where preferred_username can be changed and Microsoft warns
 * against deciding anything on it.
 */
function principalCaller(claims: Record<string, unknown>): Caller {
  if (typeof claims.oid !== 'string' || claims.oid === '')
    throw new UnauthorizedError('The bearer token names no principal (oid).', 'authorization');
  // The prefix keeps principals apart from caller keys' names, which hold no ':'.
  return { name: `entra:${claims.oid}`, kind: 'principal' };
}

/**
 * Asks the app's own host whether it takes a function key: a GET of a function-key route (204)
 * with the key, at WEBSITE_HOSTNAME (the app's own host name in Azure; the local host and Core
 * Tools set it too). Answers are cached by the key's SHA-256 for at most a minute.
 */
export class HostKeyCheck {
  private readonly cache: TtlCache<boolean>;

  constructor(
    /** The host's base URL; undefined where the platform did not say. */
    private readonly hostUrl: string | undefined,
    ttlMs: number,
    private readonly timeoutMs = 5_000,
  ) {
    this.cache = new TtlCache(ttlMs);
  }

  accepts(functionKey: string | undefined): Promise<boolean> {
    return this.cache.get(sha256(functionKey ?? ''), () => this.ask(functionKey));
  }

  private async ask(functionKey: string | undefined): Promise<boolean> {
    const unavailable = (why: string, cause?: unknown) =>
      new DependencyUnavailableError('FunctionsHost', `The function key cannot be checked: ${why}.`, 5_000, { cause });
    if (this.hostUrl === undefined) throw unavailable('WEBSITE_HOSTNAME is not set');
    let answer: Response;
    try {
      const headers: Record<string, string> = functionKey === undefined ? {} : { 'x-functions-key': functionKey };
      answer = await withDeadline(this.timeoutMs, async (signal) => {
        const response = await fetch(`${this.hostUrl}${AUTH_CHECK_PATH}`, { headers, signal, redirect: 'manual' });
        await response.body?.cancel();
        return response;
      });
    } catch (err) {
      throw unavailable('the host did not answer', err);
    }
    if (answer.status === 401 || answer.status === 403) return false;
    if (answer.ok) return true;
    throw unavailable(`the host answered ${answer.status}`);
  }
}

/** The function-key route the host answers with 204 (functions/auth.ts). */
export const AUTH_CHECK_ROUTE = 'auth/check';
const AUTH_CHECK_PATH = `/api/${AUTH_CHECK_ROUTE}`;

/** The app's own base URL from WEBSITE_HOSTNAME: plain HTTP for a local host, HTTPS in Azure. */
export function hostUrlOf(websiteHostname: string | undefined): string | undefined {
  if (!websiteHostname) return undefined;
  const local = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i.test(websiteHostname);
  return `${local ? 'http' : 'https'}://${websiteHostname}`;
}
