// The Azure OpenAI image generation emulator (dev/emulator) against the official contract:
// the real `openai` SDK for happy paths, raw fetch for statuses, headers and bodies.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI, { AzureOpenAI } from 'openai';
import jpeg from 'jpeg-js';
import {
  DEFAULT_SETTINGS,
  clearRenderCache,
  crc32,
  optionsFromEnv,
  renderImage,
  startOpenAIEmulator,
  type OpenAIEmulator,
} from '../../dev/emulator/index.js';
import { mintToken } from '../../dev/identity/tokens.js';

const KEY = 'emulator-key';
const GA_VERSION = '2024-10-21';
const GPT_IMAGE_VERSION = '2025-04-01-preview';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EXAMPLE = JSON.parse(readFileSync(join(__dirname, '..', '..', 'dev', 'emulator', 'example-image_generation.json'), 'utf8')) as {
  responses: { 200: { body: { data: Record<string, unknown>[] } } };
};

let emu: OpenAIEmulator;

beforeAll(async () => {
  emu = await startOpenAIEmulator({ port: 0 });
});

afterAll(async () => {
  await emu?.close();
});

beforeEach(() => {
  emu.configure({ ...DEFAULT_SETTINGS });
  emu.resetStats();
});

// --- helpers --------------------------------------------------------------------------------

function dalle(options: { apiKey?: string; apiVersion?: string } = {}): AzureOpenAI {
  return new AzureOpenAI({
    endpoint: emu.url,
    apiKey: options.apiKey ?? KEY,
    apiVersion: options.apiVersion ?? GA_VERSION,
    deployment: 'dall-e-3',
    maxRetries: 0,
  });
}

function gptImage(): AzureOpenAI {
  return new AzureOpenAI({ endpoint: emu.url, apiKey: KEY, apiVersion: GPT_IMAGE_VERSION, deployment: 'gpt-image-1', maxRetries: 0 });
}

/** The JSON answers the tests read; which half is present depends on the status they check first. */
interface AnswerBody {
  error: {
    code: string;
    message: string;
    param?: string;
    type?: string;
    inner_error: { code: string; revised_prompt: string; content_filter_results: Record<string, unknown> };
  };
  data: { url: string; b64_json: string; revised_prompt?: string }[];
  size: string;
  usage: { total_tokens: number };
}

interface Answer {
  status: number;
  headers: Headers;
  body: AnswerBody;
}

async function post(path: string, body: unknown, headers: Record<string, string> = { 'api-key': KEY }): Promise<Answer> {
  const res = await fetch(emu.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as AnswerBody };
}

/** The dated route; null leaves api-version out. */
const generations = (deployment: string, apiVersion: string | null = GA_VERSION) =>
  `/openai/deployments/${deployment}/images/generations${apiVersion === null ? '' : `?api-version=${apiVersion}`}`;

/** Reads a PNG the strict way: signature, chunk CRCs, IHDR, and IDAT inflating to exactly the scanlines. */
function readPng(bytes: Buffer): { width: number; height: number } {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('ascii', offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    expect(bytes.readUInt32BE(offset + 8 + length), `${type} CRC`).toBe(crc32(bytes.subarray(offset + 4, offset + 8), data));
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    types.push(type);
    offset += 12 + length;
  }
  expect(types[0]).toBe('IHDR');
  expect(types.at(-1)).toBe('IEND');
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) expect(raw[y * (width * 3 + 1)]).toBeLessThanOrEqual(4);
  return { width, height };
}

