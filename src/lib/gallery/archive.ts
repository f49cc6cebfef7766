import { Readable } from 'node:stream';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { z } from 'zod';
import { fromZodIssues, InvalidRequestError } from '../core/errors.js';

// Several kept images as one ZIP, written to the caller as each image is read (fflate's streaming
// Zip: sizes and CRCs go in data descriptors after each entry), so a ZIP holds one image's chunks in
// memory at a time, not the selection. The selection is still bounded in count and in bytes, and one
// past either bound is refused before anything is read, naming the field.

export const ZIP_MAX_IMAGES = 50;
export const ZIP_MAX_BYTES = 100 * 1024 * 1024;

export const zipRequest = z
  .strictObject({
    blobs: z
      .array(z.string().min(1).max(1024).describe("An image blob's name, as the gallery lists it."))
      .min(1)
      .max(ZIP_MAX_IMAGES)
      .describe(
        `The images to put in the ZIP: 1 to ${ZIP_MAX_IMAGES}, together at most ${ZIP_MAX_BYTES / 1024 / 1024} MB.`,
      ),
  })
  .describe('The images to download as one ZIP.');

export type ZipRequest = z.infer<typeof zipRequest>;

/** The selection, each blob once; a bad body is a 400 naming the field. */
export function parseZipRequest(body: unknown): ZipRequest {
  const parsed = zipRequest.safeParse(body);
  if (!parsed.success) throw fromZodIssues(parsed.error.issues);
  return { blobs: [...new Set(parsed.data.blobs)] };
}

/** Refuses a selection whose images weigh more than a ZIP may hold. */
export function checkZipBytes(sizes: number[], max = ZIP_MAX_BYTES): void {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > max) {
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    throw new InvalidRequestError(
      `Invalid value for 'blobs': the images weigh ${mb(total)} MB together, more than the ${mb(max)} MB one ZIP may hold; select fewer.`,
      'blobs',
    );
  }
}

export interface ZipEntry {
  name: string;
  /** Images are compressed already: stored as they are. Records are deflated. */
  compress: boolean;
  /** Opened when its turn comes, so that one entry is read at a time. */
  open(): Promise<Uint8Array | AsyncIterable<Uint8Array>>;
}

/**
 * The entries as one ZIP, each read and written in turn, at the pace the reader takes it. A failure
 * once it has begun (Storage gone mid-way) destroys the stream with the error: the download ends cut
 * off, never as a ZIP that looks whole. A reader who leaves stops the reading.
 */
export function zipStream(entries: ZipEntry[]): Readable {
  let resume: (() => void) | undefined;
  const out = new Readable({
    read: () => {
      resume?.();
      resume = undefined;
    },
    destroy: (err, callback) => {
      resume?.();
      callback(err);
    },
  });
  // Chunks come out of fflate as they go in: waiting for the reader after each keeps memory to a chunk or two.
  const zip = new Zip((err, chunk, final) => {
    if (err) out.destroy(err);
    else if (!out.destroyed) {
      out.push(chunk);
      if (final) out.push(null);
    }
  });
  const readerReady = () =>
    out.readableLength < out.readableHighWaterMark
      ? Promise.resolve()
      : new Promise<void>((resolve) => (resume = resolve));
  void (async () => {
    try {
      for (const entry of entries) {
        if (out.destroyed) return;
        const file = entry.compress ? new ZipDeflate(entry.name, { level: 6 }) : new ZipPassThrough(entry.name);
        zip.add(file);
        const body = await entry.open();
        if (body instanceof Uint8Array) {
          file.push(body, true);
        } else {
          for await (const chunk of body) {
            file.push(chunk);
            await readerReady();
            if (out.destroyed) return;
          }
          file.push(new Uint8Array(0), true);
        }
        await readerReady();
      }
      zip.end();
    } catch (err) {
      zip.terminate();
      out.destroy(err as Error);
    }
  })();
  return out;
}
