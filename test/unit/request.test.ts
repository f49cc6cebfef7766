import { describe, expect, it } from 'vitest';
import { DeploymentNotFoundError, InvalidRequestError, RequestTooLargeError } from '../../src/lib/core/errors.js';
import { sniffImageFormat } from '../../src/lib/images/format.js';
import { checkGptImage2Size, MODELS, type Deployments, type ModelName } from '../../src/lib/core/models.js';
import { decodeJsonObject, imageGenerationBody, MAX_BODY_BYTES, resolveRequest } from '../../src/lib/core/request.js';
import { localSettings } from '../support/settings.js';

const config: Deployments = localSettings({
  AZURE_OPENAI_DEPLOYMENTS: 'gpt-image-2=gpt-image-2,hq=gpt-image-1.5,mini=gpt-image-1-mini',
});

function refusal(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return err as InvalidRequestError;
  }
  throw new Error('expected a refusal');
}

const sizeRefusal = (size: string) => refusal(() => resolveRequest({ prompt: 'a', size }, config));

describe('gpt-image-2 sizes: a rule, each refusal naming size and the rule it breaks', () => {
  it.each([
    ['1024x1024'],
    ['3840x1280'], // 3:1 exactly, the longest edge
    ['1280x3840'],
    ['1024x640'], // 655,360 pixels, the fewest
    ['3840x2160'], // 8,294,400 pixels, the most
    ['3072x1024'],
    ['1792x1024'],
    ['auto'],
  ])('takes %s', (size) => {
    expect(resolveRequest({ prompt: 'a', size }, config).served.params.size).toBe(size);
  });

  it.each([
    ['1024x1015', /multiples of 16/], // 15 short of 16
    ['1024x1016', /multiples of 16/], // a multiple of 8, not of 16
    ['1008x1025', /multiples of 16/],
    ['3856x1296', /long edge must be at most 3840/], // 3856 = 241 × 16
    ['3088x1024', /aspect ratio must be at most 3:1 \(3\.02:1\)/],
    ['1024x624', /at least 655,360 pixels \(638,976\)/],
    ['3840x2176', /at most 8,294,400 pixels \(8,355,840\)/],
    ['1024', /WIDTHxHEIGHT/],
    ['1024x1024x3', /WIDTHxHEIGHT/],
    ['0x1024', /WIDTHxHEIGHT/],
  ])('refuses %s', (size, rule) => {
    const err = sizeRefusal(size);
    expect(err.param).toBe('size');
    expect(err.message).toMatch(rule);
  });

  it('checks the rule alone, at each boundary', () => {
    expect(checkGptImage2Size('1024x1024')).toBeUndefined();
    expect(checkGptImage2Size('1040x1040')).toBeUndefined();
    expect(checkGptImage2Size('1024x1025')).toMatch(/multiples/);
    expect(checkGptImage2Size('3840x3840')).toMatch(/at most 8,294,400/);
    expect(checkGptImage2Size('3856x1600')).toMatch(/long edge/);
  });
});

