// The emulator's pure parts: its settings from EMULATOR_* variables, and the image renderer.

import { describe, expect, it } from 'vitest';
import { optionsFromEnv, parseDeployments } from '../../dev/fakes/emulator/index.js';
import { clearRenderCache, renderImage, type RenderOptions } from '../../dev/fakes/emulator/images.js';
import { decodeImage, pixelAt } from '../support/images.js';

describe('optionsFromEnv', () => {
  it('reads every EMULATOR_* variable', () => {
    expect(
      optionsFromEnv({
        EMULATOR_PORT: '9000',
        EMULATOR_HOST: '0.0.0.0',
        EMULATOR_API_KEY: 'k1, k2',
        EMULATOR_DEPLOYMENTS: 'img=gpt-image-2, mini=gpt-image-1-mini',
        EMULATOR_ACCEPT_ENTRA_TOKENS: 'false',
        EMULATOR_LATENCY_MS: '25',
        EMULATOR_RPM: '6',
        EMULATOR_THROTTLE_HEADERS: 'retry-after-date,x-ratelimit-reset-requests',
        EMULATOR_RETRY_AFTER_SECONDS: '86400',
        EMULATOR_FAILURE_RATE: '0.1',
        EMULATOR_FAILURE_STATUSES: '429, 503',
        EMULATOR_BLOCKED_WORDS: 'a,b',
        EMULATOR_REALISTIC: '1',
        EMULATOR_OMIT_USAGE: 'true',
        PATH: '/usr/bin', // not the emulator's
      }),
    ).toEqual({
      port: 9000,
      host: '0.0.0.0',
      apiKeys: ['k1', 'k2'],
      deployments: { img: 'gpt-image-2', mini: 'gpt-image-1-mini' },
      acceptEntraTokens: false,
      latencyMs: 25,
      requestsPerMinute: 6,
      throttleHeaders: ['retry-after-date', 'x-ratelimit-reset-requests'],
      retryAfterSeconds: 86400,
      failureRate: 0.1,
      failureStatuses: [429, 503],
      blockedWords: ['a', 'b'],
      realisticSize: true,
      omitUsage: true,
    });
  });

  it('keeps the defaults for unset or empty variables, listening on 8090', () => {
    expect(optionsFromEnv({})).toEqual({ port: 8090 });
    expect(optionsFromEnv({ EMULATOR_LATENCY_MS: '', EMULATOR_RPM: '0' })).toEqual({
      port: 8090,
      requestsPerMinute: undefined,
    });
    expect(optionsFromEnv({ EMULATOR_THROTTLE_HEADERS: 'none' })).toEqual({ port: 8090, throttleHeaders: [] });
  });

  it('refuses bad values and unknown EMULATOR_* names, naming them', () => {
    expect(() => optionsFromEnv({ EMULATOR_RMP: '6' })).toThrow(/EMULATOR_RMP: not an emulator setting/);
    expect(() => optionsFromEnv({ EMULATOR_LATENCY_MS: 'soon' })).toThrow(/EMULATOR_LATENCY_MS: expected a number/);
    expect(() => optionsFromEnv({ EMULATOR_REALISTIC: 'maybe' })).toThrow(/EMULATOR_REALISTIC: expected true or false/);
    expect(() => optionsFromEnv({ EMULATOR_FAILURE_RATE: '2' })).toThrow(/failureRate must be a number from 0 to 1/);
    expect(() => optionsFromEnv({ EMULATOR_THROTTLE_HEADERS: 'retry-after,retry-after-date' })).toThrow(/pick one/);
    expect(() => optionsFromEnv({ EMULATOR_DEPLOYMENTS: 'old=dall-e-3' })).toThrow(
      /dall-e-3 was retired on 2026-03-04/,
    );
  });
});

describe('parseDeployments', () => {
  it('reads name=model pairs; a bare name deploys the model of that name', () => {
    expect(parseDeployments(' a = gpt-image-2 ,gpt-image-1.5,')).toEqual({
      a: 'gpt-image-2',
      'gpt-image-1.5': 'gpt-image-1.5',
    });
    expect(() => parseDeployments('a=b=c')).toThrow(/expected name=model/);
    expect(() => parseDeployments('=gpt-image-2')).toThrow(/expected name=model/);
  });
});

describe('renderImage', () => {
  const base: RenderOptions = { prompt: 'a lighthouse', width: 328, height: 200, format: 'png' };

  it('renders decodable files of the exact size, including sizes that are not multiples of 8', () => {
    for (const [width, height] of [
      [328, 200],
      [321, 203],
      [1, 1],
    ] as const) {
      for (const format of ['png', 'jpeg'] as const) {
        for (const realistic of [false, true]) {
          expect(
            decodeImage(renderImage({ ...base, width, height, format, realistic })),
            `${width}x${height} ${format} ${realistic}`,
          ).toMatchObject({ format, width, height });
        }
      }
    }
  });

  it('draws the same picture as PNG and as JPEG', () => {
    const png = decodeImage(renderImage(base));
    const jpg = decodeImage(renderImage({ ...base, format: 'jpeg' }));
    for (const [x, y] of [
      [4, 4],
      [164, 100],
      [320, 196],
    ] as const) {
      const [a, b] = [pixelAt(png, x, y).slice(0, 3), pixelAt(jpg, x, y).slice(0, 3)];
      for (let c = 0; c < 3; c++)
        expect(Math.abs(a[c] - b[c]), `(${x}, ${y}) ${a.join(',')} vs ${b.join(',')}`).toBeLessThanOrEqual(3);
    }
  });

  it('is deterministic per prompt, and the cache returns the same bytes', () => {
    const a = renderImage(base);
    expect(renderImage(base)).toBe(a);
    clearRenderCache();
    const again = renderImage(base);
    expect(again).not.toBe(a);
    expect(again.equals(a)).toBe(true);
    expect(renderImage({ ...base, prompt: 'a lighthouse!' }).equals(a)).toBe(false);
    expect(renderImage({ ...base, realistic: true }).equals(a)).toBe(false);
  });

  it('coarser blocks make a different picture of the same size (partial images)', () => {
    const coarse = renderImage({ ...base, blockSize: 64 });
    expect(coarse.equals(renderImage(base))).toBe(false);
    expect(decodeImage(coarse)).toMatchObject({ width: 328, height: 200 });
    const image = decodeImage(coarse);
    // Flat across each 64-pixel block.
    expect(pixelAt(image, 0, 0)).toEqual(pixelAt(image, 63, 63));
    expect(pixelAt(image, 0, 0)).not.toEqual(pixelAt(image, 64, 64));
    expect(() => renderImage({ ...base, blockSize: 12 })).toThrow(RangeError);
  });

  it('makes transparent PNGs only', () => {
    expect(decodeImage(renderImage({ ...base, transparent: true })).channels).toBe(4);
    expect(() => renderImage({ ...base, format: 'jpeg', transparent: true })).toThrow(RangeError);
  });

  it('weighs like the service with realistic noise, and JPEG quality changes the weight', () => {
    const png = renderImage({ prompt: 'weight', width: 1024, height: 1024, format: 'png', realistic: true });
    expect(png.length).toBeGreaterThan(1.2e6);
    expect(png.length).toBeLessThan(1.8e6);
    const [best, low] = [100, 50].map(
      (jpegQuality) =>
        renderImage({ prompt: 'weight', width: 1024, height: 1024, format: 'jpeg', realistic: true, jpegQuality })
          .length,
    );
    expect(best).toBeGreaterThan(1e6);
    expect(low).toBeLessThan(best / 4);
  });
});
