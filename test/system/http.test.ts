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
const pngSize = (bytes: Buffer) => [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];

async function readRecord(blob: string) {
  return JSON.parse((await stack.readBlob(`${blob}.json`)).toString('utf8'));
}

describe('a gpt-image-2 request', () => {
  it('answers in the Azure shape with a durable URL to the kept image and its record beside it', async () => {
    const before = Date.now();
    const { status, json, headers } = await stack.post(GENERATE, {
      prompt: 'A lighthouse at dusk',
      size: '1536x1024',
      quality: 'low',
      user: 'user-42',
    });
    expect(status).toBe(200);
    expect(headers.get('x-served-model')).toBe('gpt-image-2');
    expect(headers.get('x-served-deployment')).toBe('gpt-image-2');
    expect(json.created).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 1);
    expect(json).toMatchObject({
      size: '1536x1024',
      quality: 'low',
      output_format: 'png',
      usage: { output_tokens: expect.any(Number) },
    });
    expect(json.data).toHaveLength(1);
    const [image] = json.data;
    expect(image.revised_prompt).toBeUndefined();
    expect(image.content_filter_results.violence).toEqual({ filtered: false, severity: 'safe' });
    expect(image.prompt_filter_results.hate).toEqual({ filtered: false, severity: 'safe' });

    // The URL is ours, to the one blob, read-only, and readable without credentials.
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
    expect(pngSize(bytes)).toEqual([1536, 1024]);
    expect(Buffer.from(image.b64_json, 'base64')).toEqual(bytes);

    // Named by date, not by the caller.
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    expect(image.storage).toMatchObject({ container: stack.container, record: `${image.storage.blob}.json` });
    expect(image.storage.blob).toMatch(new RegExp(`^${today}/\\d{9}-[0-9a-f-]{36}-0\\.png$`));

    const record = await readRecord(image.storage.blob);
    expect(record).toMatchObject({
      prompt: 'A lighthouse at dusk',
      requested_model: 'gpt-image-2',
      served_model: 'gpt-image-2',
      deployment: 'gpt-image-2',
      api_version: 'v1',
      requested: { size: '1536x1024', quality: 'low', n: 1, user: 'user-42' },
      served: { size: '1536x1024', quality: 'low', n: 1, user: 'user-42' },
      output: { size: '1536x1024', quality: 'low', output_format: 'png' },
      n: 1,
      index: 0,
      created: json.created,
      user: 'user-42',
      content_type: 'image/png',
      usage: json.usage,
      content_filter_results: image.content_filter_results,
      prompt_filter_results: image.prompt_filter_results,
    });
    expect(record.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(record.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('makes any size within the rule, and reports what `auto` became', async () => {
    const wide = await stack.post(GENERATE, { prompt: 'A panorama', size: '3840x1280', quality: 'low' });
    expect(wide.status).toBe(200);
    expect(pngSize(Buffer.from(wide.json.data[0].b64_json, 'base64'))).toEqual([3840, 1280]);
    const auto = await stack.post(GENERATE, { prompt: 'Anything', size: 'auto' });
    expect(auto.status).toBe(200);
    const record = await readRecord(auto.json.data[0].storage.blob);
    expect(record.requested.size).toBe('auto');
    expect(record.output.size).toMatch(/^\d+x\d+$/);
  });
});

describe('a gpt-image-1-mini request', () => {
  it('keeps every image in its own format and passes usage through', async () => {
    const { status, json } = await stack.post(GENERATE, {
      model: 'mini',
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
      const props = await stack.blobs
        .getContainerClient(stack.container)
        .getBlobClient(image.storage.blob)
        .getProperties();
      expect(props.contentType).toBe('image/jpeg');
      const record = await readRecord(image.storage.blob);
      expect(record).toMatchObject({
        served_model: 'gpt-image-1-mini',
        deployment: 'mini',
        served: { output_format: 'jpeg', output_compression: 80 },
        n: 2,
        index: i,
        usage: json.usage,
      });
    }
  });
});

const SEED_PROMPT =
  'Un tableau numérique représentant Icare dans un style cyberpunk. L’ambiance est sombre et dramatique évoquant une tragédie mythologique revisitée dans un univers high-tech.';

describe('DALL·E 3 clients, served by the successor', () => {
  it.each(['2024-02-01', '2024-08-01-preview'])(
    'the seed request works as written on api-version %s',
    async (apiVersion) => {
      const raw = `{"prompt": "${SEED_PROMPT}", "n": 1, "size": "1024x1024"}`;
      const response = await fetch(
        `${stack.host.url}/api/openai/deployments/dall-e-3/images/generations?api-version=${apiVersion}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'api-key': 'the-callers-key' },
          body: Buffer.from(raw, 'utf8'),
        },
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('x-served-model')).toBe('gpt-image-2');
      const json = await response.json();
      // The shape DALL·E clients parse, and nothing invented: no revised_prompt, no gpt-image fields.
      expect(Object.keys(json).sort()).toEqual(['created', 'data']);
      const [image] = json.data;
      expect(image.url).toContain(`/${stack.container}/`);
      expect(image.b64_json).toBeUndefined();
      expect(image.revised_prompt).toBeUndefined();
      expect(image.content_filter_results).toBeDefined();
      expect(image.prompt_filter_results).toBeDefined();
      expect((await fetch(image.url)).status).toBe(200);

      const recordBytes = await stack.readBlob(`${image.storage.blob}.json`);
      const record = JSON.parse(recordBytes.toString('utf8'));
      expect(Buffer.from(record.prompt, 'utf8')).toEqual(Buffer.from(SEED_PROMPT, 'utf8'));
      // The UTF-8 text itself is in the blob, not an escaped copy.
      expect(recordBytes.includes(Buffer.from(SEED_PROMPT, 'utf8'))).toBe(true);
      expect(record).toMatchObject({
        requested_model: 'dall-e-3',
        served_model: 'gpt-image-2',
        deployment: 'gpt-image-2',
        requested: { n: 1, size: '1024x1024', quality: 'standard', style: 'vivid', response_format: 'url' },
        served: { n: 1, size: '1024x1024', quality: 'medium' },
      });
      expect(record.served.style).toBeUndefined();
      // What reached the service: gpt-image-2's parameters, on the v1 API.
      expect(stack.emulator.lastRequest!.path).toMatch(/^\/openai\/v1\/images\/generations/);
      expect(stack.emulator.lastRequest!.body).toMatchObject({
        model: 'gpt-image-2',
        size: '1024x1024',
        quality: 'medium',
        n: 1,
      });
      expect(stack.emulator.lastRequest!.body).not.toHaveProperty('style');
      expect(stack.emulator.lastRequest!.body).not.toHaveProperty('response_format');
    },
  );

  it('b64_json adds the bytes inline; 1792x1024 is made as asked', async () => {
    const { status, json } = await stack.post(GENERATE, {
      model: 'dall-e-3',
      prompt: 'A red kite',
      response_format: 'b64_json',
      size: '1792x1024',
      quality: 'hd',
      style: 'natural',
    });
    expect(status).toBe(200);
    const [image] = json.data;
    const inline = Buffer.from(image.b64_json, 'base64');
    expect(pngSize(inline)).toEqual([1792, 1024]);
    expect(await stack.readBlob(image.storage.blob)).toEqual(inline);
    const record = await readRecord(image.storage.blob);
    expect(record).toMatchObject({
      requested: { size: '1792x1024', quality: 'hd', style: 'natural' },
      served: { size: '1792x1024', quality: 'high' },
    });
  });

  it('gets the 400s it always got, before anything is spent', async () => {
    const before = stack.emulator.stats.requests;
    const twoImages = await stack.post('/api/openai/deployments/dall-e-3/images/generations?api-version=2024-10-21', {
      prompt: 'x',
      n: 2,
    });
    expect(twoImages.status).toBe(400);
    expect(twoImages.json.error).toMatchObject({ code: 'invalid_request_error', param: 'n' });
    const gptSize = await stack.post(GENERATE, { model: 'dall-e-3', prompt: 'x', size: '1536x1024' });
    expect(gptSize.json.error.param).toBe('size');
    expect(stack.emulator.stats.requests).toBe(before);
  });
});

describe('the official SDKs', () => {
  it('AzureOpenAI works unchanged with endpoint <app>/api, on the dated path', async () => {
    const client = new AzureOpenAI({
      endpoint: `${stack.host.url}/api`,
      apiKey: 'unused',
      apiVersion: '2024-10-21',
      deployment: 'dall-e-3',
      maxRetries: 0,
    });
    const answer = await client.images.generate({ prompt: 'A paper boat', model: 'dall-e-3' });
    const image = answer.data![0] as any;
    expect(image.url).toContain(`/${stack.container}/`);
    expect(image.content_filter_results).toBeDefined();
    expect((await fetch(image.url)).status).toBe(200);
  });

  it('OpenAI works with baseURL <app>/api/openai/v1, the deployment in model', async () => {
    const client = new OpenAI({ baseURL: `${stack.host.url}/api/openai/v1`, apiKey: 'unused', maxRetries: 0 });
    const answer = await client.images.generate({ model: 'mini', prompt: 'A cactus', quality: 'low' });
    expect(Buffer.from(answer.data![0].b64_json!, 'base64').subarray(0, 8)).toEqual(PNG_MAGIC);
    expect((answer.data![0] as any).storage.blob).toMatch(/\.png$/);
  });

  it('the Azure path needs an api-version and a known deployment', async () => {
    const noVersion = await stack.post('/api/openai/deployments/gpt-image-2/images/generations', { prompt: 'x' });
    expect(noVersion.status).toBe(400);
    expect(noVersion.json.error).toMatchObject({ code: 'invalid_request_error', param: 'api-version' });
    const unknown = await stack.post('/api/openai/deployments/nope/images/generations?api-version=2024-10-21', {
      prompt: 'x',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('DeploymentNotFound');
  });
});

describe('streaming', () => {
  it("the SDK's stream iterator gets partial images, then the final one, kept and with our url", async () => {
    const client = new OpenAI({ baseURL: `${stack.host.url}/api/openai/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.images.generate({
      model: 'gpt-image-2',
      prompt: 'A comet over a city',
      stream: true,
      partial_images: 2,
      quality: 'low',
      size: '1024x1024',
    });
    const events: any[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'image_generation.partial_image',
      'image_generation.partial_image',
      'image_generation.completed',
    ]);
    expect(events.slice(0, 2).map((e) => e.partial_image_index)).toEqual([0, 1]);
    const completed = events[2];
    const bytes = Buffer.from(completed.b64_json, 'base64');
    expect(pngSize(bytes)).toEqual([1024, 1024]);
    expect(completed.usage).toMatchObject({ output_tokens: expect.any(Number) });
    expect(await stack.readBlob(completed.storage.blob)).toEqual(bytes);
    expect((await fetch(completed.url)).status).toBe(200);
    const record = await readRecord(completed.storage.blob);
    expect(record).toMatchObject({
      prompt: 'A comet over a city',
      requested: { stream: true, partial_images: 2 },
      output: { size: '1024x1024' },
    });
  });

  it('flows as it is made: the first partial image arrives before the generation ends', async () => {
    stack.emulator.configure({ latencyMs: 1200 });
    try {
      const started = Date.now();
      const response = await fetch(`${stack.host.url}${GENERATE}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'Slowly', stream: true, partial_images: 2, quality: 'low' }),
      });
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes('image_generation.partial_image'))
        text += new TextDecoder().decode((await reader.read()).value);
      const firstPartial = Date.now() - started;
      while (!(await reader.read()).done);
      const total = Date.now() - started;
      expect(firstPartial).toBeLessThan(total - 300);
    } finally {
      stack.emulator.configure({ latencyMs: 0 });
    }
  });

  it('bad input is refused before the stream starts, as a JSON error', async () => {
    const { status, headers, json } = await stack.post(GENERATE, { prompt: 'x', stream: true, partial_images: 5 });
    expect(status).toBe(400);
    expect(headers.get('content-type')).toMatch(/application\/json/);
    expect(json.error.param).toBe('partial_images');
    const client = new OpenAI({ baseURL: `${stack.host.url}/api/openai/v1`, apiKey: 'unused', maxRetries: 0 });
    await expect(
      client.images.generate({ model: 'gpt-image-2', prompt: 'x', stream: true, size: '1000x1000' }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('bad input', () => {
  const cases: [string, unknown, string | undefined, RegExp][] = [
    ['no prompt', {}, 'prompt', /'prompt'.*required/],
    ['a blank prompt', { prompt: '   ' }, 'prompt', /'prompt'.*blank/],
    ['a prompt too long', { prompt: 'x'.repeat(32001) }, 'prompt', /'prompt'.*32000/],
    ['a size off the 16-pixel grid', { prompt: 'x', size: '1000x1000' }, 'size', /'size'.*multiples of 16/],
    ['a size past 3:1', { prompt: 'x', size: '3088x1024' }, 'size', /'size'.*aspect ratio/],
    ['quality auto on gpt-image-2', { prompt: 'x', quality: 'auto' }, 'quality', /'quality'/],
    ['style on gpt-image-2', { prompt: 'x', style: 'vivid' }, 'style', /'style'/],
    ['response_format on gpt-image-2', { prompt: 'x', response_format: 'url' }, 'response_format', /'response_format'/],
    ['webp', { prompt: 'x', model: 'mini', output_format: 'webp' }, 'output_format', /'output_format'/],
    [
      'compression with png',
      { prompt: 'x', model: 'mini', output_compression: 50 },
      'output_compression',
      /'output_compression'.*jpeg/,
    ],
    ['11 images', { prompt: 'x', model: 'mini', n: 11 }, 'n', /'n'/],
    ['n=2 on dall-e-3', { prompt: 'x', model: 'dall-e-3', n: 2 }, 'n', /'n'/],
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
    const { status, json } = await stack.post(GENERATE, body);
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

  it('a malformed escape in the path or a bad Host header is refused by the host, not a 500', async () => {
    for (const path of [
      '/api/images/jobs/%zz',
      '/api/openai/deployments/%E0%A4%A/images/generations?api-version=2024-10-21',
    ]) {
      const response = await fetch(`${stack.host.url}${path}`, {
        method: path.includes('generations') ? 'POST' : 'GET',
        body: path.includes('generations') ? '{}' : undefined,
      });
      expect(response.status).toBe(404);
    }
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${stack.host.url}/api/health`, { headers: { host: 'bad host:x' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject).end();
    });
    expect(status).toBe(400);
  });
});

describe('what the service says', () => {
  it('a prompt the content filter rejects is 400 with its inner_error, and nothing is stored', async () => {
    const blobsBefore = await stack.blobNames();
    const { status, json } = await stack.post(GENERATE, { prompt: 'a forbidden-example scene' });
    expect(status).toBe(400);
    expect(json.error.code).toBe('content_policy_violation');
    expect(json.error.inner_error.code).toBe('ResponsibleAIPolicyViolation');
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

  it('a service slower than the timeout is 504, and is not sent again', async () => {
    stack.emulator.configure({ latencyMs: 2_500 });
    try {
      const before = stack.emulator.stats.requests;
      const { status, json } = await stack.post(GENERATE, { prompt: 'x' });
      expect(status).toBe(504);
      expect(json.error.code).toBe('UpstreamTimeout');
      expect(stack.emulator.stats.requests - before).toBe(1);
    } finally {
      stack.emulator.configure({ latencyMs: 0 });
    }
  });
});

describe('the app', () => {
  it('answers health anonymously, and the deployments’ lifecycle in the detail', async () => {
    const response = await fetch(`${stack.host.url}/api/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'healthy' });
    const detail = await stack.get('/api/health/detail');
    expect(detail.json.deployments).toContainEqual({
      deployment: 'mini',
      model: 'gpt-image-1-mini',
      version: '2025-10-06',
      stage: 'ga',
      retires: '2027-04-07',
      days_left: expect.any(Number),
    });
  });

  it('never shows the key in an answer, a log line or a blob', async () => {
    expect(stack.answers.length).toBeGreaterThan(20);
    for (const answer of stack.answers) expect(answer).not.toContain(API_KEY);
    expect(stack.host.output()).toContain('Generated');
    expect(stack.host.output()).not.toContain(API_KEY);
    for (const name of await stack.blobNames()) expect((await stack.readBlob(name)).includes(API_KEY)).toBe(false);
  });
});
