// The two ways Azure OpenAI lets a caller in: an `api-key` header, or an Entra ID bearer token
// for https://cognitiveservices.azure.com. Tokens are only decoded, never verified: the emulator
// checks that callers ask for the right audience and refresh expired tokens, not cryptography.

import type { IncomingHttpHeaders } from 'node:http';
import { isTokenFor } from '../identity/tokens.js';
import { EmulatorHttpError, invalidApiKey, invalidToken } from './errors.js';

export const COGNITIVE_SERVICES_AUDIENCE = 'https://cognitiveservices.azure.com';

export interface AuthSettings {
  apiKeys: readonly string[];
  acceptBearer: boolean;
}

/**
 * Returns nothing when the caller may proceed, else the 401 to answer. On the v1 API the
 * OpenAI SDK sends the key as `Authorization: Bearer <key>`, which Azure accepts there.
 */
export function checkAuth(headers: IncomingHttpHeaders, settings: AuthSettings, v1: boolean): EmulatorHttpError | undefined {
  const apiKey = single(headers['api-key']);
  if (apiKey !== undefined) return settings.apiKeys.includes(apiKey) ? undefined : invalidApiKey();
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(single(headers.authorization) ?? '')?.[1];
  if (bearer === undefined) return invalidApiKey();
  if (v1 && settings.apiKeys.includes(bearer)) return undefined;
  if (settings.acceptBearer && isCognitiveServicesToken(bearer)) return undefined;
  return invalidToken();
}

/** A JWT for the Cognitive Services audience that has not expired. */
export function isCognitiveServicesToken(token: string, nowMs = Date.now()): boolean {
  return isTokenFor(token, COGNITIVE_SERVICES_AUDIENCE, nowMs);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