/** The structure of a JSON value: keys of objects, element shape of arrays, primitive types. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shapeOf(value[0])] : [];
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  return typeof value;
}

// --- tests ----------------------------------------------------------------------------------

describe('CRC32 and renderImage', () => {
  it('uses the standard CRC-32 (check value of "123456789")', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('renders decodable files of the exact size, deterministically from the prompt', () => {
    const a = renderImage({ prompt: 'a lighthouse', width: 320, height: 200, format: 'png', realistic: false });
    expect(readPng(a)).toEqual({ width: 320, height: 200 });
    expect(renderImage({ prompt: 'a lighthouse', width: 320, height: 200, format: 'png', realistic: true })).not.toEqual(a);
    // Rendered afresh (not from the cache), the bytes are the same.
    clearRenderCache();
    const again = renderImage({ prompt: 'a lighthouse', width: 320, height: 200, format: 'png', realistic: false });
    expect(again).not.toBe(a);
    expect(again.equals(a)).toBe(true);
    expect(renderImage({ prompt: 'a lighthouse!', width: 320, height: 200, format: 'png', realistic: false })).not.toEqual(a);
    const j = jpeg.decode(renderImage({ prompt: 'x', width: 64, height: 48, format: 'jpeg', realistic: false }));
    expect([j.width, j.height]).toEqual([64, 48]);
  });
});

describe('dall-e-3 happy paths (AzureOpenAI client)', () => {
  it('answers in the shape of the official example, with a url that serves the PNG', async () => {
    const prompt = 'In the style of WordArt, Microsoft Clippy wearing a cowboy hat.';
    const result = await dalle().images.generate({ model: 'dall-e-3', prompt, size: '1792x1024', style: 'natural', quality: 'standard' });
    expect(result.created).toBeGreaterThan(1_700_000_000);
    expect(result.data).toHaveLength(1);
    const item = result.data![0] as unknown as Record<string, unknown>;
    // Every field of the official example, with the same structure (plus jailbreak, which newer versions add).
    expect(shapeOf(item)).toMatchObject(shapeOf(EXAMPLE.responses[200].body.data[0]) as object);
    expect(item.revised_prompt).toBe(`A natural, detailed depiction of: ${prompt}`);
    expect(item.prompt_filter_results).toMatchObject({
      hate: { filtered: false, severity: 'safe' },
      self_harm: { filtered: false, severity: 'safe' },
      sexual: { filtered: false, severity: 'safe' },
      violence: { filtered: false, severity: 'safe' },
      profanity: { detected: false, filtered: false },
      jailbreak: { detected: false, filtered: false },
    });
    expect(Object.keys(item.content_filter_results as object).sort()).toEqual(['hate', 'self_harm', 'sexual', 'violence']);
    expect(item).not.toHaveProperty('b64_json');
    expect(item).not.toHaveProperty('usage');

    const url = new URL(item.url as string);
    expect(url.origin).toBe(emu.url);
    expect(url.pathname).toMatch(/^\/files\/[0-9a-f-]+\.png$/);
    const expiry = Date.parse(url.searchParams.get('se')!);
    expect(expiry - Date.now()).toBeGreaterThan(86_400_000 - 60_000);
    expect(url.searchParams.get('sig')).toBeTruthy();

    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(Number(download.headers.get('content-length'))).toBe(bytes.length);
    expect(readPng(bytes)).toEqual({ width: 1792, height: 1024 });
    expect(emu.stats).toMatchObject({ requests: 1, generations: 1, images: 1, downloads: 1, generationsByDeployment: { 'dall-e-3': 1 } });
  });

  it('returns b64_json that decodes to a valid PNG, and renders deterministically per prompt', async () => {
    const client = dalle();
    const generate = async (prompt: string) => {
      const result = await client.images.generate({ model: 'dall-e-3', prompt, response_format: 'b64_json', size: '1024x1792' });
      expect(result.data![0]).not.toHaveProperty('url');
      return Buffer.from(result.data![0].b64_json!, 'base64');
    };
    const first = await generate('a red bicycle');
    expect(readPng(first)).toEqual({ width: 1024, height: 1792 });
    expect((await generate('a red bicycle')).equals(first)).toBe(true);
    expect((await generate('a blue bicycle')).equals(first)).toBe(false);
  });

  it('records what the client sent', async () => {
    await dalle().images.generate({ model: 'dall-e-3', prompt: 'recorded', user: 'user-42' });
    expect(emu.lastRequest?.path).toBe(generations('dall-e-3'));
    expect(emu.lastRequest?.headers['api-key']).toBe(KEY);
    expect(emu.lastRequest?.body).toMatchObject({ prompt: 'recorded', user: 'user-42' });
  });
});

describe('gpt-image-1', () => {
  it('answers jpeg b64_json of the requested size, with usage', async () => {
    const result = await gptImage().images.generate({
      model: 'gpt-image-1',
      prompt: 'a watercolor fox',
      size: '1536x1024',
      quality: 'low',
      output_format: 'jpeg',
      output_compression: 80,
    });
    const item = result.data![0] as unknown as Record<string, unknown>;
    expect(item).not.toHaveProperty('revised_prompt');
    expect(item).not.toHaveProperty('url');
    expect(item).toHaveProperty('content_filter_results');
    expect(item).toHaveProperty('prompt_filter_results');
    const bytes = Buffer.from(item.b64_json as string, 'base64');
    expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const decoded = jpeg.decode(bytes);
    expect([decoded.width, decoded.height]).toEqual([1536, 1024]);
    expect(result.output_format).toBe('jpeg');
    expect(result.size).toBe('1536x1024');
    const usage = result.usage!;
    expect(usage.output_tokens).toBe(400);
    expect(usage.input_tokens).toBe(usage.input_tokens_details.text_tokens + usage.input_tokens_details.image_tokens);
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
  });

  it('renders size auto as 1024x1024 PNG and honours n', async () => {
    const res = await post(generations('gpt-image-1', GPT_IMAGE_VERSION), { prompt: 'three moons', n: 3 });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(3);
    const images = res.body.data.map((d) => Buffer.from(d.b64_json, 'base64'));
    for (const image of images) expect(readPng(image)).toEqual({ width: 1024, height: 1024 });
    expect(images[0].equals(images[1])).toBe(false);
    expect(res.body.size).toBe('1024x1024');
    expect(emu.stats.images).toBe(3);
  });

  it('needs api-version 2025-04-01-preview or later', async () => {
    const res = await post(generations('gpt-image-1', GA_VERSION), { prompt: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(GA_VERSION);
    expect(res.body.error.param).toBe('api-version');
  });
});

describe('auth', () => {
  it('rejects a wrong api-key with the contract 401', async () => {
    const res = await post(generations('dall-e-3'), { prompt: 'x' }, { 'api-key': 'wrong' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('401');
    expect(res.body.error.message).toMatch(/^Access denied due to invalid subscription key/);
    expect((await post(generations('dall-e-3'), { prompt: 'x' }, {})).status).toBe(401);
    await expect(dalle({ apiKey: 'wrong' }).images.generate({ model: 'dall-e-3', prompt: 'x' })).rejects.toMatchObject({ status: 401 });
    expect(emu.stats.unauthorized).toBe(3);
  });

  it('follows key rotation at runtime', async () => {
    emu.configure({ apiKeys: ['rotated'] });
    expect((await post(generations('dall-e-3'), { prompt: 'x' }, { 'api-key': KEY })).status).toBe(401);
    expect((await post(generations('dall-e-3'), { prompt: 'x' }, { 'api-key': 'rotated' })).status).toBe(200);
  });

  it('accepts an Entra token for cognitiveservices and rejects other audiences or expired tokens', async () => {
    const client = new AzureOpenAI({
      endpoint: emu.url,
      azureADTokenProvider: async () => mintToken('https://cognitiveservices.azure.com').token,
      apiVersion: GA_VERSION,
      deployment: 'dall-e-3',
      maxRetries: 0,
    });
    const ok = await client.images.generate({ model: 'dall-e-3', prompt: 'with a token', response_format: 'b64_json' });
    expect(ok.data).toHaveLength(1);
    const bearer = (token: string) => post(generations('dall-e-3'), { prompt: 'x' }, { authorization: `Bearer ${token}` });
    const wrongAudience = await bearer(mintToken('https://management.azure.com').token);
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.body.error.message).toContain('audience');
    expect((await bearer(mintToken('https://cognitiveservices.azure.com', -60).token)).status).toBe(401);
    expect((await bearer('not-a-jwt')).status).toBe(401);
    emu.configure({ acceptBearer: false });
    expect((await bearer(mintToken('https://cognitiveservices.azure.com').token)).status).toBe(401);
  });

  it('checks auth before anything else', async () => {
    expect((await post(generations('no-such-deployment', null), 'not json', { 'api-key': 'wrong' })).status).toBe(401);
    expect((await post('/openai/v1/images/generations', { prompt: 'x' }, { 'api-key': 'wrong' })).status).toBe(401);
  });
});

describe('routes', () => {
  it('answers 404 Resource not found for a missing or malformed api-version and unknown paths', async () => {
    for (const path of [generations('dall-e-3', null), generations('dall-e-3', 'bogus'), generations('dall-e-3', '2024-10'), '/openai/deployments/dall-e-3/chat/completions?api-version=2024-10-21', '/nope']) {
      const res = await post(path, { prompt: 'x' });
      expect(res.status, path).toBe(404);
      expect(res.body).toEqual({ error: { code: '404', message: 'Resource not found' } });
    }
  });

  it('answers 404 DeploymentNotFound for an unknown deployment', async () => {
    const res = await post(generations('no-such-deployment'), { prompt: 'x' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('DeploymentNotFound');
    expect(res.body.error.message).toMatch(/^The API deployment for this resource does not exist/);
  });

  it('serves the v1 API with the deployment in the body', async () => {
    const res = await post('/openai/v1/images/generations', { model: 'gpt-image-1', prompt: 'v1 route' });
    expect(res.status).toBe(200);
    expect(readPng(Buffer.from(res.body.data[0].b64_json, 'base64'))).toEqual({ width: 1024, height: 1024 });
    expect(res.body.usage.total_tokens).toBeGreaterThan(0);
    // The OpenAI client sends the key as a bearer token, which the v1 API accepts.
    const client = new OpenAI({ baseURL: `${emu.url}/openai/v1`, apiKey: KEY, maxRetries: 0 });
    const viaSdk = await client.images.generate({ model: 'dall-e-3', prompt: 'v1 sdk', response_format: 'b64_json' });
    expect(viaSdk.data![0].revised_prompt).toBe('A vivid, detailed depiction of: v1 sdk');
    expect(emu.stats.generationsByDeployment).toEqual({ 'gpt-image-1': 1, 'dall-e-3': 1 });
    expect((await post('/openai/v1/images/generations', { prompt: 'no model' })).body.error.param).toBe('model');
    expect((await post('/openai/v1/images/generations', { model: 'nope', prompt: 'x' })).body.error.code).toBe('DeploymentNotFound');
  });

  it('puts request ids and the JSON content type on every answer', async () => {
    for (const res of [await post(generations('dall-e-3'), { prompt: 'ids' }), await post(generations('nope'), {}), await post('/nope', {})]) {
      expect(res.headers.get('apim-request-id')).toMatch(UUID);
      expect(res.headers.get('x-request-id')).toMatch(UUID);
      expect(res.headers.get('content-type')).toBe('application/json');
    }
  });

  it('uses the deployments it is configured with', async () => {
    emu.configure({ deployments: { 'my-images': 'gpt-image-1-mini' } });
    expect((await post(generations('my-images', GPT_IMAGE_VERSION), { prompt: 'x' })).status).toBe(200);
    expect((await post(generations('dall-e-3'), { prompt: 'x' })).status).toBe(404);
    expect(() => emu.configure({ deployments: { bad: 'dall-e-2' } })).toThrow(/unknown model/);
  });
});

describe('per-model validation', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['n=2 on dall-e-3', 'dall-e-3', { prompt: 'x', n: 2 }, 'n'],
    ['size 1536x1024 on dall-e-3', 'dall-e-3', { prompt: 'x', size: '1536x1024' }, 'size'],
    ['quality low on dall-e-3', 'dall-e-3', { prompt: 'x', quality: 'low' }, 'quality'],
    ['output_format on dall-e-3', 'dall-e-3', { prompt: 'x', output_format: 'jpeg' }, 'output_format'],
    ['prompt over 4000 chars on dall-e-3', 'dall-e-3', { prompt: 'a'.repeat(4001) }, 'prompt'],
    ['missing prompt', 'dall-e-3', { n: 1 }, 'prompt'],
    ['blank prompt', 'dall-e-3', { prompt: '   ' }, 'prompt'],
    ['response_format on gpt-image-1', 'gpt-image-1', { prompt: 'x', response_format: 'url' }, 'response_format'],
    ['style on gpt-image-1', 'gpt-image-1', { prompt: 'x', style: 'vivid' }, 'style'],
    ['n=11 on gpt-image-1', 'gpt-image-1', { prompt: 'x', n: 11 }, 'n'],
    ['output_compression with png', 'gpt-image-1', { prompt: 'x', output_compression: 50 }, 'output_compression'],
    ['output_compression out of range', 'gpt-image-1', { prompt: 'x', output_format: 'jpeg', output_compression: 101 }, 'output_compression'],
    ['transparent jpeg', 'gpt-image-1', { prompt: 'x', output_format: 'jpeg', background: 'transparent' }, 'background'],
    ['non-string user', 'gpt-image-1', { prompt: 'x', user: 7 }, 'user'],
  ];
  for (const [name, deployment, body, param] of cases) {
    it(`rejects ${name} with a 400 naming '${param}'`, async () => {
      const res = await post(generations(deployment, GPT_IMAGE_VERSION), body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ param, type: 'invalid_request_error' });
      expect(res.body.error.message).toContain(`'${param}'`);
    });
  }

  it('accepts the limits and ignores unknown fields', async () => {
    expect((await post(generations('dall-e-3'), { prompt: 'a'.repeat(4000), quality: 'hd', style: 'vivid', future_field: true })).status).toBe(200);
    expect((await post(generations('gpt-image-1', GPT_IMAGE_VERSION), { prompt: 'b'.repeat(32000), moderation: 'low', background: 'transparent' })).status).toBe(200);
  });

  it('rejects a body that is not JSON', async () => {
    const res = await post(generations('dall-e-3'), '{"prompt":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request_error');
    expect(emu.stats.invalid).toBe(1);
  });
});

describe('content filter', () => {
  it('rejects a blocked word with content_policy_violation and inner_error', async () => {
    const res = await post(generations('dall-e-3'), { prompt: 'A FORBIDDEN-EXAMPLE scene' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'content_policy_violation', type: 'invalid_request_error' });
    expect(res.body.error.message).toMatch(/safety system/);
    const inner = res.body.error.inner_error;
    expect(inner.code).toBe('ResponsibleAIPolicyViolation');
    expect(inner.revised_prompt).toContain('A FORBIDDEN-EXAMPLE scene');
    expect(inner.content_filter_results.violence).toEqual({ filtered: true, severity: 'high' });
    expect(inner.content_filter_results.hate).toEqual({ filtered: false, severity: 'safe' });
    expect(emu.stats.filtered).toBe(1);
    emu.configure({ blockedWords: ['dragon'] });
    expect((await post(generations('dall-e-3'), { prompt: 'A FORBIDDEN-EXAMPLE scene' })).status).toBe(200);
    expect((await post(generations('dall-e-3'), { prompt: 'a Dragon' })).body.error.code).toBe('content_policy_violation');
  });
});

describe('quota, failures and latency', () => {
  it('answers 429 past requestsPerMinute, per deployment, with Retry-After headers', async () => {
    emu.configure({ requestsPerMinute: 2 });
    const first = await post(generations('dall-e-3'), { prompt: 'q1', response_format: 'b64_json' });
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect((await post(generations('dall-e-3'), { prompt: 'q2', response_format: 'b64_json' })).status).toBe(200);
    const third = await post(generations('dall-e-3'), { prompt: 'q3' });
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('429');
    expect(third.body.error.message).toContain(`API version ${GA_VERSION}`);
    const retryAfterMs = Number(third.headers.get('retry-after-ms'));
    expect(retryAfterMs).toBeGreaterThan(55_000);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(Number(third.headers.get('retry-after'))).toBe(Math.ceil(retryAfterMs / 1000));
    expect(third.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    // Another deployment has its own window.
    expect((await post(generations('gpt-image-1', GPT_IMAGE_VERSION), { prompt: 'q4' })).status).toBe(200);
    expect(emu.stats.rateLimited).toBe(1);
    // The SDK surfaces it as a RateLimitError.
    await expect(dalle().images.generate({ model: 'dall-e-3', prompt: 'q5' })).rejects.toMatchObject({ status: 429 });
    emu.configure({ requestsPerMinute: undefined });
    expect((await post(generations('dall-e-3'), { prompt: 'q6' })).status).toBe(200);
  });

  it('injects failures at failureRate', async () => {
    emu.configure({ failureRate: 1 });
    for (let i = 0; i < 4; i++) {
      const res = await post(generations('dall-e-3'), { prompt: `f${i}` });
      expect([500, 503]).toContain(res.status);
      expect(typeof res.body.error.code).toBe('string');
      expect(typeof res.body.error.message).toBe('string');
    }
    emu.configure({ failureStatuses: [503] });
    await expect(dalle().images.generate({ model: 'dall-e-3', prompt: 'f' })).rejects.toMatchObject({ status: 503 });
    expect(emu.stats).toMatchObject({ failed: 5, generations: 0 });
  });

  it('waits latencyMs before answering', async () => {
    emu.configure({ latencyMs: 150 });
    const started = performance.now();
    expect((await post(generations('dall-e-3'), { prompt: 'slow' })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });
});

describe('image files', () => {
  it('weighs like the real service with realisticSize', async () => {
    emu.configure({ realisticSize: true });
    const started = performance.now();
    const res = await post(generations('dall-e-3'), { prompt: 'a realistic harbour at dawn' });
    expect(performance.now() - started).toBeLessThan(1000);
    const bytes = Buffer.from(await (await fetch(res.body.data[0].url)).arrayBuffer());
    expect(bytes.length).toBeGreaterThan(1.2e6);
    expect(bytes.length).toBeLessThan(1.8e6);
    expect(readPng(bytes)).toEqual({ width: 1024, height: 1024 });
  });

  it('refuses expired, tampered and unknown links like Blob Storage', async () => {
    emu.configure({ urlTtlSeconds: 0.1 });
    const url = new URL((await post(generations('dall-e-3'), { prompt: 'short-lived' })).body.data[0].url);
    expect((await fetch(url)).status).toBe(200);
    const tampered = new URL(url);
    tampered.searchParams.set('sig', 'forged');
    expect((await fetch(tampered)).status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const expired = await fetch(url);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('<Code>AuthenticationFailed</Code>');
    const unknown = new URL(url);
    unknown.pathname = '/files/00000000-0000-0000-0000-000000000000.png';
    unknown.searchParams.set('se', new Date(Date.now() + 60_000).toISOString());
    const missing = await fetch(unknown);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('BlobNotFound');
  });
});

describe('lifecycle and CLI options', () => {
  it('reads EMULATOR_* variables', () => {
    expect(
      optionsFromEnv({
        EMULATOR_PORT: '9000',
        EMULATOR_API_KEY: 'k1',
        EMULATOR_DEPLOYMENTS: 'img=gpt-image-1, d3=dall-e-3',
        EMULATOR_LATENCY_MS: '25',
        EMULATOR_RPM: '6',
        EMULATOR_FAILURE_RATE: '0.1',
        EMULATOR_BLOCKED_WORDS: 'a,b',
        EMULATOR_REALISTIC: '1',
      }),
    ).toEqual({
      port: 9000,
      apiKeys: ['k1'],
      deployments: { img: 'gpt-image-1', d3: 'dall-e-3' },
      latencyMs: 25,
      requestsPerMinute: 6,
      failureRate: 0.1,
      blockedWords: ['a', 'b'],
      realisticSize: true,
    });
    expect(optionsFromEnv({})).toEqual({ port: 8090, apiKeys: ['emulator-key'] });
  });

  it('closes cleanly, even with a request waiting out its latency', async () => {
    const other = await startOpenAIEmulator({ latencyMs: 5_000 });
    const pending = fetch(`${other.url}${generations('dall-e-3')}`, {
      method: 'POST',
      headers: { 'api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'never answered' }),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await other.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
    await expect(fetch(`${other.url}/nope`)).rejects.toThrow();
  });
});
