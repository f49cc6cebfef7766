// The two ways Azure OpenAI lets a caller in: an `api-key` header, or an Entra ID bearer token
// for https://cognitiveservices.azure.com. Tokens are only decoded, never verified: the emulator
// checks that callers ask for the right audience and refresh expired tokens, not cryptography.

import type { IncomingHttpHeaders } from 'node:http';
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

/** A JWT whose payload names the Cognitive Services audience and has not expired. */
export function isCognitiveServicesToken(token: string, nowMs = Date.now()): boolean {
  const payload = decodeJwtPayload(token);
  if (!payload) return false;
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const audienceOk = audiences.some((aud) => typeof aud === 'string' && aud.replace(/\/+$/, '') === COGNITIVE_SERVICES_AUDIENCE);
  const nowSeconds = nowMs / 1000;
  const expOk = typeof payload.exp === 'number' && payload.exp > nowSeconds;
  const nbfOk = payload.nbf === undefined || (typeof payload.nbf === 'number' && payload.nbf <= nowSeconds + 300);
  return audienceOk && expOk && nbfOk;
}

function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part))) return undefined;
  const header = decodeJsonPart(parts[0]);
  const payload = decodeJsonPart(parts[1]);
  return header && payload ? payload : undefined;
}

function decodeJsonPart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** An unsigned-but-well-formed token for tests and local runs (the emulator never checks signatures). */
export function makeTestToken(claims: { aud?: string; expiresInSeconds?: number } = {}): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = encode({ alg: 'RS256', typ: 'JWT' });
  const payload = encode({ aud: claims.aud ?? COGNITIVE_SERVICES_AUDIENCE, iat: now, nbf: now, exp: now + (claims.expiresInSeconds ?? 3600) });
  return `${header}.${payload}.${Buffer.from('emulator-signature').toString('base64url')}`;
}
