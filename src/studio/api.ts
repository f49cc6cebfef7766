import { isCallerKey } from '../lib/core/caller.js';

// The studio's calls to its own app. The key (or Entra ID access token) the user pastes lives in
// sessionStorage (this tab only) and travels in a header, never in a URL: images and thumbnails are
// fetched with it and shown through object URLs. Where a platform's sign-in answers /.auth/me, its
// session cookie goes too; the app itself trusts only keys and tokens it verifies.

const KEY = 'image-studio-key';

export const keyStore = {
  get: (): string | undefined => sessionStorage.getItem(KEY) ?? undefined,
  set: (key: string) => sessionStorage.setItem(KEY, key),
  forget: () => sessionStorage.removeItem(KEY),
};

/** An Entra ID access token (a JWT) pasted in place of a key: the app verifies it (src/lib/callers/entra.ts). */
export const isAccessToken = (key: string): boolean => /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(key);

/** A caller key goes as api-key (as the AzureOpenAI client sends it), an access token as Bearer; anything else is the function key. */
export function authHeaders(): Record<string, string> {
  const key = keyStore.get();
  if (!key) return {};
  if (isAccessToken(key)) return { authorization: `Bearer ${key}` };
  return isCallerKey(key) ? { 'api-key': key } : { 'x-functions-key': key };
}

/** An error answer of the app, in Azure's shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
    readonly retryAfterSeconds?: number,
    readonly innerError?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export async function apiError(response: Response): Promise<ApiError> {
  const retry = Number(response.headers.get('retry-after'));
  let body: { error?: { code?: string; message?: string; param?: string; inner_error?: Record<string, unknown> } } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not JSON: the status says it all.
  }
  const error = body.error ?? {};
  return new ApiError(
    response.status,
    error.code ?? String(response.status),
    error.message ?? `The app answered ${response.status}.`,
    error.param,
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
    error.inner_error,
  );
}

/** A call with the user's credentials; an error answer throws an ApiError. */
export async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(path, {
    ...init,
    credentials: 'same-origin',
    headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) },
  });
  if (!response.ok) throw await apiError(response);
  return response;
}

export const getJson = async <T>(path: string): Promise<T> => (await call(path)).json() as Promise<T>;

export const post = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  call(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });

/** Bytes the page shows or saves: fetched with the credentials, handed out as an object URL. */
export async function objectUrl(path: string): Promise<string> {
  return URL.createObjectURL(await (await call(path)).blob());
}

/** Server-sent events from a streamed answer, as they arrive. */
export async function* events(response: Response): AsyncGenerator<{ event: string; data: Record<string, unknown> }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: ?(.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.replace(/^data: ?/, ''))
        .join('\n');
      if (data) yield { event, data: JSON.parse(data) as Record<string, unknown> };
    }
  }
}

/** App Service authentication: on (and who is signed in) where /.auth/me answers; off where it is not there. */
export async function platformSession(): Promise<{ enabled: boolean; user?: string }> {
  try {
    const response = await fetch('/.auth/me', { credentials: 'same-origin' });
    if (response.status === 404) return { enabled: false };
    if (!response.ok) return { enabled: true };
    const [identity] = (await response.json()) as { user_id?: string }[];
    return { enabled: true, ...(identity?.user_id && { user: identity.user_id }) };
  } catch {
    return { enabled: false };
  }
}

/** Saves bytes the page holds as a file. */
export function saveAs(url: string, name: string): void {
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
}
