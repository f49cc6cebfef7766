import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { renderImage } from '../../dev/fakes/emulator/images.js';
import {
  checkZipBytes,
  parseZipRequest,
  zipStream,
  ZIP_MAX_BYTES,
  ZIP_MAX_IMAGES,
} from '../../src/lib/gallery/archive.js';
import { InvalidRequestError } from '../../src/lib/core/errors.js';
import {
  itemOf,
  keptAt,
  matchesSearch,
  parseGalleryQuery,
  rowKeyOf,
  tableFilter,
} from '../../src/lib/gallery/imageIndex.js';
import { ImageStore, isImageBlobName, thumbnailBlobName, type KeptRecord } from '../../src/lib/images/store.js';
import { downscale, makeThumbnail, thumbnailSize } from '../../src/lib/gallery/thumbnails.js';
import { webpSize } from '../support/images.js';

// The gallery's pure parts: thumbnail sizes and the shrinking, the index's keys, filters and query
// parsing, and the ZIP's bounds. Against Azurite and through the app: test/system/gallery.test.ts.

describe('thumbnails', () => {
  it.each([
    [1024, 1024, 256, 256],
    [1536, 1024, 256, 171],
    [1024, 1536, 171, 256],
    [3840, 1280, 256, 85],
    [3840, 2160, 256, 144],
    [200, 100, 200, 100], // never enlarged
    [256, 256, 256, 256],
    [10000, 10, 256, 1], // never 0
  ])('%ix%i is shown at %ix%i: the long edge at most 256, the aspect kept', (w, h, tw, th) => {
    expect(thumbnailSize(w, h)).toEqual({ width: tw, height: th });
  });

  it('refuses an image without pixels', () => {
    expect(() => thumbnailSize(0, 10)).toThrow(RangeError);
  });

  it('averages each box of pixels, weighted by alpha, so a transparent background does not darken the edges', () => {
    // 2x2 → 1x1: one opaque red pixel, one opaque blue, two transparent white ones whose colour must not show.
    const source = {
      width: 2,
      height: 2,
      data: new Uint8Array([255, 0, 0, 255, 0, 0, 255, 255, 255, 255, 255, 0, 255, 255, 255, 0]),
    };
    expect([...downscale(source, 1, 1).data]).toEqual([128, 0, 128, 128]);
    // 4x1 → 2x1: each output pixel is the mean of its own two.
    const row = {
      width: 4,
      height: 1,
      data: new Uint8Array([0, 0, 0, 255, 100, 100, 100, 255, 200, 200, 200, 255, 255, 255, 255, 255]),
    };
    expect([...downscale(row, 2, 1).data]).toEqual([50, 50, 50, 255, 228, 228, 228, 255]);
  });

  it.each(['png', 'jpeg'] as const)('makes a WebP of at most 256 px from a %s, and from a WebP', async (format) => {
    const image = renderImage({ prompt: 'a thumbnail', width: 1536, height: 1024, format });
    const thumbnail = await makeThumbnail(image, format);
    expect(Buffer.from(thumbnail.bytes).toString('ascii', 8, 12)).toBe('WEBP');
    expect(webpSize(thumbnail.bytes)).toEqual({ width: 256, height: 171 });
    // A WebP in: the app keeps WebP images too.
    const again = await makeThumbnail(thumbnail.bytes, 'webp');
    expect(webpSize(again.bytes)).toEqual({ width: 256, height: 171 });
  });

  it('keeps the colours of the picture', async () => {
    const image = renderImage({ prompt: 'flat colours', width: 512, height: 512, format: 'png' });
    const { bytes } = await makeThumbnail(image, 'png');
    const { default: decode } = await import('@jsquash/webp/decode.js');
    const pixels = await decode(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    const { PNG } = await import('pngjs');
    const source = PNG.sync.read(image);
    // The top-left corner of both: within WebP's loss of the source's corner colour.
    for (let c = 0; c < 3; c++) expect(Math.abs(pixels.data[c] - source.data[c])).toBeLessThan(24);
  });

  it('a failing image rejects its own thumbnail only: the next one is made', async () => {
    await expect(makeThumbnail(Buffer.from('not a png'), 'png')).rejects.toThrow();
    const ok = await makeThumbnail(renderImage({ prompt: 'after', width: 64, height: 64, format: 'png' }), 'png');
    expect(webpSize(ok.bytes)).toEqual({ width: 64, height: 64 });
  });

  it('sit beside their image under a name no image route serves', () => {
    const blob = '2026/11/26/003145123-5b1f0000-0000-4000-8000-000000000000-0.png';
    expect(thumbnailBlobName(blob)).toBe('2026/11/26/003145123-5b1f0000-0000-4000-8000-000000000000-0.thumb.webp');
    expect(isImageBlobName(thumbnailBlobName(blob))).toBe(false);
  });
});

describe('the index', () => {
  const at = (iso: string) => `${ImageStore.blobName(new Date(iso), 0)}.png`;

  it('keys each image by the time it was kept, inverted: newer images sort first, and the same image always gets the same key', () => {
    const older = at('2026-11-26T00:31:45.123Z');
    const newer = at('2026-11-26T00:31:45.124Z');
    expect(keptAt(older)?.toISOString()).toBe('2026-11-26T00:31:45.123Z');
    expect(rowKeyOf(newer) < rowKeyOf(older)).toBe(true);
    expect(rowKeyOf(older)).toBe(rowKeyOf(older));
    expect(rowKeyOf(older)).toMatch(/^\d{13}-[0-9a-f-]{36}-0$/);
    expect(() => rowKeyOf('not/an/image.png')).toThrow(RangeError);
    expect(keptAt('2026/13/45/999999999-x-0.png')).toBeUndefined();
  });

  it('builds one table filter of the partition, the continuation, the time range, the caller and the model; quotes are escaped', () => {
    const filter = tableFilter('images', {
      caller: "o'brien",
      model: 'dall-e-3',
      from: '2026-11-01',
      to: '2026-11-30',
      continuation: '8235964000000-5b1f0000-0000-4000-8000-000000000000-0',
    });
    expect(filter).toContain("PartitionKey eq 'images'");
    expect(filter).toContain("RowKey gt '8235964000000-5b1f0000-0000-4000-8000-000000000000-0'");
    expect(filter).toContain("caller eq 'o''brien'");
    expect(filter).toContain("(served_model eq 'dall-e-3' or requested_model eq 'dall-e-3')");
    // The whole of 30 November, up to its last millisecond, and from the first of 1 November.
    const lastMs = Date.parse('2026-12-01T00:00:00Z') - 1;
    const firstMs = Date.parse('2026-11-01T00:00:00Z');
    expect(filter).toContain(`RowKey ge '${String(9999999999999 - lastMs).padStart(13, '0')}'`);
    expect(filter).toContain(`RowKey lt '${String(9999999999999 - (firstMs - 1)).padStart(13, '0')}'`);
  });

  it('reads the query string, and refuses a bad value naming its parameter', () => {
    const query = (params: Record<string, string>) => parseGalleryQuery((n) => params[n], Object.keys(params));
    expect(query({ model: 'gpt-image-2', q: 'Kite', from: '2026-11-01T10:00:00Z' })).toEqual({
      model: 'gpt-image-2',
      q: 'Kite',
      from: '2026-11-01T10:00:00Z',
    });
    for (const [params, param] of [
      [{ model: 'dall-e-9' }, 'model'],
      [{ from: '1 November' }, 'from'],
      [{ to: '2026-02-30x' }, 'to'],
      [{ from: '2026-11-02', to: '2026-11-01' }, 'to'],
      [{ q: '' }, 'q'],
      [{ continuation: 'page-2' }, 'continuation'],
      [{ sort: 'oldest' }, 'sort'],
    ] as [Record<string, string>, string][]) {
      const error = (() => {
        try {
          query(params);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(error, JSON.stringify(params)).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).param, JSON.stringify(params)).toBe(param);
    }
  });

  it('matches the search in any case', () => {
    expect(matchesSearch({ prompt: 'A Lighthouse at Dusk' }, 'lighthouse AT')).toBe(true);
    expect(matchesSearch({ prompt: 'A lighthouse' }, 'kite')).toBe(false);
  });

  it('keeps of a record what the gallery lists: the prompt cut to 2000 characters, what was made, the cost', () => {
    const blob = at('2026-11-26T00:31:45.123Z');
    const record = {
      prompt: 'x'.repeat(2500),
      requested_model: 'dall-e-3',
      served_model: 'gpt-image-2',
      deployment: 'gpt-image-2',
      api_version: 'v1',
      requested: { n: 1, size: '1792x1024', quality: 'hd' },
      served: { n: 1, size: '1792x1024', quality: 'high', output_format: 'png' },
      output: { size: '1792x1024', quality: 'high' },
      n: 1,
      index: 0,
      created: 1764117105,
      duration_ms: 900,
      caller: { name: 'team', kind: 'key' },
      cost: { usd: 0.36, basis: 'table', table_version: 'v' },
      container: 'images',
      blob,
      content_type: 'image/png',
    } as unknown as KeptRecord;
    expect(itemOf(record, thumbnailBlobName(blob))).toEqual({
      blob,
      record: `${blob}.json`,
      thumbnail: thumbnailBlobName(blob),
      content_type: 'image/png',
      prompt: 'x'.repeat(2000),
      caller: 'team',
      requested_model: 'dall-e-3',
      served_model: 'gpt-image-2',
      deployment: 'gpt-image-2',
      size: '1792x1024',
      quality: 'high',
      output_format: 'png',
      created: '2026-11-26T00:31:45.123Z',
      cost_usd: 0.36,
    });
    expect(itemOf({ ...record, cost: { unpriced: true } }).cost_usd).toBeUndefined();
  });
});

describe('the ZIP', () => {
  const blob = (i: number) => `2026/11/26/003145123-5b1f0000-0000-4000-8000-${String(i).padStart(12, '0')}-0.png`;

  it(`takes 1 to ${ZIP_MAX_IMAGES} images, each once, and refuses more or none naming blobs`, () => {
    expect(parseZipRequest({ blobs: [blob(1), blob(2), blob(1)] })).toEqual({ blobs: [blob(1), blob(2)] });
    expect(parseZipRequest({ blobs: Array.from({ length: ZIP_MAX_IMAGES }, (_, i) => blob(i)) }).blobs).toHaveLength(
      ZIP_MAX_IMAGES,
    );
    for (const body of [
      { blobs: Array.from({ length: ZIP_MAX_IMAGES + 1 }, (_, i) => blob(i)) },
      { blobs: [] },
      {},
      { blobs: 'one' },
    ]) {
      expect(() => parseZipRequest(body)).toThrow(expect.objectContaining({ param: 'blobs' }));
    }
    expect(() => parseZipRequest({ blobs: [blob(1)], level: 9 })).toThrow(expect.objectContaining({ param: 'level' }));
  });

  it(`refuses images that weigh more than ${ZIP_MAX_BYTES / 1024 / 1024} MB together, naming blobs and the weight`, () => {
    expect(() => checkZipBytes([ZIP_MAX_BYTES / 2, ZIP_MAX_BYTES / 2])).not.toThrow();
    expect(() => checkZipBytes([ZIP_MAX_BYTES / 2, ZIP_MAX_BYTES / 2 + 1])).toThrow(
      expect.objectContaining({
        param: 'blobs',
        message: expect.stringMatching(/weigh 100\.0 MB together, more than the 100\.0 MB/),
      }),
    );
    expect(() => checkZipBytes([30, 30], 50)).toThrow(InvalidRequestError);
  });

  it('stores the images as they are and deflates the records, reading an image a chunk at a time', async () => {
    const png = renderImage({ prompt: 'zip', width: 64, height: 64, format: 'png' });
    async function* chunks() {
      for (let at = 0; at < png.length; at += 100) yield png.subarray(at, at + 100);
    }
    const stream = zipStream([
      { name: 'a.png', compress: false, open: async () => chunks() },
      { name: 'a.png.json', compress: true, open: async () => Buffer.from('{"prompt":"zip"}'.repeat(50)) },
    ]);
    const zip = new Uint8Array(Buffer.concat(await stream.toArray()));
    const entries = unzipSync(zip);
    expect(Buffer.from(entries['a.png']).equals(png)).toBe(true);
    expect(JSON.parse(Buffer.from(entries['a.png.json']).toString().slice(0, 16))).toEqual({ prompt: 'zip' });
    expect(zip.length).toBeLessThan(png.length + 400);
  });

  it('a read that fails once the ZIP has begun destroys the stream with its error, and reads no further', async () => {
    let opened = 0;
    const stream = zipStream([
      { name: 'a.png', compress: false, open: async () => (opened++, Buffer.from('a')) },
      { name: 'b.png', compress: false, open: async () => (opened++, Promise.reject(new Error('Storage went away'))) },
      { name: 'c.png', compress: false, open: async () => (opened++, Buffer.from('c')) },
    ]);
    await expect(stream.toArray()).rejects.toThrow('Storage went away');
    expect(opened).toBe(2);
  });
});
