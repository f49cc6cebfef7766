// The Azure OpenAI images emulator (dev/emulator) against the contract (docs/azure-openai-contract.md):
// the real `openai` SDK where a client would use it, raw fetch for statuses, headers and bodies.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI, { APIConnectionError, AzureOpenAI, RateLimitError } from 'openai';
import {
  DEFAULT_SETTINGS,
  startOpenAIEmulator,
  type OpenAIEmulator,
  type ThrottleHeader,
} from '../../dev/fakes/emulator/index.js';
import { mintToken } from '../../dev/fakes/identity/tokens.js';
import { decodeImage, pixelAt } from '../support/images.js';
import { untilHolds } from '../support/until.js';

const KEY = 'emulator-key';
const API_VERSION = '2025-04-01-preview';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MODELS = ['gpt-image-2', 'gpt-image-1.5', 'gpt-image-1-mini'] as const;

let emulator: OpenAIEmulator;

beforeAll(async () => {
  emulator = await startOpenAIEmulator();
});

afterAll(async () => {
  await emulator?.close();
});

beforeEach(() => {
  emulator.configure({ ...DEFAULT_SETTINGS });
  emulator.resetStats();
});

// --- helpers --------------------------------------------------------------------------------------

/** The dated surface, as the seed and the AzureOpenAI client call it. */
function azureClient(
  deployment: string,
  options: { apiKey?: string; azureADTokenProvider?: () => Promise<string> } = {},
): AzureOpenAI {
  const auth = options.azureADTokenProvider
    ? { azureADTokenProvider: options.azureADTokenProvider }
    : { apiKey: options.apiKey ?? KEY };
  return new AzureOpenAI({ endpoint: emulator.url, apiVersion: API_VERSION, deployment, maxRetries: 0, ...auth });
}

/** The v1 surface, as the plain OpenAI client calls it (the key goes as a bearer token). */
function v1Client(apiKey = KEY): OpenAI {
  return new OpenAI({ baseURL: `${emulator.url}/openai/v1/`, apiKey, maxRetries: 0 });
}

interface ErrorBody {
  code: string;
  message: string;
  param?: string | null;
  type?: string;
  inner_error?: { code: string; revised_prompt: string; content_filter_results: Record<string, unknown> };
}

interface Usage {
  input_tokens: number;
  input_tokens_details: { image_tokens: number; text_tokens: number };
  output_tokens: number;
  total_tokens: number;
}

interface Answer {
  status: number;
  headers: Headers;
  /** Either half, by status. */
  body: {
    error: ErrorBody;
    data: Record<string, unknown>[];
    size: string;
    quality: string;
    background: string;
    output_format: string;
    usage: Usage;
  } & Record<string, unknown>;
}

const dated = (deployment: string, apiVersion: string | null = API_VERSION) =>
  `/openai/deployments/${deployment}/images/generations${apiVersion === null ? '' : `?api-version=${apiVersion}`}`;
