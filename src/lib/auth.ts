import { ANONYMOUS, type Caller } from './caller.js';
import { isCallerKey } from './callerKeys.js';
import { withDeadline } from './deadline.js';
import { DependencyUnavailableError, UnauthorizedError } from './errors.js';
import { isJsonObject, sha256 } from './json.js';
import { TtlCache } from './ttlCache.js';

// Who is calling, before any work: the generation and estimate routes are anonymous to the host and
// authenticated here, in this order:
//   1. a caller key, as `api-key` (what AzureOpenAI sends) or `Authorization: Bearer` (what OpenAI sends);
//   2. App Service authentication's signed-in principal, where the platform's authentication is on
//      (it strips x-ms-client-principal from outside requests);
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
  platformAuth: boolean;
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
    const principal = this.options.platformAuth ? request.header('x-ms-client-principal') : undefined;
    if (principal !== undefined) return principalCaller(principal);
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
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.header('authorization') ?? '')?.[1];
  return bearer !== undefined && isCallerKey(bearer) ? bearer : undefined;
}

/** Claims that name a principal, best first: a user's sign-in name, then a workload's object id. */
const NAME_CLAIMS = ['preferred_username', 'name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'oid', 'http://schemas.microsoft.com/identity/claims/objectidentifier', 'appid'];

/** App Service authentication's principal: base64 JSON of `{ auth_typ, name_typ, claims: [{ typ, val }] }`. */
function principalCaller(header: string): Caller {
  let principal: unknown;
  try {
    principal = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    principal = undefined;
  }
  const claims = isJsonObject(principal) && Array.isArray(principal.claims) ? principal.claims.filter(isJsonObject) : [];
  const claim = (type: unknown) => claims.find((c) => c.typ === type && typeof c.val === 'string' && c.val !== '')?.val as string | undefined;
  const name = [(principal as { name_typ?: unknown } | undefined)?.name_typ, ...NAME_CLAIMS].map(claim).find((n) => n !== undefined);
  const provider = isJsonObject(principal) && typeof principal.auth_typ === 'string' ? principal.auth_typ : 'platform';
  if (name === undefined) throw new UnauthorizedError('The signed-in principal (x-ms-client-principal) names nobody.');
  // The provider keeps principals apart from caller keys' names, which hold no ':'.
  return { name: `${provider}:${name}`, kind: 'principal' };
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
    const unavailable = (why: string, cause?: unknown) => new DependencyUnavailableError('FunctionsHost', `The function key cannot be checked: ${why}.`, 5_000, { cause });
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
