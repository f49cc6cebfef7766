// Deterministic stand-in images: real, decodable PNG and JPEG files of the asked size whose pixels
// follow from the prompt alone (a gradient between four seeded corner colours), so the same prompt
// always yields the same bytes. Colours step in square blocks: identical PNG rows deflate to almost
// nothing, and a JPEG of flat 8x8 blocks needs no DCT, only DC terms. Measured for 3840x2160 on
// this project's shared 2-core machine (Node 20.20): 40-90 ms as PNG, 15-60 ms as JPEG; with
// realistic noise 0.3-0.7 s and about 11.7 MB either way (jpeg-js took 0.6 s flat and 2 s noisy).

import { createHash } from 'node:crypto';
import { constants, crc32, deflateSync } from 'node:zlib';

export type ImageFormat = 'png' | 'jpeg';

export interface RenderOptions {
  prompt: string;
  width: number;
  height: number;
  format: ImageFormat;
  /** Seeded noise, so files weigh what the service's do (~1.5 MB for a 1024x1024 PNG). */
  realistic?: boolean;
  /** JPEG quality 0..100 (output_compression); default 100, as the service's. */
  jpegQuality?: number;
  /** PNG with alpha: the picture inside an ellipse, transparent around it. */
  transparent?: boolean;
  /** Pixels per colour step, a multiple of 8: 8 for a finished image, more for a coarser partial one. */
  blockSize?: number;
}

const CACHE_BYTES = 64 * 1024 * 1024;
const cache = new Map<string, Buffer>();
let cachedBytes = 0;

/** Renders (or recalls) the image for these options. The buffer is shared: do not mutate it. */
export function renderImage(options: RenderOptions): Buffer {
  const { prompt, width, height, format, realistic = false, transparent = false, blockSize = 8 } = options;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > 65_535 ||
    height > 65_535
  ) {
    throw new RangeError(`Invalid image size ${width}x${height}`);
  }
  if (!Number.isInteger(blockSize) || blockSize < 8 || blockSize % 8 !== 0)
    throw new RangeError(`blockSize must be a multiple of 8, got ${blockSize}`);
  if (transparent && format !== 'png') throw new RangeError('Only PNG images can be transparent');
  const quality = Math.min(100, Math.max(0, Math.round(options.jpegQuality ?? 100)));
  const key = JSON.stringify([
    prompt,
    width,
    height,
    format,
    realistic,
    transparent,
    blockSize,
    format === 'jpeg' ? quality : null,
  ]);
  const hit = cache.get(key);
  if (hit) {
    // Re-insert so the Map's insertion order doubles as recency order.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const grid = colourGrid(seedFromPrompt(prompt), width, height, blockSize, transparent);
  const bytes = format === 'png' ? encodePng(grid, realistic) : encodeJpeg(grid, realistic, quality);
  remember(key, bytes);
  return bytes;
}

function remember(key: string, bytes: Buffer): void {
  if (bytes.length > CACHE_BYTES / 4) return; // one huge image must not push out everything else
  cache.set(key, bytes);
  cachedBytes += bytes.length;
  for (const [oldest, old] of cache) {
    if (cachedBytes <= CACHE_BYTES) break;
    cache.delete(oldest);
    cachedBytes -= old.length;
  }
}

/** Empties the render cache (tests that time encoding). */
export function clearRenderCache(): void {
  cache.clear();
  cachedBytes = 0;
}

function seedFromPrompt(prompt: string): number {
  return createHash('sha256').update(prompt, 'utf8').digest().readUInt32LE(0) || 1;
}

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

// --- the picture: one colour per block ---------------------------------------------------------

interface ColourGrid {
  seed: number;
  width: number;
  height: number;
  blockSize: number;
  columns: number;
  rows: number;
  /** RGBA per block, row-major; alpha is 0 or 255. */
  rgba: Uint8Array;
  transparent: boolean;
}

