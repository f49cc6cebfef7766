// What an image's first bytes say it is. The service's word (or ours) is not trusted before storing.

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export const CONTENT_TYPES: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
export const EXTENSIONS: Record<ImageFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp' };
/** Every thumbnail is a WebP (gallery/thumbnails.ts makes them; the store keeps and serves them). */
export const THUMBNAIL_CONTENT_TYPE = CONTENT_TYPES.webp;

/** The format an image's first bytes (12 are enough) say it has. */
export function sniffImageFormat(head: Uint8Array): ImageFormat | undefined {
  const b = head;
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    b[1] === 0x50 &&
    b[2] === 0x4e &&
    b[3] === 0x47 &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  ) {
    return 'png';
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return undefined;
}