const V1 = '/openai/v1/images/generations';

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = { 'api-key': KEY },
): Promise<Answer> {
  const res = await fetch(emulator.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

/** A generation on the dated route of `deployment`. */
const generate = (deployment: string, body: Record<string, unknown>) => post(dated(deployment), body);

function imageOf(answer: Answer, index = 0) {
  return decodeImage(Buffer.from(answer.body.data[index].b64_json as string, 'base64'));
}

function expectRefused(answer: Answer, param: string, message?: RegExp): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(400);
  expect(answer.body.error).toMatchObject({ param, type: 'invalid_request_error' });
  expect(answer.body.error.message).toContain(`'${param}'`);
  if (message) expect(answer.body.error.message).toMatch(message);
}

// --- tests ----------------------------------------------------------------------------------------

describe('deployments', () => {
  it('runs the three current models by default', async () => {
    expect(emulator.settings.deployments).toEqual({
      'gpt-image-2': 'gpt-image-2',
      'gpt-image-1.5': 'gpt-image-1.5',
      'gpt-image-1-mini': 'gpt-image-1-mini',
    });
    for (const model of MODELS) expect((await generate(model, { prompt: 'a lighthouse' })).status, model).toBe(200);
  });

  it('refuses to deploy a retired model, naming it and its retirement date', async () => {
    expect(() => emulator.configure({ deployments: { old: 'dall-e-3' } })).toThrow(RangeError);
    expect(() => emulator.configure({ deployments: { old: 'dall-e-3' } })).toThrow(
      /dall-e-3 was retired on 2026-03-04/,
    );
    expect(() => emulator.configure({ deployments: { img: 'gpt-image-1' } })).toThrow(
      /gpt-image-1 was retired on 2026-10-23/,
    );
    await expect(startOpenAIEmulator({ deployments: { img: 'gpt-image-1' } })).rejects.toThrow(RangeError);
    expect(() => emulator.configure({ deployments: { x: 'dall-e-2' } })).toThrow(/unknown model dall-e-2/);
    // A refused configure changes nothing.
    expect(Object.keys(emulator.settings.deployments)).toEqual([...MODELS]);
  });

  it('serves the deployments it is configured with, under their own names', async () => {
    emulator.configure({ deployments: { 'my-images': 'gpt-image-1-mini' } });
    expect((await generate('my-images', { prompt: 'x' })).status).toBe(200);
    const gone = await generate('gpt-image-2', { prompt: 'x' });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('DeploymentNotFound');
    expect(gone.body.error.message).toMatch(/^The API deployment for this resource does not exist/);
  });
});

describe('gpt-image-2 sizes', () => {
  const cases: [size: string, refusal?: RegExp][] = [
    ['1024x1040'],
    ['1024x1032', /multiples of 16/],
    ['1024x1039', /multiples of 16/],
    ['3840x1280'],
    ['1280x3840'],
    ['3856x1296', /long edge must be at most 3840/],
    ['3072x1024'],
    ['3088x1024', /aspect ratio must be at most 3:1/],
    ['1024x640'], // 655,360 pixels, the least
    ['1024x624', /at least 655360 pixels/],
    ['3840x2160'], // 8,294,400 pixels, the most
    ['3840x2176', /at most 8294400 pixels/],
    ['1024', /WIDTHxHEIGHT/],
    ['01024x1024', /WIDTHxHEIGHT/],
  ];
  for (const [size, refusal] of cases) {
    it(`${refusal ? 'refuses' : 'makes'} ${size}`, async () => {
      const answer = await generate('gpt-image-2', { prompt: 'a city at night', size, quality: 'low' });
      if (refusal) return expectRefused(answer, 'size', refusal);
      expect(answer.status).toBe(200);
      const [width, height] = size.split('x').map(Number);
      expect(answer.body.size).toBe(size);
      expect(imageOf(answer)).toMatchObject({ format: 'png', width, height });
    });
  }

  it('makes a 3840x1280 JPEG when asked for one', async () => {
    const answer = await generate('gpt-image-2', {
      prompt: 'a panorama',
      size: '3840x1280',
      output_format: 'jpeg',
      output_compression: 70,
    });
    expect(answer.body.output_format).toBe('jpeg');
    expect(imageOf(answer)).toMatchObject({ format: 'jpeg', width: 3840, height: 1280 });
  });

  it('renders auto as 1024x1024 and says so', async () => {
    const answer = await generate('gpt-image-2', { prompt: 'x', size: 'auto' });
    expect(answer.body.size).toBe('1024x1024');
    expect(imageOf(answer)).toMatchObject({ width: 1024, height: 1024 });
  });

  it('the other models take only their three sizes and auto', async () => {
    for (const model of ['gpt-image-1.5', 'gpt-image-1-mini']) {
      for (const size of ['1024x1024', '1536x1024', '1024x1536', 'auto'])
        expect((await generate(model, { prompt: 'x', size, quality: 'low' })).status).toBe(200);
      for (const size of ['3840x1280', '1792x1024', '1024x1040'])
        expectRefused(await generate(model, { prompt: 'x', size }), 'size', /'1536x1024'/);
    }
  });
});

describe('limits of each model', () => {
  for (const model of MODELS) {
    describe(model, () => {
      const refusals: [name: string, body: Record<string, unknown>, param: string][] = [
        ['n=0', { n: 0 }, 'n'],
        ['n=11', { n: 11 }, 'n'],
        ['n=1.5', { n: 1.5 }, 'n'],
        ['quality standard', { quality: 'standard' }, 'quality'],
        ['output_format webp', { output_format: 'webp' }, 'output_format'],
        ['output_compression with png', { output_compression: 50 }, 'output_compression'],
        ['output_compression 101', { output_format: 'jpeg', output_compression: 101 }, 'output_compression'],
        ['output_compression -1', { output_format: 'jpeg', output_compression: -1 }, 'output_compression'],
        ['a transparent jpeg', { output_format: 'jpeg', background: 'transparent' }, 'background'],
        ['background white', { background: 'white' }, 'background'],
        ['response_format', { response_format: 'b64_json' }, 'response_format'],
        ['style', { style: 'vivid' }, 'style'],
        ['stream as a string', { stream: 'true' }, 'stream'],
        ['partial_images 4', { stream: true, partial_images: 4 }, 'partial_images'],
        ['partial_images -1', { stream: true, partial_images: -1 }, 'partial_images'],
        ['a user that is not a string', { user: 7 }, 'user'],
        ['a prompt of 32001 characters', { prompt: 'a'.repeat(32_001) }, 'prompt'],
        // Counted in UTF-16 units: 16,001 emoji are 32,002 units.
        ['a prompt of 16001 emoji', { prompt: '\u{1F600}'.repeat(16_001) }, 'prompt'],
        ['a blank prompt', { prompt: '  ' }, 'prompt'],
        ['no prompt', { prompt: undefined }, 'prompt'],
      ];
      for (const [name, body, param] of refusals) {
        it(`refuses ${name} with a 400 naming '${param}'`, async () => {
          const answer = await generate(model, { prompt: 'x', ...body });
          expectRefused(answer, param);
          if (param === 'response_format') expect(answer.body.error.code).toBe('unknown_parameter');
        });
      }

      it('accepts the limits', async () => {
        expect((await generate(model, { prompt: 'a'.repeat(32_000), quality: 'low' })).status).toBe(200);
        expect((await generate(model, { prompt: '\u{1F600}'.repeat(16_000), quality: 'low' })).status).toBe(200);
        const ten = await generate(model, {
          prompt: 'ten',
          n: 10,
          quality: 'low',
          output_format: 'jpeg',
          output_compression: 0,
        });
        expect(ten.body.data).toHaveLength(10);
        const transparent = await generate(model, {
          prompt: 'x',
          background: 'transparent',
          output_format: 'png',
          stream: false,
          partial_images: 2,
          user: 'u-1',
        });
        expect(transparent.status).toBe(200);
        expect(emulator.stats).toMatchObject({ generations: 4, images: 13, invalid: 0, streams: 0 });
      });
    });
  }

  it('quality auto: gpt-image-1.5 and mini take it and report what they made; gpt-image-2 refuses it', async () => {
    for (const model of ['gpt-image-1.5', 'gpt-image-1-mini'])
      expect((await generate(model, { prompt: 'x', quality: 'auto' })).body.quality).toBe('medium');
    expectRefused(await generate('gpt-image-2', { prompt: 'x', quality: 'auto' }), 'quality');
  });

  it('refuses a body that is not a JSON object', async () => {
    for (const body of ['{"prompt":', '[1]', '"text"']) {
      const answer = await post(dated('gpt-image-2'), body);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 'invalid_request_error',
        param: null,
        type: 'invalid_request_error',
      });
    }
    expect(emulator.stats).toMatchObject({ invalid: 3, generations: 0 });
  });

  it('ignores fields it does not know, as the service does', async () => {
    expect((await generate('gpt-image-1.5', { prompt: 'x', moderation: 'low', future_field: { a: 1 } })).status).toBe(
      200,
    );
  });
});

