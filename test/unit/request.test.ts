import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/lib/errors.js';
import { sniffImageFormat } from '../../src/lib/imageFormat.js';
import { MODELS } from '../../src/lib/models.js';
import { decodeJsonObject, imageGenerationBody, MAX_BODY_BYTES, resolveRequest, type Deployments } from '../../src/lib/request.js';
import { retryAfterSeconds } from '../../src/lib/service.js';

const config: Deployments = {
  deployments: new Map([
    ['dall-e-3', 'dall-e-3'],
    ['images-hq', 'gpt-image-1'],
    ['mini', 'gpt-image-1-mini'],
  ]),
  defaultDeployment: 'dall-e-3',
};

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected a refusal');
}

describe('resolveRequest', () => {
  it('fills in each model’s defaults so the record says what was made', () => {
    expect(resolveRequest({ prompt: 'a' }, config)).toEqual({
      deployment: 'dall-e-3',
      model: 'dall-e-3',
      request: { prompt: 'a', n: 1, size: '1024x1024', quality: 'standard', style: 'vivid', response_format: 'url' },
    });
    expect(resolveRequest({ prompt: 'a', model: 'gpt-image-1' }, config)).toEqual({
      deployment: 'images-hq',
      model: 'gpt-image-1',
      request: { prompt: 'a', n: 1, size: 'auto', quality: 'auto', output_format: 'png', background: 'auto' },
    });
  });

  it('picks a deployment by name, by model, or from the path', () => {
    expect(resolveRequest({ prompt: 'a', model: 'mini' }, config).model).toBe('gpt-image-1-mini');
    expect(resolveRequest({ prompt: 'a', model: 'gpt-image-1-mini' }, config).deployment).toBe('mini');
    // The path wins: the AzureOpenAI client also sends the deployment as `model`.
    expect(resolveRequest({ prompt: 'a', model: 'dall-e-3' }, config, 'images-hq').deployment).toBe('images-hq');
    const unknown = refusal(() => resolveRequest({ prompt: 'a' }, config, 'nope'));
    expect([unknown.status, unknown.code]).toEqual([404, 'DeploymentNotFound']);
  });

  it('counts prompt length in characters, not UTF-16 units', () => {
    expect(() => resolveRequest({ prompt: '🦊'.repeat(4000) }, config)).not.toThrow();
    expect(refusal(() => resolveRequest({ prompt: '🦊'.repeat(4001) }, config)).param).toBe('prompt');
    expect(() => resolveRequest({ prompt: 'x'.repeat(32000), model: 'mini' }, config)).not.toThrow();
    expect(refusal(() => resolveRequest({ prompt: 'x'.repeat(32001), model: 'mini' }, config)).param).toBe('prompt');
  });

  it('holds gpt-image rules: transparency needs png, compression needs jpeg', () => {
    expect(refusal(() => resolveRequest({ prompt: 'a', model: 'mini', background: 'transparent', output_format: 'jpeg' }, config)).param).toBe('background');
    expect(resolveRequest({ prompt: 'a', model: 'mini', output_format: 'jpeg', output_compression: 0 }, config).request.output_compression).toBe(0);
    expect(refusal(() => resolveRequest({ prompt: 'a', model: 'mini', output_format: 'jpeg', output_compression: 101 }, config)).param).toBe('output_compression');
  });

  it('every model in the table gets a schema that accepts its own defaults', () => {
    for (const [model, { rules }] of Object.entries(MODELS)) {
      const deployments: Deployments = { deployments: new Map([['d', model as keyof typeof MODELS]]), defaultDeployment: 'd' };
      const { request } = resolveRequest({ prompt: 'a', n: rules.n.max, size: rules.defaultSize, quality: rules.defaultQuality }, deployments);
      expect(request.n).toBe(rules.n.max);
    }
  });

  it('the documented body is the union of the models, and still strict', () => {
    expect(imageGenerationBody.safeParse({ prompt: 'a', size: '1536x1024', style: 'vivid' }).success).toBe(true);
    expect(imageGenerationBody.safeParse({ prompt: 'a', extra: 1 }).success).toBe(false);
  });
});

describe('decodeJsonObject', () => {
  it('reads UTF-8 JSON objects, a BOM included', () => {
    expect(decodeJsonObject(Buffer.from('\ufeff{"prompt":"é"}'))).toEqual({ prompt: 'é' });
  });
  it('refuses what is not one', () => {
    expect(refusal(() => decodeJsonObject(Buffer.from('null'))).message).toMatch(/JSON object/);
    expect(refusal(() => decodeJsonObject(Buffer.from([0xff, 0xfe]))).message).toMatch(/UTF-8/);
    expect(refusal(() => decodeJsonObject(Buffer.alloc(MAX_BODY_BYTES + 1, 0x20))).status).toBe(413);
  });
});

describe('sniffImageFormat', () => {
  it('knows PNG, JPEG and WebP by their magic, and nothing else', () => {
    expect(sniffImageFormat(Buffer.from('89504e470d0a1a0a0000000d', 'hex'))).toBe('png');
    expect(sniffImageFormat(Buffer.from('ffd8ffe000104a464946', 'hex'))).toBe('jpeg');
    expect(sniffImageFormat(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'))).toBe('webp');
    expect(sniffImageFormat(Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt ', 'latin1'))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('<html>', 'utf8'))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('89504e47', 'hex'))).toBeUndefined();
  });
});

describe('retryAfterSeconds', () => {
  it('prefers retry-after-ms, then Retry-After seconds or date', () => {
    expect(retryAfterSeconds(new Headers({ 'retry-after-ms': '1500', 'retry-after': '9' }))).toBe(2);
    expect(retryAfterSeconds(new Headers({ 'retry-after': '7' }))).toBe(7);
    const date = new Date(Date.now() + 30_000).toUTCString();
    expect(retryAfterSeconds(new Headers({ 'retry-after': date }))).toBeGreaterThanOrEqual(28);
    expect(retryAfterSeconds(new Headers())).toBeUndefined();
  });
});
