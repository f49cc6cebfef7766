import { zipSync, type Zippable } from 'fflate';
import { z } from 'zod';
import { InvalidRequestError } from './errors.js';
import { fromZodIssues } from './request.js';

// Several kept images as one ZIP, built in memory: the selection is bounded in count and in bytes,
// so an instance never holds more than ZIP_MAX_BYTES for one, and a selection past either bound is
// refused before anything is read, naming the field.

export const ZIP_MAX_IMAGES = 50;
export const ZIP_MAX_BYTES = 100 * 1024 * 1024;

export const zipRequest = z
  .strictObject({
    blobs: z
      .array(z.string().min(1).max(1024).describe("An image blob's name, as the gallery lists it."))
      .min(1)
      .max(ZIP_MAX_IMAGES)
      .describe(`The images to put in the ZIP: 1 to ${ZIP_MAX_IMAGES}, together at most ${ZIP_MAX_BYTES / 1024 / 1024} MB.`),
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
    throw new InvalidRequestError(`Invalid value for 'blobs': the images weigh ${mb(total)} MB together, more than the ${mb(max)} MB one ZIP may hold; select fewer.`, 'blobs');
  }
}

export interface ZipEntry {
  name: string;
  bytes: Uint8Array;
  /** Images are compressed already: stored as they are. Records are deflated. */
  compress: boolean;
}

export function zipEntries(entries: ZipEntry[]): Uint8Array {
  const files: Zippable = {};
  for (const entry of entries) files[entry.name] = [entry.bytes, { level: entry.compress ? 6 : 0 }];
  return zipSync(files);
}