describe('answers', () => {
  it('have the gpt-image shape: b64_json with filter results, what was made, usage; no revised_prompt', async () => {
    const answer = await generate('gpt-image-1.5', { prompt: 'a red bicycle' });
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(Object.keys(answer.body).sort()).toEqual([
      'background',
      'created',
      'data',
      'output_format',
      'quality',
      'size',
      'usage',
    ]);
    expect(answer.body.created).toBeGreaterThan(1_700_000_000);
    // Nothing `auto` in what was made: the defaults are high quality, 1024x1024, opaque PNG.
    expect(answer.body).toMatchObject({
      background: 'opaque',
      output_format: 'png',
      quality: 'high',
      size: '1024x1024',
    });
    const item = answer.body.data[0];
    expect(Object.keys(item).sort()).toEqual(['b64_json', 'content_filter_results', 'prompt_filter_results']);
    expect(item.content_filter_results).toEqual({
      hate: { filtered: false, severity: 'safe' },
      self_harm: { filtered: false, severity: 'safe' },
      sexual: { filtered: false, severity: 'safe' },
      violence: { filtered: false, severity: 'safe' },
    });
    expect(item.prompt_filter_results).toMatchObject({
      profanity: { detected: false, filtered: false },
      jailbreak: { detected: false, filtered: false },
    });
    expect(imageOf(answer)).toMatchObject({ format: 'png', channels: 3, width: 1024, height: 1024 });
  });

  it('render deterministically from the prompt, and differently for each of n', async () => {
    const first = await generate('gpt-image-1-mini', { prompt: 'three moons', n: 3, quality: 'low' });
    const images = first.body.data.map((item) => item.b64_json as string);
    expect(new Set(images).size).toBe(3);
    const again = await generate('gpt-image-1-mini', { prompt: 'three moons', quality: 'low' });
    expect(again.body.data[0].b64_json).toBe(images[0]);
    const other = await generate('gpt-image-1-mini', { prompt: 'four moons', quality: 'low' });
    expect(other.body.data[0].b64_json).not.toBe(images[0]);
  });

  it('make a transparent PNG with an alpha channel: clear corners, opaque centre', async () => {
    const answer = await generate('gpt-image-2', {
      prompt: 'a sticker',
      background: 'transparent',
      size: '1536x1024',
      quality: 'low',
    });
    expect(answer.body.background).toBe('transparent');
    const image = imageOf(answer);
    expect(image.channels).toBe(4);
    expect(pixelAt(image, 0, 0)[3]).toBe(0);
    expect(pixelAt(image, 1535, 1023)[3]).toBe(0);
    expect(pixelAt(image, 768, 512)[3]).toBe(255);
  });

  it('use output_compression as the JPEG quality', async () => {
    const sizes = [];
    for (const output_compression of [100, 10]) {
      const answer = await generate('gpt-image-1.5', {
        prompt: 'harbour',
        output_format: 'jpeg',
        output_compression,
        quality: 'low',
      });
      expect(imageOf(answer)).toMatchObject({ format: 'jpeg', width: 1024, height: 1024 });
      sizes.push((answer.body.data[0].b64_json as string).length);
    }
    expect(sizes[1]).toBeLessThan(sizes[0]);
  });

  describe('usage', () => {
    // The contract's table for gpt-image-1-mini and gpt-image-1.5.
    const table: [size: string, low: number, medium: number, high: number][] = [
      ['1024x1024', 272, 1056, 4160],
      ['1024x1536', 408, 1584, 6240],
      ['1536x1024', 400, 1568, 6208],
    ];
    for (const model of ['gpt-image-1.5', 'gpt-image-1-mini']) {
      it(`${model}: output tokens from the table, per image`, async () => {
        for (const [size, ...tokens] of table) {
          for (const [i, quality] of (['low', 'medium', 'high'] as const).entries()) {
            const { body } = await generate(model, { prompt: 'tokens', size, quality });
            expect(body.usage.output_tokens, `${size} ${quality}`).toBe(tokens[i]);
          }
        }
        // auto size is 1024x1024, auto quality is medium.
        expect(
          (await generate(model, { prompt: 'tokens', size: 'auto', quality: 'auto' })).body.usage.output_tokens,
        ).toBe(1056);
        const two = await generate(model, { prompt: 'tokens', n: 2, quality: 'low' });
        expect(two.body.usage.output_tokens).toBe(2 * 272);
      });
    }

    it("gpt-image-2: output tokens by the price calculator's formula, every one of the contract's examples", async () => {
      const tokens = async (size: string, quality: string) =>
        (await generate('gpt-image-2', { prompt: 'tokens', size, quality })).body.usage.output_tokens;
      // docs/azure-openai-contract.md (2026-12-02): exact figures, not within a tolerance.
      const examples: [string, string, number][] = [
        ['1024x1024', 'low', 196],
        ['1024x1024', 'medium', 1756],
        ['1024x1024', 'high', 7024],
        ['1536x1024', 'low', 158],
        ['1536x1024', 'medium', 1372],
        ['1536x1024', 'high', 5488],
        ['1024x1536', 'low', 158],
        ['1024x1536', 'medium', 1372],
        ['1024x1536', 'high', 5488],
        ['1792x1024', 'high', 5063],
        ['2048x2048', 'high', 14272],
        ['3840x2160', 'high', 13342],
      ];
      for (const [size, quality, expected] of examples)
        expect(await tokens(size, quality), `${size} ${quality}`).toBe(expected);
      const two = await generate('gpt-image-2', { prompt: 'tokens', n: 2, size: '1536x1024', quality: 'low' });
      expect(two.body.usage.output_tokens).toBe(2 * 158);
    });

    it('counts the prompt as input tokens and adds them up', async () => {
      const { body } = await generate('gpt-image-1.5', { prompt: 'p'.repeat(400), quality: 'low' });
      expect(body.usage).toEqual({
        input_tokens: 100,
        input_tokens_details: { image_tokens: 0, text_tokens: 100 },
        output_tokens: 272,
        total_tokens: 372,
      });
    });
  });
});

