import OpenAI, { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../support/stack.js';

// The synchronous pipeline end to end: HTTP in through the local host, the emulator, Azurite.

let stack: Stack;
const GENERATE = '/api/images/generations';

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function readRecord(blob: string) {
  return JSON.parse((await stack.readBlob(`${blob}.json`)).toString('utf8'));
}

describe('a dall-e-3 request', () => {
  it('answers in the Azure shape with a durable URL to the kept image and its record beside it', async () => {
    const before = Date.now();
    const { status, json } = await stack.post(GENERATE, { prompt: 'A lighthouse at dusk', style: 'natural', user: 'user-42' });
    expect(status).toBe(200);
    expect(json.created).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 1);
    expect(json.data).toHaveLength(1);
    const [image] = json.data;
    expect(image.revised_prompt).toEqual(expect.any(String));
    expect(image.content_filter_results.violence).toEqual({ filtered: false, severity: 'safe' });
    expect(image.prompt_filter_results.hate).toEqual({ filtered: false, severity: 'safe' });
    expect(image.b64_json).toBeUndefined();

    // The URL is ours, to the one blob, read-only, and readable without credentials.
    expect(image.url).not.toContain(stack.emulator.url);
    const url = new URL(image.url);
    expect(decodeURIComponent(url.pathname)).toBe(`/devstoreaccount1/${stack.container}/${image.storage.blob}`);
    expect(url.searchParams.get('sp')).toBe('r');
    expect(url.searchParams.get('sr')).toBe('b');
    const expires = Date.parse(url.searchParams.get('se')!);
    expect(expires - Date.now()).toBeGreaterThan(55 * 60_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(60 * 60_000 + 5_000);
    const download = await fetch(image.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(PNG_MAGIC);
    expect(bytes.readUInt32BE(16)).toBe(1024); // IHDR width

    // Named by date, not by the caller.
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    expect(image.storage).toMatchObject({ container: stack.container, record: `${image.storage.blob}.json` });
    expect(image.storage.blob).toMatch(new RegExp(`^${today}/\\d{9}-[0-9a-f-]{36}-0\\.png$`));

    const record = await readRecord(image.storage.blob);
    expect(record).toMatchObject({
      prompt: 'A lighthouse at dusk',
      revised_prompt: image.revised_prompt,
      model: 'dall-e-3',
      deployment: 'dall-e-3',
      size: '1024x1024',
      quality: 'standard',
      style: 'natural',
      n: 1,
      index: 0,
      created: json.created,
      user: 'user-42',
      content_type: 'image/png',
      content_filter_results: image.content_filter_results,
      prompt_filter_results: image.prompt_filter_results,
    });
    expect(record.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('inlines b64_json when asked, the same bytes as the kept blob', async () => {
    const { status, json } = await stack.post(GENERATE, { prompt: 'A red kite', response_format: 'b64_json', size: '1792x1024' });
    expect(status).toBe(200);
    const [image] = json.data;
    const inline = Buffer.from(image.b64_json, 'base64');
    expect(inline.subarray(0, 8)).toEqual(PNG_MAGIC);
    expect(inline.readUInt32BE(16)).toBe(1792);
    expect(await stack.readBlob(image.storage.blob)).toEqual(inline);
    expect((await readRecord(image.storage.blob)).size).toBe('1792x1024');
  });

  it('keeps the French prompt of the seed request byte for byte in the record', async () => {
    const raw =
      '{"prompt":"Un renard roux lisant « Le Petit Prince » sous un cerisier en fleurs, à l’aube — aquarelle très détaillée, cœur doré, naïveté, 🦊","n":1,"size":"1024x1024","quality":"hd","style":"vivid"}';
    const sent = Buffer.from(raw, 'utf8');
    const { status, json } = await stack.post(GENERATE, sent);
    expect(status).toBe(200);
    const recordBytes = await stack.readBlob(`${json.data[0].storage.blob}.json`);
    const promptBytes = Buffer.from(JSON.parse(raw).prompt, 'utf8');
    expect(Buffer.from(JSON.parse(recordBytes.toString('utf8')).prompt, 'utf8')).toEqual(promptBytes);
    // And the UTF-8 text itself is in the blob, not an escaped copy.
    expect(recordBytes.includes(promptBytes)).toBe(true);
    expect(JSON.parse(recordBytes.toString('utf8')).quality).toBe('hd');
  });
});

describe('a gpt-image-1 request', () => {
  it('keeps every image in its own format and passes usage through', async () => {
    const { status, json } = await stack.post(GENERATE, {
      model: 'gpt-image-1',
      prompt: 'Two teapots',
      n: 2,
      output_format: 'jpeg',
      output_compression: 80,
      quality: 'low',
    });
    expect(status).toBe(200);
    expect(json.data).toHaveLength(2);
    expect(json.usage).toMatchObject({ total_tokens: expect.any(Number) });
    const names = json.data.map((d: any) => d.storage.blob);
    expect(new Set(names).size).toBe(2);
    for (const [i, image] of json.data.entries()) {
      expect(image.storage.blob).toMatch(new RegExp(`-${i}\\.jpg$`));
      const blob = await stack.readBlob(image.storage.blob);
      expect(blob.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      expect(Buffer.from(image.b64_json, 'base64')).toEqual(blob);
      const props = await stack.blobs.getContainerClient(stack.container).getBlobClient(image.storage.blob).getProperties();
      expect(props.contentType).toBe('image/jpeg');
      const record = await readRecord(image.storage.blob);
      expect(record).toMatchObject({ model: 'gpt-image-1', output_format: 'jpeg', output_compression: 80, n: 2, index: i, usage: json.usage });
    }
  });
});

describe('the official SDKs', () => {
  it('AzureOpenAI works unchanged with endpoint <app>/api', async () => {
    const client = new AzureOpenAI({
      endpoint: `${stack.host.url}/api`,
      apiKey: 'the-function-key-goes-in-a-header',
      apiVersion: '2024-10-21',
      deployment: 'dall-e-3',
      defaultHeaders: { 'x-functions-key': 'local' },
      maxRetries: 0,
    });
    const answer = await client.images.generate({ prompt: 'A paper boat', model: 'dall-e-3' });
    const image = answer.data![0]! as any;
    expect(image.url).toContain(`/${stack.container}/`);
    expect(image.content_filter_results).toBeDefined();
    expect((await fetch(image.url!)).status).toBe(200);
  });

  it('OpenAI works with baseURL <app>/api', async () => {
    const client = new OpenAI({ baseURL: `${stack.host.url}/api`, apiKey: 'unused', maxRetries: 0 });
    const answer = await client.images.generate({ model: 'gpt-image-1', prompt: 'A cactus', quality: 'low' });
    expect(Buffer.from(answer.data![0]!.b64_json!, 'base64').subarray(0, 8)).toEqual(PNG_MAGIC);
  });

  it('the Azure path needs an api-version and a known deployment', async () => {
    const noVersion = await stack.post('/api/openai/deployments/dall-e-3/images/generations', { prompt: 'x' });
    expect(noVersion.status).toBe(400);
    expect(noVersion.json.error).toMatchObject({ code: 'invalid_request_error', param: 'api-version' });
    const unknown = await stack.post('/api/openai/deployments/nope/images/generations?api-version=2024-10-21', { prompt: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('DeploymentNotFound');
  });
});

describe('bad input', () => {
  const cases: [string, unknown, string | undefined, RegExp][] = [
    ['no prompt', {}, 'prompt', /'prompt'.*required/],
    ['a blank prompt', { prompt: '   ' }, 'prompt', /'prompt'.*blank/],
    ['a prompt too long for dall-e-3', { prompt: 'x'.repeat(4001) }, 'prompt', /'prompt'.*4000/],
    ['n=2 on dall-e-3', { prompt: 'x', n: 2 }, 'n', /'n'/],
    ['a gpt-image size on dall-e-3', { prompt: 'x', size: '1536x1024' }, 'size', /'size'/],
    ['a gpt-image quality on dall-e-3', { prompt: 'x', quality: 'high' }, 'quality', /'quality'/],
    ['style on gpt-image-1', { prompt: 'x', model: 'gpt-image-1', style: 'vivid' }, 'style', /'style'/],
    ['response_format on gpt-image-1', { prompt: 'x', model: 'gpt-image-1', response_format: 'url' }, 'response_format', /'response_format'/],
    ['webp on gpt-image-1', { prompt: 'x', model: 'gpt-image-1', output_format: 'webp' }, 'output_format', /'output_format'/],
    ['compression with png', { prompt: 'x', model: 'gpt-image-1', output_compression: 50 }, 'output_compression', /'output_compression'.*jpeg/],
    ['11 images on gpt-image-1', { prompt: 'x', model: 'gpt-image-1', n: 11 }, 'n', /'n'/],
    ['an unknown field', { prompt: 'x', seed: 7 }, 'seed', /Unknown field 'seed'/],
    ['an unknown model', { prompt: 'x', model: 'dall-e-2' }, 'model', /'model'.*dall-e-2/],
    ['n as a string', { prompt: 'x', n: '1' }, 'n', /'n'/],
    ['broken JSON', '{"prompt": "x",', undefined, /not valid JSON/],
    ['an array', '[{"prompt":"x"}]', undefined, /JSON object/],
    ['a string', '"draw a cat"', undefined, /JSON object/],
    ['an empty body', '', 'prompt', /empty/],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x70, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), undefined, /UTF-8/],
  ];

  it.each(cases)('%s: 400 naming the field, nothing spent, nothing stored', async (_name, body, param, message) => {
    const requestsBefore = stack.emulator.stats.requests;
    const blobsBefore = await stack.blobNames();
    const { status, json } = await stack.post(GENERATE, body as never);
    expect(status).toBe(400);
    expect(json.error.code).toBe('invalid_request_error');
    expect(json.error.message).toMatch(message);
    expect(json.error.param).toBe(param);
    expect(stack.emulator.stats.requests).toBe(requestsBefore);
    expect(await stack.blobNames()).toEqual(blobsBefore);
  });

  it('a body over 1 MB is 413', async () => {
    const { status, json } = await stack.post(GENERATE, JSON.stringify({ prompt: 'x'.repeat(1024 * 1024) }));
    expect(status).toBe(413);
    expect(json.error.code).toBe('request_too_large');
  });
});

describe('what the service says', () => {
  it('a prompt the content filter rejects is 400 with its inner_error, and nothing is stored', async () => {
    const blobsBefore = await stack.blobNames();
    const { status, json } = await stack.post(GENERATE, { prompt: 'a forbidden-example scene' });
    expect(status).toBe(400);
    expect(json.error.code).toBe('content_policy_violation');
    expect(json.error.inner_error.code).toBe('ResponsibleAIPolicyViolation');
    expect(json.error.inner_error.revised_prompt).toEqual(expect.any(String));
    expect(json.error.inner_error.content_filter_results.violence).toMatchObject({ filtered: true });
    expect(await stack.blobNames()).toEqual(blobsBefore);
  });

  it('a 429 is answered at once with its Retry-After', async () => {
    stack.emulator.configure({ requestsPerMinute: 1 });
    try {
      expect((await stack.post(GENERATE, { prompt: 'first' })).status).toBe(200);
      const started = Date.now();
      const limited = await stack.post(GENERATE, { prompt: 'second' });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(limited.json.error.message).toMatch(/rate limit/i);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      stack.emulator.configure({ requestsPerMinute: undefined });
    }
  });

  it('a failing service is 502 after bounded retries', async () => {
    stack.emulator.configure({ failureRate: 1, failureStatuses: [503] });
    try {
      const before = stack.emulator.stats.requests;
      const { status, json } = await stack.post(GENERATE, { prompt: 'x' });
      expect(status).toBe(502);
      expect(json.error.code).toBe('UpstreamError');
      expect(stack.emulator.stats.requests - before).toBe(2); // AZURE_OPENAI_MAX_RETRIES=1
    } finally {
      stack.emulator.configure({ failureRate: 0 });
    }
  });

  it('a service slower than the timeout is 504', async () => {
    stack.emulator.configure({ latencyMs: 4_000 });
    try {
      const { status, json } = await stack.post(GENERATE, { prompt: 'x' });
      expect(status).toBe(504);
      expect(json.error.code).toBe('UpstreamTimeout');
    } finally {
      stack.emulator.configure({ latencyMs: 0 });
    }
  });
});

describe('the app', () => {
  it('answers health anonymously', async () => {
    const response = await fetch(`${stack.host.url}/api/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'healthy' });
  });

  it('never shows the key in an answer, a log line or a blob', async () => {
    expect(stack.answers.length).toBeGreaterThan(20);
    for (const answer of stack.answers) expect(answer).not.toContain(API_KEY);
    expect(stack.host.output()).toContain('Generated');
    expect(stack.host.output()).not.toContain(API_KEY);
    for (const name of await stack.blobNames()) expect((await stack.readBlob(name)).includes(API_KEY)).toBe(false);
  });
});
