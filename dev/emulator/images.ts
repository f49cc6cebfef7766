// Deterministic stand-in images: real, decodable PNG/JPEG files of the requested size whose
// pixels follow from the prompt alone, so the same prompt always yields the same bytes.

import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';

export type ImageFormat = 'png' | 'jpeg';

export interface RenderOptions {
  prompt: string;
  width: number;
  height: number;
  format: ImageFormat;
  /** Mix in noise so the file weighs what the real service's does (~1.5 MB for a 1024x1024 PNG). */
  realistic: boolean;
  /** JPEG quality 0..100 (gpt-image's output_compression); 90 when left out. */
  jpegQuality?: number;
}

export const CONTENT_TYPES: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg' };
export const FILE_EXTENSIONS: Record<ImageFormat, string> = { png: 'png', jpeg: 'jpg' };

const CACHE_ENTRIES = 16;
const cache = new Map<string, Buffer>();

/** Renders (or recalls) the image for these inputs. The returned buffer is shared: do not mutate it. */
export function renderImage(options: RenderOptions): Buffer {
  const { prompt, width, height, format, realistic } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Invalid image size ${width}x${height}`);
  }
  const quality = clampByte(options.jpegQuality ?? 90, 100);
  const key = JSON.stringify([prompt, width, height, format, realistic, format === 'jpeg' ? quality : null]);
  const hit = cache.get(key);
  if (hit) {
    // Re-insert so the Map's insertion order doubles as recency order.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const seed = seedFromPrompt(prompt);
  const bytes =
    format === 'png'
      ? encodePng(paintRgb(seed, width, height, realistic), width, height)
      : encodeJpeg(paintRgba(seed, width, height, realistic), width, height, quality);
  cache.set(key, bytes);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  return bytes;
}

/** Empties the render cache (tests that time encoding). */
export function clearRenderCache(): void {
  cache.clear();
}

export function seedFromPrompt(prompt: string): number {
  return createHash('sha256').update(prompt, 'utf8').digest().readUInt32LE(0) || 1;
}

// --- pixels ---------------------------------------------------------------------------------

/** xorshift32: tiny, fast and fully determined by its seed. */
function xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

interface Palette {
  /** Corner colours (top-left, top-right, bottom-left, bottom-right), RGB each. */
  corners: [number, number, number][];
}

function paletteFor(seed: number): Palette {
  const next = xorshift32(seed);
  const corners: [number, number, number][] = [];
  for (let i = 0; i < 4; i++) corners.push([next() & 255, next() & 255, next() & 255]);
  return { corners };
}

// Noise amplitude tuned so deflate (after the Sub filter) lands a 1024x1024 realistic PNG near 1.6 MB.
const NOISE_BITS = 3;
const NOISE_MASK = (1 << NOISE_BITS) - 1;
const NOISE_OFFSET = 1 << (NOISE_BITS - 1);
const BLOCK = 8;

/**
 * Writes a bilinear gradient between four seeded corner colours into `out`, `channels` bytes a
 * pixel (alpha, when present, is opaque). Realistic images add seeded per-channel noise.
 */
function paint(seed: number, width: number, height: number, realistic: boolean, channels: 3 | 4, out: Buffer, rowStride: number, rowOffset: number): void {
  const { corners } = paletteFor(seed);
  const [tl, tr, bl, br] = corners;
  const noise = xorshift32(seed ^ 0x5bd1e995);
  let bits = 0;
  let bitsLeft = 0;
  const wx = width > 1 ? width - 1 : 1;
  const wy = height > 1 ? height - 1 : 1;
  // Without noise, colours step every BLOCK pixels: long identical runs deflate to almost nothing.
  const step = realistic ? 1 : BLOCK;
  for (let y = 0; y < height; y++) {
    const fy = (y - (y % step)) / wy;
    let p = y * rowStride + rowOffset;
    for (let x = 0; x < width; x++) {
      const fx = (x - (x % step)) / wx;
      for (let c = 0; c < 3; c++) {
        const top = tl[c] + (tr[c] - tl[c]) * fx;
        const bottom = bl[c] + (br[c] - bl[c]) * fx;
        let v = top + (bottom - top) * fy;
        if (realistic) {
          if (bitsLeft < NOISE_BITS) {
            bits = noise();
            bitsLeft = 32;
          }
          v += (bits & NOISE_MASK) - NOISE_OFFSET;
          bits >>>= NOISE_BITS;
          bitsLeft -= NOISE_BITS;
        }
        out[p++] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
      if (channels === 4) out[p++] = 255;
    }
  }
}

/** RGB rows, each led by a PNG filter-type byte, filtered with Sub so gradients shrink to almost nothing. */
function paintRgb(seed: number, width: number, height: number, realistic: boolean): Buffer {
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  paint(seed, width, height, realistic, 3, raw, stride, 1);
  applySubFilter(raw, stride, height, 3);
  return raw;
}

/** PNG filter 1 (Sub), in place: each byte minus the same channel of the pixel to its left. */
function applySubFilter(raw: Buffer, stride: number, height: number, bytesPerPixel: number): void {
  for (let y = 0; y < height; y++) {
    const start = y * stride;
    raw[start] = 1;
    // Right to left, so the left neighbour is still unfiltered when read.
    for (let i = start + stride - 1; i > start + bytesPerPixel; i--) raw[i] = (raw[i] - raw[i - bytesPerPixel]) & 255;
  }
}

function paintRgba(seed: number, width: number, height: number, realistic: boolean): Buffer {
  const data = Buffer.alloc(width * height * 4);
  paint(seed, width, height, realistic, 4, data, width * 4, 0);
  return data;
}

function clampByte(value: number, max: number): number {
  return Math.min(max, Math.max(0, Math.round(value)));
}

// --- PNG ------------------------------------------------------------------------------------

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// node:zlib only gained crc32 in Node 22; the project targets Node 20.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(...parts: Buffer[]): number {
  let crc = 0xffffffff;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) crc = CRC_TABLE[(crc ^ part[i]) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(head.subarray(4), data), 0);
  return Buffer.concat([head, data, tail]);
}

/** 8-bit truecolour PNG from filtered scanlines (`raw` already carries the filter bytes). */
function encodePng(raw: Buffer, width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  // Level 6 trades little size for speed on the noisy variant; gradients shrink well either way.
  const idat = deflateSync(raw, { level: 6 });
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

// --- JPEG -----------------------------------------------------------------------------------

function encodeJpeg(rgba: Buffer, width: number, height: number, quality: number): Buffer {
  return jpeg.encode({ data: rgba, width, height }, quality).data;
}