describe('resolveRequest', () => {
  it('fills in each model’s defaults so the record says what was asked', () => {
    expect(resolveRequest({ prompt: 'a' }, config)).toEqual({
      requested: {
        model: 'gpt-image-2',
        params: { prompt: 'a', n: 1, size: 'auto', output_format: 'png', background: 'auto' },
      },
      served: {
        deployment: 'gpt-image-2',
        model: 'gpt-image-2',
        params: { prompt: 'a', n: 1, size: 'auto', output_format: 'png', background: 'auto' },
      },
    });
    expect(resolveRequest({ prompt: 'a', model: 'mini' }, config).served.params).toEqual({
      prompt: 'a',
      n: 1,
      size: 'auto',
      quality: 'auto',
      output_format: 'png',
      background: 'auto',
    });
  });

  it('picks a deployment by name, by model, or from the path', () => {
    expect(resolveRequest({ prompt: 'a', model: 'mini' }, config).served.model).toBe('gpt-image-1-mini');
    expect(resolveRequest({ prompt: 'a', model: 'gpt-image-1.5' }, config).served.deployment).toBe('hq');
    // The path wins: the AzureOpenAI client also sends the deployment as `model`.
    expect(resolveRequest({ prompt: 'a', model: 'mini' }, config, 'hq').served.deployment).toBe('hq');
    expect(() => resolveRequest({ prompt: 'a' }, config, 'nope')).toThrow(DeploymentNotFoundError);
    expect(refusal(() => resolveRequest({ prompt: 'a', model: 'gpt-image-9' }, config)).param).toBe('model');
  });

  it('counts a prompt in UTF-16 units, the stricter count, so the service never refuses its length', () => {
    expect(() => resolveRequest({ prompt: 'x'.repeat(32000) }, config)).not.toThrow();
    expect(refusal(() => resolveRequest({ prompt: 'x'.repeat(32001) }, config)).param).toBe('prompt');
    // 2,000 emoji are 4,000 UTF-16 units: the most a dall-e-3 request may send.
    expect(() => resolveRequest({ prompt: '🦊'.repeat(2000), model: 'dall-e-3' }, config)).not.toThrow();
    expect(refusal(() => resolveRequest({ prompt: '🦊'.repeat(2001), model: 'dall-e-3' }, config)).param).toBe(
      'prompt',
    );
  });

  it('holds gpt-image rules: transparency needs png, compression needs jpeg, partials need a stream', () => {
    expect(
      refusal(() =>
        resolveRequest({ prompt: 'a', model: 'mini', background: 'transparent', output_format: 'jpeg' }, config),
      ).param,
    ).toBe('background');
    expect(
      resolveRequest({ prompt: 'a', model: 'mini', output_format: 'jpeg', output_compression: 0 }, config).served.params
        .output_compression,
    ).toBe(0);
    expect(
      refusal(() =>
        resolveRequest({ prompt: 'a', model: 'mini', output_format: 'jpeg', output_compression: 101 }, config),
      ).param,
    ).toBe('output_compression');
    expect(refusal(() => resolveRequest({ prompt: 'a', partial_images: 2 }, config)).param).toBe('partial_images');
    expect(refusal(() => resolveRequest({ prompt: 'a', stream: true, partial_images: 4 }, config)).param).toBe(
      'partial_images',
    );
    expect(resolveRequest({ prompt: 'a', stream: true, partial_images: 3 }, config).served.params).toMatchObject({
      stream: true,
      partial_images: 3,
    });
    // gpt-image-2 has no `auto` quality; the 1.x family has.
    expect(refusal(() => resolveRequest({ prompt: 'a', quality: 'auto' }, config)).param).toBe('quality');
    expect(resolveRequest({ prompt: 'a', model: 'hq', quality: 'auto' }, config).served.params.quality).toBe('auto');
  });

  it('every model in the table gets a schema that accepts its own limits and defaults', () => {
    for (const [model, { rules }] of Object.entries(MODELS) as [ModelName, (typeof MODELS)[ModelName]][]) {
      const body = {
        prompt: 'p'.repeat(rules.promptMaxLength),
        n: rules.n.max,
        size: rules.defaultSize,
        ...(rules.defaultQuality && { quality: rules.defaultQuality }),
      };
      const { requested } = resolveRequest({ ...body, model }, config);
      expect(requested.model).toBe(model);
      expect(requested.params).toMatchObject(body);
      expect(refusal(() => resolveRequest({ ...body, n: rules.n.max + 1, model }, config)).param).toBe('n');
    }
  });

  it('the documented body is the union of the models, and still strict', () => {
    expect(
      imageGenerationBody.safeParse({ prompt: 'a', size: '1536x1024', style: 'vivid', stream: true }).success,
    ).toBe(true);
    expect(imageGenerationBody.safeParse({ prompt: 'a', extra: 1 }).success).toBe(false);
  });
});