describe('streaming', () => {
  it('yields partial images then the completed one through the openai SDK stream iterator', async () => {
    const stream = await azureClient('gpt-image-1.5').images.generate({
      model: 'gpt-image-1.5',
      prompt: 'a fox in the snow',
      size: '1536x1024',
      quality: 'medium',
      stream: true,
      partial_images: 2,
    });
    const events = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'image_generation.partial_image',
      'image_generation.partial_image',
      'image_generation.completed',
    ]);
    const images = events.map((e) => decodeImage(Buffer.from(e.b64_json, 'base64')));
    for (const image of images) expect(image).toMatchObject({ format: 'png', width: 1536, height: 1024 });
    // Partial images are coarser renderings: each differs from the next.
    expect(new Set(events.map((e) => e.b64_json)).size).toBe(3);
    for (const event of events) {
      expect(event).toMatchObject({ size: '1536x1024', quality: 'medium', background: 'opaque', output_format: 'png' });
      expect(event.created_at).toBeGreaterThan(1_700_000_000);
    }
    expect(
      events.slice(0, 2).map((e) => (e.type === 'image_generation.partial_image' ? e.partial_image_index : -1)),
    ).toEqual([0, 1]);
    const completed = events[2];
    if (completed.type !== 'image_generation.completed') throw new Error('expected the completed event last');
    expect(completed.usage.output_tokens).toBe(1568);
    // The finished image is the one a request that does not stream gets.
    const plain = await generate('gpt-image-1.5', {
      prompt: 'a fox in the snow',
      size: '1536x1024',
      quality: 'medium',
    });
    expect(completed.b64_json).toBe(plain.body.data[0].b64_json);
    expect(completed.usage).toEqual(plain.body.usage);
    expect(emulator.stats).toMatchObject({ generations: 2, streams: 1, images: 2 });
  });

  it('streams on the v1 surface too, in JPEG when asked', async () => {
    const stream = await v1Client().images.generate({
      model: 'gpt-image-2',
      prompt: 'a comet',
      size: '3840x1280',
      quality: 'low',
      output_format: 'jpeg',
      stream: true,
      partial_images: 1,
    });
    const events = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual(['image_generation.partial_image', 'image_generation.completed']);
    for (const event of events)
      expect(decodeImage(Buffer.from(event.b64_json, 'base64'))).toMatchObject({
        format: 'jpeg',
        width: 3840,
        height: 1280,
      });
  });

  it('sends each image of n its own partials and completion; their usage adds up to the whole', async () => {
    const res = await fetch(emulator.url + dated('gpt-image-1-mini'), {
      method: 'POST',
      headers: { 'api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'twins', n: 2, quality: 'low', stream: true, partial_images: 1 }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    const frames = text.trim().split('\n\n');
    expect(frames.map((frame) => frame.split('\n')[0])).toEqual([
      'event: image_generation.partial_image',
      'event: image_generation.completed',
      'event: image_generation.partial_image',
      'event: image_generation.completed',
    ]);
    const data = frames.map(
      (frame) =>
        JSON.parse(frame.split('\n')[1].replace(/^data: /, '')) as { type: string; b64_json: string; usage?: Usage },
    );
    expect(data.map((d) => d.type)).toEqual([
      'image_generation.partial_image',
      'image_generation.completed',
      'image_generation.partial_image',
      'image_generation.completed',
    ]);
    expect(data[1].b64_json).not.toBe(data[3].b64_json);
    const plain = await generate('gpt-image-1-mini', { prompt: 'twins', n: 2, quality: 'low' });
    const sum = (key: 'input_tokens' | 'output_tokens' | 'total_tokens') => data[1].usage![key] + data[3].usage![key];
    expect([sum('input_tokens'), sum('output_tokens'), sum('total_tokens')]).toEqual([
      plain.body.usage.input_tokens,
      plain.body.usage.output_tokens,
      plain.body.usage.total_tokens,
    ]);
  });

  it('spreads latencyMs across the events and flushes each as it is made', async () => {
    emulator.configure({ latencyMs: 800 });
    const started = performance.now();
    const res = await fetch(emulator.url + dated('gpt-image-2'), {
      method: 'POST',
      headers: { 'api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'slow', quality: 'low', stream: true, partial_images: 3 }),
    });
    const arrivals: number[] = [];
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk, { stream: true });
      while (arrivals.length < (text.match(/\n\n/g) ?? []).length) arrivals.push(performance.now() - started);
    }
    expect(arrivals).toHaveLength(4);
    // Due at 200, 400, 600 and 800 ms.
    expect(arrivals[0]).toBeGreaterThanOrEqual(190);
    expect(arrivals[0]).toBeLessThan(500);
    expect(arrivals[3]).toBeGreaterThanOrEqual(790);
    for (let i = 1; i < 4; i++) expect(arrivals[i] - arrivals[i - 1]).toBeGreaterThan(100);
  });

  it('answers only completed events with partial_images 0', async () => {
    const stream = await azureClient('gpt-image-2').images.generate({
      model: 'gpt-image-2',
      prompt: 'x',
      quality: 'low',
      stream: true,
      partial_images: 0,
    });
    const types = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual(['image_generation.completed']);
  });

  it('bills a generation the caller leaves before it is finished', async () => {
    emulator.configure({ latencyMs: 2_000 });
    const controller = new AbortController();
    const res = await fetch(emulator.url + dated('gpt-image-2'), {
      method: 'POST',
      headers: { 'api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'abandoned', quality: 'low', stream: true, partial_images: 3 }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the first partial image
    controller.abort();
    // A request that does not stream, given up on by a client that times out.
    await expect(
      fetch(emulator.url + dated('gpt-image-2'), {
        method: 'POST',
        headers: { 'api-key': KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'timed out', quality: 'low' }),
        signal: AbortSignal.timeout(100),
      }),
    ).rejects.toThrow();
    expect(emulator.stats).toMatchObject({ generations: 2, streams: 1, images: 2 });
  });
});

describe('API surfaces and auth', () => {
  const token = (audience: string, lifetime = 3600) => mintToken(audience, lifetime).token;
  const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

  it('dated: the AzureOpenAI client with an api-key, or an Entra token for cognitiveservices', async () => {
    const withKey = await azureClient('gpt-image-2').images.generate({
      model: 'gpt-image-2',
      prompt: 'key',
      quality: 'low',
    });
    expect(withKey.data).toHaveLength(1);
    const withToken = await azureClient('gpt-image-2', {
      azureADTokenProvider: async () => token('https://cognitiveservices.azure.com'),
    }).images.generate({
      model: 'gpt-image-2',
      prompt: 'token',
      quality: 'low',
    });
    expect(withToken.data).toHaveLength(1);
    expect(emulator.lastRequest?.headers.authorization).toMatch(/^Bearer /);
  });

  it('dated: refuses a wrong key, the key as a bearer token, other audiences, expired tokens', async () => {
    const wrongKey = await post(dated('gpt-image-2'), { prompt: 'x' }, { 'api-key': 'wrong' });
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.body.error).toEqual({
      code: '401',
      message: expect.stringMatching(/^Access denied due to invalid subscription key/),
    });
    expect((await post(dated('gpt-image-2'), { prompt: 'x' }, {})).status).toBe(401);
    expect((await post(dated('gpt-image-2'), { prompt: 'x' }, bearer(KEY))).status).toBe(401);
    const v1Audience = await post(dated('gpt-image-2'), { prompt: 'x' }, bearer(token('https://ai.azure.com')));
    expect(v1Audience.status).toBe(401);
    expect(v1Audience.body.error.message).toContain('audience is incorrect (https://cognitiveservices.azure.com)');
    expect(
      (await post(dated('gpt-image-2'), { prompt: 'x' }, bearer(token('https://cognitiveservices.azure.com', -60))))
        .status,
    ).toBe(401);
    await expect(
      azureClient('gpt-image-2', { apiKey: 'wrong' }).images.generate({ model: 'gpt-image-2', prompt: 'x' }),
    ).rejects.toMatchObject({ status: 401 });
    expect(emulator.stats).toMatchObject({ unauthorized: 6, generations: 0 });
  });

  it('v1: the OpenAI client (key as bearer), an api-key header, Entra tokens for either audience', async () => {
    const viaSdk = await v1Client().images.generate({ model: 'gpt-image-1-mini', prompt: 'v1', quality: 'low' });
    expect(viaSdk.data).toHaveLength(1);
    expect(emulator.lastRequest).toMatchObject({
      method: 'POST',
      path: V1,
      headers: { authorization: `Bearer ${KEY}` },
      body: { model: 'gpt-image-1-mini', prompt: 'v1' },
    });
    expect((await post(V1, { model: 'gpt-image-1-mini', prompt: 'x' })).status).toBe(200);
    expect((await post(`${V1}?api-version=preview`, { model: 'gpt-image-1-mini', prompt: 'x' })).status).toBe(200);
    for (const audience of ['https://ai.azure.com', 'https://cognitiveservices.azure.com']) {
      expect(
        (await post(V1, { model: 'gpt-image-1-mini', prompt: 'x' }, bearer(token(audience)))).status,
        audience,
      ).toBe(200);
    }
    const other = await post(
      V1,
      { model: 'gpt-image-1-mini', prompt: 'x' },
      bearer(token('https://management.azure.com')),
    );
    expect(other.status).toBe(401);
    expect(other.body.error.message).toContain('https://ai.azure.com');
    await expect(v1Client('wrong').images.generate({ model: 'gpt-image-1-mini', prompt: 'x' })).rejects.toMatchObject({
      status: 401,
    });
    emulator.configure({ acceptEntraTokens: false });
    expect(
      (await post(V1, { model: 'gpt-image-1-mini', prompt: 'x' }, bearer(token('https://ai.azure.com')))).status,
    ).toBe(401);
    expect((await post(V1, { model: 'gpt-image-1-mini', prompt: 'x' }, bearer(KEY))).status).toBe(200);
  });

  it('follows key rotation at runtime', async () => {
    emulator.configure({ apiKeys: ['rotated'] });
    expect((await post(dated('gpt-image-2'), { prompt: 'x' })).status).toBe(401);
    expect((await post(dated('gpt-image-2'), { prompt: 'x' }, { 'api-key': 'rotated' })).status).toBe(200);
  });

  it('checks auth before anything else', async () => {
    expect((await post(dated('no-such-deployment', null), 'not json', { 'api-key': 'wrong' })).status).toBe(401);
    expect((await post(V1, 'not json', { 'api-key': 'wrong' })).status).toBe(401);
  });

  it('dated: refuses api-versions older than 2025-04-01-preview for gpt-image models, as the seed sends them', async () => {
    for (const apiVersion of ['2024-02-01', '2024-08-01-preview', '2024-10-21', '2025-03-01-preview']) {
      const answer = await post(dated('gpt-image-1.5', apiVersion), { prompt: 'x' });
      expect(answer.status, apiVersion).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'OperationNotSupported', param: 'api-version' });
      expect(answer.body.error.message).toContain(apiVersion);
    }
    expect((await post(dated('gpt-image-1.5', '2025-04-01-preview'), { prompt: 'x', quality: 'low' })).status).toBe(
      200,
    );
    expect((await post(dated('gpt-image-1.5', '2025-07-01'), { prompt: 'x', quality: 'low' })).status).toBe(200);
  });

  it('answers 404 Resource not found for a missing or malformed api-version and unknown paths', async () => {
    for (const path of [
      dated('gpt-image-2', null),
      dated('gpt-image-2', 'bogus'),
      dated('gpt-image-2', '2025-04'),
      '/openai/deployments/gpt-image-2/chat/completions?api-version=2025-04-01-preview',
      '/nope',
    ]) {
      const answer = await post(path, { prompt: 'x' });
      expect(answer.status, path).toBe(404);
      expect(answer.body).toEqual({ error: { code: '404', message: 'Resource not found' } });
    }
  });

  it('v1: the deployment is the body`s model; a dated api-version is refused', async () => {
    expectRefused(await post(V1, { prompt: 'no model' }), 'model');
    expect((await post(V1, { model: 'nope', prompt: 'x' })).body.error.code).toBe('DeploymentNotFound');
    const dated = await post(`${V1}?api-version=2025-04-01-preview`, { model: 'gpt-image-2', prompt: 'x' });
    expect(dated.status).toBe(400);
    expect(dated.body.error.param).toBe('api-version');
  });

  it('puts request ids on every answer and records the last request', async () => {
    for (const answer of [
      await post(dated('gpt-image-2'), { prompt: 'ids', quality: 'low' }),
      await post(dated('nope'), {}),
      await post('/nope', {}),
    ]) {
      expect(answer.headers.get('apim-request-id')).toMatch(UUID);
      expect(answer.headers.get('x-request-id')).toMatch(UUID);
    }
    await azureClient('gpt-image-2').images.generate({
      model: 'gpt-image-2',
      prompt: 'recorded',
      user: 'user-42',
      quality: 'low',
    });
    expect(emulator.lastRequest).toMatchObject({
      method: 'POST',
      path: dated('gpt-image-2'),
      headers: { 'api-key': KEY },
      body: { prompt: 'recorded', user: 'user-42' },
    });
  });
});

