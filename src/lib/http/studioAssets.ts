import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

// The studio page's files, built by npm run build (dev/build/studio.ts) into a folder beside the app's
// bundle and read into memory once: the shell (no data in it; always revalidated) and its
// content-hashed script and style sheet (cached for a year). Each is kept gzipped too: the
// Functions host does not compress answers.

/** The folder beside the bundle that holds the studio's files. */
export const STUDIO_DIR = 'studio';
export const STUDIO_SHELL = 'index.html';
/** The route the assets are served from (host.json's routePrefix is api). */
export const STUDIO_ASSET_PATH = '/api/studio/assets/';
/** What esbuild names an asset: [name]-[hash].ext. */
const ASSET_NAME = /^[\w-]+-[A-Z0-9]{8}\.(js|css)$/;

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

export interface StudioFile {
  bytes: Buffer;
  gzipped: Buffer;
  contentType: string;
}

const file = (path: string): StudioFile => {
  const bytes = readFileSync(path);
  return { bytes, gzipped: gzipSync(bytes, { level: 9 }), contentType: CONTENT_TYPES[path.split('.').pop()!] };
};

export class StudioAssets {
  private constructor(
    readonly shell: StudioFile,
    private readonly assets: Map<string, StudioFile>,
  ) {}

  /** The built studio in `dir`; undefined when it was not built there. */
  static load(dir: string): StudioAssets | undefined {
    if (!existsSync(join(dir, STUDIO_SHELL))) return undefined;
    const names = existsSync(join(dir, 'assets'))
      ? readdirSync(join(dir, 'assets')).filter((n) => ASSET_NAME.test(n))
      : [];
    return new StudioAssets(
      file(join(dir, STUDIO_SHELL)),
      new Map(names.map((n) => [n, file(join(dir, 'assets', n))])),
    );
  }

  /** A hashed asset by its file name; undefined for any other name. */
  asset(name: string): StudioFile | undefined {
    // Only names load() took are there.
    return this.assets.get(name);
  }
}
