import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PNG } from 'pngjs';
import type { ImageFormat } from '../images/format.js';

// Thumbnails: a WebP of at most 256 px on its long edge, made from a kept image's bytes. Decoders:
// pngjs (Node's zlib), and Squoosh's WebAssembly builds of libjpeg (mozjpeg) and libwebp, which also
// encodes. No native module: npm here runs no install scripts, and Flex Consumption builds nothing.
// The codecs load on the first thumbnail, not at start-up, on a worker thread in the deployed app.

export const THUMBNAIL_MAX_EDGE = 256;
/** WebP quality 0-100: a grid of small pictures, not an archive. */
const WEBP_QUALITY = 75;

/** The WebAssembly codecs, from their packages; the bundle carries copies beside itself (dev/build/bundle.ts). */
export const WASM_FILES = {
  webpEncode: '@jsquash/webp/codec/enc/webp_enc_simd.wasm',
  webpDecode: '@jsquash/webp/codec/dec/webp_dec.wasm',
  jpegDecode: '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm',
} as const;

/** Where the bundle keeps its copies of the codecs: dist/app/wasm. */
export const WASM_DIR = 'wasm';

export interface Rgba {
  width: number;
  height: number;
  /** 4 bytes a pixel, not premultiplied. */
  data: Uint8Array;
}

/** A thumbnail's size: the long edge at most `max`, the aspect kept, never enlarged, never 0. */
export function thumbnailSize(
  width: number,
  height: number,
  max = THUMBNAIL_MAX_EDGE,
): { width: number; height: number } {
  if (!(width > 0 && height > 0)) throw new RangeError(`Invalid image size ${width}x${height}`);
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * Shrinks by averaging each output pixel's box of source pixels, weighted by alpha so that a
 * transparent background does not darken the edges. One pass over the source.
 */
export function downscale(source: Rgba, width: number, height: number): Rgba {
  const { width: sw, height: sh, data: src } = source;
  const sums = new Float64Array(width * height * 4);
  const counts = new Uint32Array(width * height);
  const column = new Uint32Array(sw);
  for (let x = 0; x < sw; x++) column[x] = Math.min(width - 1, Math.floor((x * width) / sw));
  for (let y = 0; y < sh; y++) {
    const row = Math.min(height - 1, Math.floor((y * height) / sh)) * width;
    for (let x = 0, i = y * sw * 4; x < sw; x++, i += 4) {
      const o = row + column[x];
      const a = src[i + 3];
      const s = o * 4;
      sums[s] += src[i] * a;
      sums[s + 1] += src[i + 1] * a;
      sums[s + 2] += src[i + 2] * a;
      sums[s + 3] += a;
      counts[o]++;
    }
  }
  const data = new Uint8Array(width * height * 4);
  for (let o = 0; o < width * height; o++) {
    const s = o * 4;
    const alpha = sums[s + 3];
    if (alpha > 0) {
      data[s] = Math.round(sums[s] / alpha);
      data[s + 1] = Math.round(sums[s + 1] / alpha);
      data[s + 2] = Math.round(sums[s + 2] / alpha);
    }
    data[s + 3] = Math.round(alpha / Math.max(1, counts[o]));
  }
  return { width, height, data };
}

/** Loads once on first use (each codec only when an image needs it); a failure is tried again next time. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    loaded.catch(() => (loaded = undefined));
    return loaded;
  };
}

const rgba = (image: ImageData): Rgba => ({
  width: image.width,
  height: image.height,
  data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength),
});

const webpEncoder = once(async () => {
  const codec = await import('@jsquash/webp/encode.js');
  await codec.init(await wasmModule(WASM_FILES.webpEncode));
  return codec.default;
});
const webpDecoder = once(async () => {
  const codec = await import('@jsquash/webp/decode.js');
  await codec.init(await wasmModule(WASM_FILES.webpDecode));
  return codec.default;
});
const jpegDecoder = once(async () => {
  const codec = await import('@jsquash/jpeg/decode.js');
  await codec.init(await wasmModule(WASM_FILES.jpegDecode));
  return codec.default;
});

async function encodeWebp(image: Rgba): Promise<Uint8Array> {
  const encode = await webpEncoder();
  return new Uint8Array(
    await encode(
      {
        width: image.width,
        height: image.height,
        data: new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength),
      } as ImageData,
      { quality: WEBP_QUALITY },
    ),
  );
}

/** Module options that hand Emscripten an already compiled module: it fetches nothing itself. */
async function wasmModule(specifier: string): Promise<{
  instantiateWasm: (
    imports: WebAssembly.Imports,
    callback: (instance: WebAssembly.Instance) => void,
  ) => WebAssembly.Exports;
}> {
  const compiled = await WebAssembly.compile(readFileSync(wasmPath(specifier)));
  return {
    instantiateWasm: (imports: WebAssembly.Imports, callback: (instance: WebAssembly.Instance) => void) => {
      const instance = new WebAssembly.Instance(compiled, imports);
      callback(instance);
      return instance.exports;
    },
  };
}

/** The bundle's copy beside it where there is one (Azure), else the package's (development, tests). */
export function wasmPath(specifier: string): string {
  const beside = join(__dirname, WASM_DIR, basename(specifier));
  return existsSync(beside) ? beside : createRequire(__filename).resolve(specifier);
}

const arrayBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

async function decode(bytes: Uint8Array, format: ImageFormat): Promise<Rgba> {
  if (format === 'png') {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, data: png.data };
  }
  const decoder = format === 'jpeg' ? await jpegDecoder() : await webpDecoder();
  return rgba(await decoder(arrayBuffer(bytes)));
}