describe('quota and 429s', () => {
  it('answers 429 past requestsPerMinute, per deployment, with retry-after and retry-after-ms by default', async () => {
    emulator.configure({ requestsPerMinute: 2 });
    const first = await generate('gpt-image-2', { prompt: 'q1', quality: 'low' });
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect((await generate('gpt-image-2', { prompt: 'q2', quality: 'low' })).status).toBe(200);
    const third = await generate('gpt-image-2', { prompt: 'q3' });
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('429');
    expect(third.body.error.message).toContain(`API version ${API_VERSION}`);
    const waitMs = Number(third.headers.get('retry-after-ms'));
    expect(waitMs).toBeGreaterThan(55_000);
    expect(waitMs).toBeLessThanOrEqual(60_000);
    expect(third.headers.get('retry-after')).toBe(String(Math.ceil(waitMs / 1000)));
    expect(third.headers.get('x-ms-retry-after-ms')).toBeNull();
    expect(third.headers.get('x-ratelimit-reset-requests')).toBeNull();
    // Another deployment has its own window.
    expect((await generate('gpt-image-1.5', { prompt: 'q4', quality: 'low' })).status).toBe(200);
    await expect(
      azureClient('gpt-image-2').images.generate({ model: 'gpt-image-2', prompt: 'q5' }),
    ).rejects.toBeInstanceOf(RateLimitError);
    expect(emulator.stats).toMatchObject({ rateLimited: 2, generations: 3 });
    emulator.configure({ requestsPerMinute: undefined });
    expect((await generate('gpt-image-2', { prompt: 'q6', quality: 'low' })).status).toBe(200);
  });

  const forms: [ThrottleHeader[], Record<string, RegExp | null>][] = [
    [['retry-after'], { 'retry-after': /^(59|60)$/, 'retry-after-ms': null }],
    [
      ['retry-after-date'],
      { 'retry-after': /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/, 'retry-after-ms': null },
    ],
    [['retry-after-ms'], { 'retry-after-ms': /^\d{5}$/, 'retry-after': null }],
    [['x-ms-retry-after-ms'], { 'x-ms-retry-after-ms': /^\d{5}$/, 'retry-after': null, 'retry-after-ms': null }],
    [['x-ratelimit-reset-requests'], { 'x-ratelimit-reset-requests': /^(59|60)s$/, 'retry-after': null }],
    [
      [],
      { 'retry-after': null, 'retry-after-ms': null, 'x-ms-retry-after-ms': null, 'x-ratelimit-reset-requests': null },
    ],
  ];
  for (const [throttleHeaders, expected] of forms) {
    it(`sends ${throttleHeaders.join(', ') || 'no throttle headers'} when told to`, async () => {
      emulator.configure({ requestsPerMinute: 1, throttleHeaders });
      await generate('gpt-image-2', { prompt: 'fill', quality: 'low' });
      const limited = await generate('gpt-image-2', { prompt: 'over' });
      expect(limited.status).toBe(429);
      for (const [header, pattern] of Object.entries(expected)) {
        if (pattern === null) expect(limited.headers.get(header), header).toBeNull();
        else expect(limited.headers.get(header), header).toMatch(pattern);
      }
      if (throttleHeaders[0] === 'retry-after-date') {
        const wait = Date.parse(limited.headers.get('retry-after')!) - Date.now();
        expect(wait).toBeGreaterThan(55_000);
        expect(wait).toBeLessThanOrEqual(61_000);
      }
    });
  }

  it('announces a fixed Retry-After when one is set, a day say, in every form', async () => {
    emulator.configure({
      requestsPerMinute: 1,
      retryAfterSeconds: 86_400,
      throttleHeaders: ['retry-after', 'retry-after-ms', 'x-ms-retry-after-ms', 'x-ratelimit-reset-requests'],
    });
    await generate('gpt-image-2', { prompt: 'fill', quality: 'low' });
    const limited = await generate('gpt-image-2', { prompt: 'over' });
    expect(limited.headers.get('retry-after')).toBe('86400');
    expect(limited.headers.get('retry-after-ms')).toBe('86400000');
    expect(limited.headers.get('x-ms-retry-after-ms')).toBe('86400000');
    expect(limited.headers.get('x-ratelimit-reset-requests')).toBe('86400s');
    expect(limited.body.error.message).toContain('retry after 86400 seconds');
    emulator.configure({ throttleHeaders: ['retry-after-date'] });
    const dated = await generate('gpt-image-2', { prompt: 'over' });
    expect(Date.parse(dated.headers.get('retry-after')!) - Date.now()).toBeGreaterThan(86_399_000);
  });

  it('refuses two forms of Retry-After at once, and unknown forms', () => {
    expect(() => emulator.configure({ throttleHeaders: ['retry-after', 'retry-after-date'] })).toThrow(/pick one/);
    expect(() => emulator.configure({ throttleHeaders: ['retry-after-seconds' as ThrottleHeader] })).toThrow(
      /unknown retry-after-seconds/,
    );
  });
});