/** A bilinear gradient between four seeded corner colours, sampled at each block's top-left pixel. */
function colourGrid(seed: number, width: number, height: number, blockSize: number, transparent: boolean): ColourGrid {
  const next = xorshift32(seed);
  const [tl, tr, bl, br] = Array.from({ length: 4 }, () => [next() & 255, next() & 255, next() & 255]);
  const columns = Math.ceil(width / blockSize);
  const rows = Math.ceil(height / blockSize);
  const rgba = new Uint8Array(columns * rows * 4);
  const wx = Math.max(1, width - 1);
  const wy = Math.max(1, height - 1);
  for (let by = 0, p = 0; by < rows; by++) {
    const fy = (by * blockSize) / wy;
    // The ellipse test at block centres keeps every row of a block identical.
    const dy = ((by + 0.5) * blockSize - height / 2) / (height / 2);
    for (let bx = 0; bx < columns; bx++) {
      const fx = (bx * blockSize) / wx;
      for (let c = 0; c < 3; c++) {
        const top = tl[c] + (tr[c] - tl[c]) * fx;
        const bottom = bl[c] + (br[c] - bl[c]) * fx;
        rgba[p++] = Math.round(top + (bottom - top) * fy);
      }
      const dx = ((bx + 0.5) * blockSize - width / 2) / (width / 2);
      rgba[p++] = !transparent || dx * dx + dy * dy <= 1 ? 255 : 0;
    }
  }
  return { seed, width, height, blockSize, columns, rows, rgba, transparent };
}

// --- PNG ----------------------------------------------------------------------------------------

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const FILTER_SUB = 1;
const FILTER_UP = 2;

/** Rows of noise start at one of this many places in a seeded table. */
const NOISE_OFFSETS = 1 << 14;

/**
 * 8-bit RGB (or RGBA) PNG. The first row of each block row is Sub-filtered (zero inside a block); in
 * flat images the block's other rows repeat it, so they are Up-filtered and all zero, which
 * run-length deflate packs almost for free. Realistic images add noise to every row and deflate it
 * with Huffman coding only: noise has no repeats to find, and the file weighs the same, only sooner.
 */
function encodePng(grid: ColourGrid, realistic: boolean): Buffer {
  const { width, height, blockSize, columns, rgba, transparent } = grid;
  const channels = transparent ? 4 : 3;
  const stride = width * channels + 1;
  const raw = Buffer.alloc(stride * height);
  const line = new Uint8Array(width * channels); // one row of the picture
  const noisy = new Uint8ClampedArray(line.length); // clamps as it is written
  const random = xorshift32(grid.seed ^ 0x5bd1e995);
  const noise = realistic ? noiseTable(random, channels, line.length) : undefined;
  for (let y = 0; y < height; y++) {
    const start = y * stride;
    const firstOfBlock = y % blockSize === 0;
    if (firstOfBlock) {
      const blockRow = (y / blockSize) * columns * 4;
      for (let x = 0, p = 0; x < width; x++) {
        const b = blockRow + Math.floor(x / blockSize) * 4;
        for (let c = 0; c < channels; c++) line[p++] = rgba[b + c]!;
      }
    }
    if (!noise && !firstOfBlock) {
      raw[start] = FILTER_UP;
      continue;
    }
    let row: ArrayLike<number> = line;
    if (noise) {
      // Offsets that are multiples of `channels` keep the table's zeros on the alpha bytes.
      const offset = (random() % NOISE_OFFSETS) * channels;
      for (let i = 0; i < line.length; i++) noisy[i] = line[i] + noise[offset + i];
      row = noisy;
    }
    raw[start] = FILTER_SUB;
    for (let i = 0; i < channels; i++) raw[start + 1 + i] = row[i]!;
    for (let i = channels; i < line.length; i++) raw[start + 1 + i] = (row[i] - row[i - channels]) & 255;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = transparent ? 6 : 2; // colour type: RGBA or RGB
  // bytes 10-12 stay 0: deflate, adaptive filtering, no interlace
  const idat = deflateSync(raw, { level: 6, strategy: realistic ? constants.Z_HUFFMAN_ONLY : constants.Z_RLE });
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Noise of -4..3 levels, from 3 random bits; zero on alpha bytes (every 4th with RGBA). Long enough for a row at any offset. */
function noiseTable(random: () => number, channels: number, rowLength: number): Int8Array {
  const table = new Int8Array(NOISE_OFFSETS * channels + rowLength);
  for (let i = 0; i < table.length; i++) table[i] = channels === 4 && i % 4 === 3 ? 0 : (random() & 7) - 4;
  return table;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, tail]);
}

// --- JPEG (baseline, 4:4:4) ---------------------------------------------------------------------

/** Natural (row-major) index of each zig-zag position. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47,
  55, 62, 63,
];
/** The JPEG standard's example tables (Annex K), row-major. */
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
  87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...new Array<number>(32).fill(99),
];