describe('DALL·E 3 requests, served by the successor deployment', () => {
  const onSuccessor = (successor: string, body: Record<string, unknown>, path?: string) =>
    resolveRequest(
      body,
      localSettings({
        AZURE_OPENAI_DEPLOYMENTS: 'gpt-image-2=gpt-image-2,hq=gpt-image-1.5',
        AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: successor,
      }),
      path,
    );

  it('are validated by DALL·E 3’s own rules first', () => {
    expect(refusal(() => resolveRequest({ prompt: 'a', model: 'dall-e-3', n: 2 }, config)).param).toBe('n');
    expect(refusal(() => resolveRequest({ prompt: 'a', model: 'dall-e-3', size: '1536x1024' }, config)).param).toBe(
      'size',
    );
    expect(refusal(() => resolveRequest({ prompt: 'a', model: 'dall-e-3', quality: 'high' }, config)).param).toBe(
      'quality',
    );
    expect(refusal(() => resolveRequest({ prompt: 'x'.repeat(4001), model: 'dall-e-3' }, config)).param).toBe('prompt');
    expect(refusal(() => resolveRequest({ prompt: 'a', model: 'dall-e-3', output_format: 'png' }, config)).param).toBe(
      'output_format',
    );
    expect(refusal(() => resolveRequest({ prompt: 'a', model: 'dall-e-3', stream: true }, config)).param).toBe(
      'stream',
    );
  });

  it('land on the successor, the default deployment unless a setting names another', () => {
    expect(resolveRequest({ prompt: 'a', model: 'dall-e-3' }, config).served).toMatchObject({
      deployment: 'gpt-image-2',
      model: 'gpt-image-2',
    });
    expect(resolveRequest({ prompt: 'a' }, config, 'dall-e-3').served.deployment).toBe('gpt-image-2');
    expect(onSuccessor('hq', { prompt: 'a' }, 'dall-e-3').served).toMatchObject({
      deployment: 'hq',
      model: 'gpt-image-1.5',
    });
    expect(resolveRequest({ prompt: 'a' }, config, 'dall-e-3').requested).toEqual({
      model: 'dall-e-3',
      params: { prompt: 'a', n: 1, size: '1024x1024', quality: 'standard', style: 'vivid', response_format: 'url' },
    });
  });

  // The README's translation table, one row a test.
  it('size: exact where the served model makes it (gpt-image-2 makes 1792x1024 and 1024x1792)', () => {
    for (const size of ['1024x1024', '1792x1024', '1024x1792']) {
      expect(resolveRequest({ prompt: 'a', model: 'dall-e-3', size }, config).served.params.size).toBe(size);
    }
  });
  it('size: else the same orientation (gpt-image-1.5: 1536x1024, 1024x1536)', () => {
    expect(onSuccessor('hq', { prompt: 'a', model: 'dall-e-3', size: '1792x1024' }).served.params.size).toBe(
      '1536x1024',
    );
    expect(onSuccessor('hq', { prompt: 'a', model: 'dall-e-3', size: '1024x1792' }).served.params.size).toBe(
      '1024x1536',
    );
    expect(onSuccessor('hq', { prompt: 'a', model: 'dall-e-3', size: '1024x1024' }).served.params.size).toBe(
      '1024x1024',
    );
  });
  it('quality: standard → medium', () => {
    expect(resolveRequest({ prompt: 'a', model: 'dall-e-3', quality: 'standard' }, config).served.params.quality).toBe(
      'medium',
    );
    expect(resolveRequest({ prompt: 'a', model: 'dall-e-3' }, config).served.params.quality).toBe('medium');
  });
  it('quality: hd → high', () => {
    expect(resolveRequest({ prompt: 'a', model: 'dall-e-3', quality: 'hd' }, config).served.params.quality).toBe(
      'high',
    );
  });
  it('style: not sent, kept as asked', () => {
    const { requested, served } = resolveRequest({ prompt: 'a', model: 'dall-e-3', style: 'natural' }, config);
    expect(served.params).not.toHaveProperty('style');
    expect(requested.params.style).toBe('natural');
  });
  it('response_format: not sent; the answer always has our url', () => {
    const { requested, served } = resolveRequest(
      { prompt: 'a', model: 'dall-e-3', response_format: 'b64_json' },
      config,
    );
    expect(served.params).not.toHaveProperty('response_format');
    expect(requested.params.response_format).toBe('b64_json');
  });
  it('prompt, n and user pass unchanged', () => {
    const { served } = resolveRequest({ prompt: 'Icare', model: 'dall-e-3', n: 1, user: 'u1' }, config);
    expect(served.params).toEqual({ prompt: 'Icare', n: 1, size: '1024x1024', quality: 'medium', user: 'u1' });
  });
  it('gpt-image-1 requests too: their quality auto is left to gpt-image-2, which has none', () => {
    const { requested, served } = resolveRequest(
      { prompt: 'a', model: 'gpt-image-1', n: 3, quality: 'auto', output_format: 'jpeg', output_compression: 50 },
      config,
    );
    expect(requested.model).toBe('gpt-image-1');
    expect(served.params).toEqual({
      prompt: 'a',
      n: 3,
      size: 'auto',
      output_format: 'jpeg',
      output_compression: 50,
      background: 'auto',
    });
  });
});

describe('decodeJsonObject', () => {
  it('reads UTF-8 JSON objects, a BOM included', () => {
    expect(decodeJsonObject(Buffer.from('\ufeff{"prompt":"é"}'))).toEqual({ prompt: 'é' });
  });
  it('refuses what is not one', () => {
    expect(refusal(() => decodeJsonObject(Buffer.from('null'))).message).toMatch(/JSON object/);
    expect(refusal(() => decodeJsonObject(Buffer.from([0xff, 0xfe]))).message).toMatch(/UTF-8/);
    expect(() => decodeJsonObject(Buffer.alloc(MAX_BODY_BYTES + 1, 0x20))).toThrow(RequestTooLargeError);
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
