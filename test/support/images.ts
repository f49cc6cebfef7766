// Decoders for the images the emulator makes, strict enough to catch a broken file: PNG by hand
// (signature, chunk CRCs, IHDR, every filter type, exact scanline length), JPEG through jpeg-js.

import { crc32, inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';

export interface DecodedImage {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA); JPEG decodes to RGBA with opaque alpha. */
  channels: number;
  pixels: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function decodeImage(bytes: Buffer): DecodedImage {
  if (PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) return decodePng(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const image = jpeg.decode(bytes, { useTArray: true, maxResolutionInMP: 100, maxMemoryUsageInMB: 2048 });
    return { format: 'jpeg', width: image.width, height: image.height, channels: 4, pixels: image.data };
  }
  throw new Error(`Neither PNG nor JPEG: starts with ${bytes.subarray(0, 4).toString('hex')}`);
}

export function decodePng(bytes: Buffer): DecodedImage {
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('ascii', offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (bytes.readUInt32BE(offset + 8 + length) !== crc32(bytes.subarray(offset + 4, offset + 8 + length)))
      throw new Error(`${type}: bad CRC`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colourType, compression, filter, interlace] = data.subarray(8);
      if (depth !== 8 || compression !== 0 || filter !== 0 || interlace !== 0)
        throw new Error(`IHDR: unexpected ${[...data.subarray(8)].join(',')}`);
      channels = colourType === 2 ? 3 : colourType === 6 ? 4 : 0;
      if (!channels) throw new Error(`IHDR: colour type ${colourType}`);
    }
    if (type === 'IDAT') idat.push(data);
    types.push(type);
    offset += 12 + length;
  }
  if (types[0] !== 'IHDR' || types.at(-1) !== 'IEND') throw new Error(`Chunks out of order: ${types.join(',')}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== (stride + 1) * height)
    throw new Error(`IDAT holds ${raw.length} bytes, not ${(stride + 1) * height}`);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    if (filter > 4) throw new Error(`Row ${y}: filter type ${filter}`);
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[row + y + 1 + i];
      const a = i >= channels ? pixels[row + i - channels] : 0;
      const b = y > 0 ? pixels[row - stride + i] : 0;
      const c = i >= channels && y > 0 ? pixels[row - stride + i - channels] : 0;
      const predictor =
        filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c);
      pixels[row + i] = (x + predictor) & 255;
    }
  }
  return { format: 'png', width, height, channels, pixels };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The channels of pixel (x, y). */
export function pixelAt(image: DecodedImage, x: number, y: number): number[] {
  const start = (y * image.width + x) * image.channels;
  return [...image.pixels.subarray(start, start + image.channels)];
}

/** A WebP file's canvas size, from its header (lossy VP8, lossless VP8L or extended VP8X). */
export function webpSize(bytes: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(bytes);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WEBP')
    throw new Error(`Not a WebP file: starts with ${b.subarray(0, 12).toString('hex')}`);
  const chunk = b.toString('ascii', 12, 16);
  if (chunk === 'VP8 ') return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  throw new Error(`Unknown WebP chunk ${chunk}`);
}