/** A table in zig-zag order, scaled for `quality` the way libjpeg does. */
function quantTable(base: number[], quality: number): Uint8Array {
  const q = Math.max(1, quality);
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  return Uint8Array.from(ZIGZAG, (natural) =>
    Math.min(255, Math.max(1, Math.floor((base[natural] * scale + 50) / 100))),
  );
}

/**
 * Huffman tables of our own (any canonical table is valid JPEG): the commonest symbol, a zero DC
 * difference or end-of-block, gets a 1-bit code; the rest share one longer length. DC: 11 sizes of
 * 5 bits. AC: ZRL and run/size symbols up to MAX_NOISE_SIZE (the noise never needs more), 8 bits.
 */
interface Huffman {
  /** DHT counts: codes of each length 1..16. */
  counts: number[];
  symbols: number[];
  /** Code and its length, by symbol. */
  bits: Uint16Array;
  lengths: Uint8Array;
}

function huffman(common: number, others: number[], length: number): Huffman {
  const counts = new Array<number>(16).fill(0);
  counts[0] = 1;
  counts[length - 1] = others.length;
  const bits = new Uint16Array(256);
  const lengths = new Uint8Array(256);
  lengths[common] = 1; // code '0'
  // Canonical codes: after '0', the next length starts at 1 followed by zeros, counting up.
  others.forEach((symbol, i) => {
    bits[symbol] = (1 << (length - 1)) + i;
    lengths[symbol] = length;
  });
  return { counts, symbols: [common, ...others], bits, lengths };
}

const EOB = 0x00;
const ZRL = 0xf0;
const MAX_NOISE_SIZE = 6;
const DC_TABLE = huffman(
  0,
  Array.from({ length: 11 }, (_, i) => i + 1),
  5,
);
const AC_TABLE = huffman(
  EOB,
  [
    ZRL,
    ...Array.from(
      { length: 16 * MAX_NOISE_SIZE },
      (_, i) => (Math.floor(i / MAX_NOISE_SIZE) << 4) | ((i % MAX_NOISE_SIZE) + 1),
    ),
  ],
  8,
);

/** Appends bits MSB first, stuffing a zero byte after each 0xff as JPEG requires. */
class BitWriter {
  private out: Buffer;
  private size = 0;
  private acc = 0;
  private count = 0;

  constructor(capacity: number) {
    this.out = Buffer.alloc(Math.max(1024, capacity));
  }

  write(bits: number, length: number): void {
    this.acc = (this.acc << length) | (bits & ((1 << length) - 1));
    this.count += length;
    while (this.count >= 8) {
      this.count -= 8;
      this.byte((this.acc >>> this.count) & 255);
    }
    this.acc &= (1 << this.count) - 1;
  }

  /** Writes a symbol's Huffman code. */
  code(table: Huffman, symbol: number): void {
    this.write(table.bits[symbol], table.lengths[symbol]);
  }

  /** Pads the last byte with ones and returns what was written. */
  finish(): Buffer {
    if (this.count > 0) this.write(0x7f, 8 - this.count);
    return this.out.subarray(0, this.size);
  }

  private byte(value: number): void {
    if (this.size + 2 > this.out.length) {
      const bigger = Buffer.alloc(this.out.length * 2);
      this.out.copy(bigger, 0, 0, this.size);
      this.out = bigger;
    }
    this.out[this.size++] = value;
    if (value === 0xff) this.out[this.size++] = 0;
  }
}

/** Writes a coefficient's size category (through `table`) and its extra bits, as JPEG codes them. */
function writeValue(writer: BitWriter, table: Huffman, run: number, value: number): void {
  const size = value === 0 ? 0 : 32 - Math.clz32(Math.abs(value));
  writer.code(table, (run << 4) | size);
  if (size > 0) writer.write(value < 0 ? value + (1 << size) - 1 : value, size);
}

/**
 * Each 8x8 block lies inside one colour block, so its DCT is the DC term alone: 8 x (level - 128).
 * Realistic images add seeded noise as AC coefficients, strongest at low frequencies like real
 * detail, divided by the quantizer: a lower output_compression gives a smaller file, as it does
 * from the service.
 */