/** A thumbnail of an image, made here, on this thread. */
export async function renderThumbnail(bytes: Uint8Array, format: ImageFormat): Promise<Thumbnail> {
  const full = await decode(bytes, format);
  const size = thumbnailSize(full.width, full.height);
  const small =
    size.width === full.width && size.height === full.height ? full : downscale(full, size.width, size.height);
  return { bytes: await encodeWebp(small), ...size };
}

export interface Thumbnail {
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** The bundle's worker (dev/build/bundle.ts builds src/lib/gallery/thumbnailWorker.ts beside it). */
export const THUMBNAIL_WORKER = 'thumbnail-worker.js';

interface Waiting {
  resolve(thumbnail: Thumbnail): void;
  reject(err: Error): void;
}

/** A worker with nothing to do goes after this long: its codecs hold tens of MB the instance may want back. */
export const WORKER_IDLE_MS = 30_000;

/**
 * Decoding is synchronous work (50 to 400 ms an image): in the deployed app it runs on a worker
 * thread of its own, so that the instance's event loop keeps serving requests meanwhile. The thread
 * starts on the first thumbnail and ends after `idleMs` without one.
 */
export class ThumbnailThread {
  private current: { thread: Worker; pending: Map<number, Waiting>; idle?: NodeJS.Timeout } | undefined;
  private nextId = 0;

  constructor(
    private readonly path: string,
    private readonly idleMs = WORKER_IDLE_MS,
  ) {}

  get running(): boolean {
    return this.current !== undefined;
  }

  make(bytes: Uint8Array, format: ImageFormat): Promise<Thumbnail> {
    const { thread, pending, idle } = (this.current ??= this.start());
    clearTimeout(idle);
    const id = this.nextId++;
    return new Promise<Thumbnail>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      // A copy of its own, moved rather than copied again: the caller's buffer may share a pool.
      const copy = new Uint8Array(bytes);
      thread.postMessage({ id, bytes: copy, format }, [copy.buffer]);
    });
  }

  private start(): NonNullable<ThumbnailThread['current']> {
    const thread = new Worker(this.path);
    // An idle worker does not keep the instance alive.
    thread.unref();
    const pending = new Map<number, Waiting>();
    thread.on('message', (answer: { id: number; thumbnail?: Thumbnail; error?: string }) => {
      const waiting = pending.get(answer.id);
      pending.delete(answer.id);
      if (answer.thumbnail) waiting?.resolve(answer.thumbnail);
      else waiting?.reject(new Error(answer.error ?? 'The thumbnail worker failed.'));
      if (pending.size === 0 && this.current?.thread === thread)
        this.current.idle = setTimeout(() => void thread.terminate(), this.idleMs).unref();
    });
    const lost = (err: Error) => {
      // The next thumbnail starts a new thread.
      if (this.current?.thread === thread) this.current = undefined;
      for (const waiting of pending.values()) waiting.reject(err);
      pending.clear();
    };
    thread.on('error', lost);
    thread.on('exit', (code) => lost(new Error(`The thumbnail worker exited with ${code}.`)));
    return { thread, pending };
  }
}

/** The bundle's worker beside it; without the bundle (tests, dev tools) there is none, and thumbnails are made here. */
const workerPath = join(__dirname, THUMBNAIL_WORKER);
const thread = existsSync(workerPath) ? new ThumbnailThread(workerPath) : undefined;

let queue: Promise<unknown> = Promise.resolve();

/**
 * A WebP thumbnail of an image. One at a time per instance: the work is CPU-bound either way, and
 * only one full-size picture is in memory at once (a 3840x2160 image is 33 MB of pixels).
 */
export function makeThumbnail(bytes: Uint8Array, format: ImageFormat): Promise<Thumbnail> {
  const run = queue.then(() => (thread ? thread.make(bytes, format) : renderThumbnail(bytes, format)));
  queue = run.catch(() => undefined);
  return run;
}