describe('faults', () => {
  it('injects failures at failureRate, unbilled; a 429 among them carries the throttle headers', async () => {
    emulator.configure({ failureRate: 1 });
    for (let i = 0; i < 4; i++) {
      const answer = await generate('gpt-image-2', { prompt: `f${i}` });
      expect([500, 503]).toContain(answer.status);
      expect(answer.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
    emulator.configure({ failureStatuses: [429] });
    const limited = await generate('gpt-image-2', { prompt: 'f' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.headers.get('retry-after-ms')).toBe('1000');
    expect(emulator.stats).toMatchObject({ failed: 5, rateLimited: 0, generations: 0 });
    expect(() => emulator.configure({ failureStatuses: [200] })).toThrow(RangeError);
  });

  it('waits latencyMs before answering', async () => {
    emulator.configure({ latencyMs: 200 });
    const started = performance.now();
    expect((await generate('gpt-image-2', { prompt: 'slow', quality: 'low' })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
  });

  it('refuses a blocked word with content_policy_violation and inner_error, at once and unbilled', async () => {
    emulator.configure({ latencyMs: 5_000 });
    const answer = await generate('gpt-image-2', { prompt: 'A FORBIDDEN-EXAMPLE scene' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'content_policy_violation', type: 'invalid_request_error' });
    expect(answer.body.error.message).toMatch(/safety system/);
    const inner = answer.body.error.inner_error!;
    expect(inner.code).toBe('ResponsibleAIPolicyViolation');
    expect(inner.revised_prompt).toBe('A FORBIDDEN-EXAMPLE scene');
    expect(inner.content_filter_results.violence).toEqual({ filtered: true, severity: 'high' });
    expect(inner.content_filter_results.hate).toEqual({ filtered: false, severity: 'safe' });
    expect(emulator.stats).toMatchObject({ filtered: 1, generations: 0 });
    emulator.configure({ latencyMs: 0, blockedWords: ['dragon'] });
    expect((await generate('gpt-image-2', { prompt: 'A FORBIDDEN-EXAMPLE scene', quality: 'low' })).status).toBe(200);
    expect((await generate('gpt-image-2', { prompt: 'a Dragon' })).body.error.code).toBe('content_policy_violation');
  });

  it('stops accepting connections and comes back on the same port', async () => {
    const { url, port } = emulator;
    emulator.configure({ latencyMs: 5_000 });
    const inFlight = generate('gpt-image-2', { prompt: 'cut off' });
    // Stopped once the service has started on it (billed), waiting out its latency.
    await untilHolds(() => emulator.stats.generations === 1);
    await emulator.stop();
    try {
      expect(emulator.listening).toBe(false);
      await expect(inFlight).rejects.toThrow();
      const refused = await fetch(url + dated('gpt-image-2'), { method: 'POST', body: '{}' }).catch(
        (error: Error) => error,
      );
      expect((refused as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
      await expect(
        azureClient('gpt-image-2').images.generate({ model: 'gpt-image-2', prompt: 'x' }),
      ).rejects.toBeInstanceOf(APIConnectionError);
    } finally {
      await emulator.start();
    }
    emulator.configure({ latencyMs: 0 });
    expect([emulator.url, emulator.port, emulator.listening]).toEqual([url, port, true]);
    expect((await generate('gpt-image-2', { prompt: 'back', quality: 'low' })).status).toBe(200);
    // The request cut off had been billed: the service had started on it.
    expect(emulator.stats.generations).toBe(2);
  });

  it('weighs like the real service with realisticSize', async () => {
    emulator.configure({ realisticSize: true });
    const started = performance.now();
    const answer = await generate('gpt-image-1.5', { prompt: 'a realistic harbour at dawn' });
    expect(performance.now() - started).toBeLessThan(2_000);
    const bytes = Buffer.from(answer.body.data[0].b64_json as string, 'base64');
    expect(bytes.length).toBeGreaterThan(1.2e6);
    expect(bytes.length).toBeLessThan(1.8e6);
    expect(decodeImage(bytes)).toMatchObject({ width: 1024, height: 1024 });
  });

  it('closes cleanly, even with a request waiting out its latency', async () => {
    const other = await startOpenAIEmulator({ latencyMs: 5_000 });
    const pending = fetch(`${other.url}${dated('gpt-image-2')}`, {
      method: 'POST',
      headers: { 'api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'never answered' }),
    });
    await untilHolds(() => other.stats.generations === 1);
    const started = performance.now();
    await other.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
    await expect(other.start()).rejects.toThrow(/closed/);
  });
});

describe('configure', () => {
  it('refuses settings it does not know, such as those of the retired url answers', () => {
    expect(() => emulator.configure({ urlTtlSeconds: 60 } as never)).toThrow(/Unknown setting urlTtlSeconds/);
    expect(() => emulator.configure({ port: 1 } as never)).toThrow(/only at start/);
  });

  it('keeps the defaults out of reach of callers that mutate what they were given', () => {
    expect(() => DEFAULT_SETTINGS.apiKeys.push('sneaky')).toThrow(TypeError);
    expect(() => ((DEFAULT_SETTINGS.deployments as Record<string, string>).x = 'gpt-image-2')).toThrow(TypeError);
  });
});

describe('stats', () => {
  it('count each kind of answer, and resetStats zeroes them', async () => {
    await generate('gpt-image-2', { prompt: 'ok', quality: 'low' });
    await generate('gpt-image-1.5', { prompt: 'ok', n: 2, quality: 'low' });
    await generate('gpt-image-2', { prompt: 'x', n: 99 });
    await post(dated('gpt-image-2'), { prompt: 'x' }, { 'api-key': 'wrong' });
    await post('/nope', {});
    expect(emulator.stats).toEqual({
      requests: 5,
      generations: 2,
      generationsByDeployment: { 'gpt-image-2': 1, 'gpt-image-1.5': 1 },
      images: 3,
      streams: 0,
      rateLimited: 0,
      failed: 0,
      unauthorized: 1,
      filtered: 0,
      invalid: 1,
    });
    emulator.resetStats();
    expect(emulator.stats).toMatchObject({
      requests: 0,
      generations: 0,
      generationsByDeployment: {},
      images: 0,
      invalid: 0,
      unauthorized: 0,
    });
  });
});