function encodeJpeg(grid: ColourGrid, realistic: boolean, quality: number): Buffer {
  const { width, height, blockSize, columns, rgba } = grid;
  const tables = [quantTable(LUMA_QUANT, quality), quantTable(CHROMA_QUANT, quality)];
  // Y, Cb, Cr per colour block, quantized DC terms.
  const dc = new Int16Array(columns * grid.rows * 3);
  for (let b = 0; b < columns * grid.rows; b++) {
    const [r, g, bl] = [rgba[b * 4], rgba[b * 4 + 1], rgba[b * 4 + 2]];
    const ycc = [
      0.299 * r + 0.587 * g + 0.114 * bl,
      -0.168736 * r - 0.331264 * g + 0.5 * bl + 128,
      0.5 * r - 0.418688 * g - 0.081312 * bl + 128,
    ];
    for (let c = 0; c < 3; c++) dc[b * 3 + c] = Math.round((8 * (ycc[c] - 128)) / tables[c === 0 ? 0 : 1][0]);
  }
  const noise = realistic ? tables.map(noiseCoefficients) : [];
  const random = xorshift32(grid.seed ^ 0x5bd1e995);
  const blocksAcross = Math.ceil(width / 8);
  const blocksDown = Math.ceil(height / 8);
  const writer = new BitWriter(blocksAcross * blocksDown * (realistic ? 64 : 1));
  const previous = [0, 0, 0];
  for (let jy = 0; jy < blocksDown; jy++) {
    const gridRow = Math.floor((jy * 8) / blockSize) * columns;
    for (let jx = 0; jx < blocksAcross; jx++) {
      const block = gridRow + Math.floor((jx * 8) / blockSize);
      for (let c = 0; c < 3; c++) {
        const value = dc[block * 3 + c];
        writeValue(writer, DC_TABLE, 0, value - previous[c]);
        previous[c] = value;
        if (realistic) writeNoise(writer, noise[c === 0 ? 0 : 1], random);
        else writer.code(AC_TABLE, EOB);
      }
    }
  }
  const scan = writer.finish();
  return Buffer.concat([
    marker(0xd8),
    segment(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0])), // JFIF 1.1, no density
    segment(0xdb, Buffer.concat([Buffer.from([0]), tables[0], Buffer.from([1]), tables[1]])),
    // 8-bit, height, width, 3 components (Y, Cb, Cr), each 1x1 sampled; Y takes quant table 0, Cb and Cr table 1.
    segment(
      0xc0,
      Buffer.from([8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]),
    ),
    segment(0xc4, Buffer.concat([dhtTable(0x00, DC_TABLE), dhtTable(0x10, AC_TABLE)])),
    segment(0xda, Buffer.from([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])),
    scan,
    marker(0xd9),
  ]);
}

/** Noise amplitude (standard deviation, in DCT units) at zig-zag position k: NOISE_LOW / (1 + k / NOISE_FALLOFF). */
const NOISE_LOW = 6;
const NOISE_FALLOFF = 3;
/** The standard deviation of the sum of two random bytes (a triangular distribution around 255). */
const BYTE_PAIR_SD = Math.sqrt((2 * (256 * 256 - 1)) / 12);

/** For each AC position and each sum of two random bytes, the quantized coefficient. */
function noiseCoefficients(quant: Uint8Array): Int8Array {
  const limit = (1 << MAX_NOISE_SIZE) - 1;
  const lut = new Int8Array(64 * 511);
  for (let k = 1; k < 64; k++) {
    const scale = NOISE_LOW / (1 + k / NOISE_FALLOFF) / BYTE_PAIR_SD / quant[k];
    for (let s = 0; s < 511; s++) lut[k * 511 + s] = Math.max(-limit, Math.min(limit, Math.round((s - 255) * scale)));
  }
  return lut;
}

function writeNoise(writer: BitWriter, lut: Int8Array, random: () => number): void {
  let run = 0;
  let r = 0;
  for (let k = 1; k < 64; k++) {
    // Two byte pairs per random draw.
    const pair = k & 1 ? (r = random()) & 0xffff : r >>> 16;
    const value = lut[k * 511 + (pair & 255) + (pair >>> 8)];
    if (value === 0) {
      run++;
      continue;
    }
    for (; run > 15; run -= 16) writer.code(AC_TABLE, ZRL);
    writeValue(writer, AC_TABLE, run, value);
    run = 0;
  }
  if (run > 0) writer.code(AC_TABLE, EOB);
}

function dhtTable(classAndId: number, table: Huffman): Buffer {
  return Buffer.from([classAndId, ...table.counts, ...table.symbols]);
}

function marker(code: number): Buffer {
  return Buffer.from([0xff, code]);
}

function segment(code: number, data: Buffer): Buffer {
  const head = Buffer.from([0xff, code, 0, 0]);
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
}
