// The ways Azure OpenAI lets a caller in: an `api-key` header, or an Entra ID bearer token. The
// v1 surface also takes the key as `Authorization: Bearer <key>` (the plain OpenAI client sends
// that) and tokens for https://ai.azure.com, the scope Learn's v1 examples ask for. Tokens are only
// decoded, never verified: the emulator checks that callers ask for the right audience and refresh
// expired tokens, not cryptography.

import type { IncomingHttpHeaders } from 'node:http';
import { isTokenFor } from '../identity/tokens.js';
import { EmulatorHttpError, invalidApiKey, invalidToken } from './errors.js';

export type Surface = 'dated' | 'v1';

const AUDIENCES: Record<Surface, readonly string[]> = {
  dated: ['https://cognitiveservices.azure.com'],
  v1: ['https://cognitiveservices.azure.com', 'https://ai.azure.com'],
};

export interface AuthSettings {
  apiKeys: readonly string[];
  acceptEntraTokens: boolean;
}

/** Nothing when the caller may proceed, else the 401 to answer. */
export function checkAuth(
  headers: IncomingHttpHeaders,
  settings: AuthSettings,
  surface: Surface,
): EmulatorHttpError | undefined {
  const apiKey = single(headers['api-key']);
  if (apiKey !== undefined) return settings.apiKeys.includes(apiKey) ? undefined : invalidApiKey();
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(single(headers.authorization) ?? '')?.[1];
  if (bearer === undefined) return invalidApiKey();
  if (surface === 'v1' && settings.apiKeys.includes(bearer)) return undefined;
  if (settings.acceptEntraTokens && AUDIENCES[surface].some((audience) => isTokenFor(bearer, audience)))
    return undefined;
  return invalidToken(AUDIENCES[surface]);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
