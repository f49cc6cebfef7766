import { createHash, timingSafeEqual } from 'node:crypto';

// Small JSON and digest helpers several modules share.

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The same JSON however its keys are ordered or spaced. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isJsonObject(value)) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The ids the app gives (randomUUID): a path's id that is not one names nothing, and is never looked up. */
export const isUuid = (text: string): boolean =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text);

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Compares two hex digests in constant time; false when either is missing. */
export function sameDigest(expected: string | undefined, actual: string): boolean {
  return (
    expected !== undefined &&
    expected.length === actual.length &&
    timingSafeEqual(Buffer.from(expected), Buffer.from(actual))
  );
}
