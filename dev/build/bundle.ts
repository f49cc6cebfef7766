import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { STUDIO_DIR } from '../../src/lib/http/studioAssets.js';
import { THUMBNAIL_WORKER, WASM_DIR, WASM_FILES } from '../../src/lib/gallery/thumbnails.js';
import { PROJECT_ROOT as root } from '../processes.js';
import { buildStudio } from './studio.js';

// The deployed app is one file: esbuild bundles src/index.ts and everything it imports into
// package.json's `main`. What stays outside the bundle is exactly package.json's `dependencies`
// (installed in node_modules beside it); everything else is a devDependency that the bundle holds.
//
// @azure/functions stays external: the Functions worker and the local host (dev/host) both reach the
// app's registrations through the one @azure/functions module in node_modules (the worker through its
// @azure/functions-core hook, the local host by replacing app.http and app.storageQueue on that
// module object). A bundled copy would register with neither.
//
// Beside the bundle: the thumbnails' WebAssembly codecs (wasm/) and the studio page (studio/), which
// the app reads from its own folder; the package ships the folder whole.

interface PackageJson {
  main: string;
  dependencies?: Record<string, string>;
}

export const packageJson = (dir = root): PackageJson =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/** The packages the bundle leaves to node_modules: package.json's dependencies. */
export const externals = (dir = root): string[] => Object.keys(packageJson(dir).dependencies ?? {});

export const ENTRY = 'src/index.ts';

/**
 * zod's namespace re-exports every locale (about 260 KB of the bundle, all parsed at start-up); the
 * app only ever speaks English, so the bundle keeps `en` alone. Nothing in src/ reads z.locales.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/]/.test(args.importer) ? { path: 'zod-locales-en', namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: root,
      loader: 'js',
    }));
  },
};

export interface BundleResult {
  outfile: string;
  bytes: number;
  metafile: Metafile;
}

/** Bundles src/index.ts into `outfile` (package.json's main by default). */
export async function bundle(outfile = join(root, packageJson().main)): Promise<BundleResult> {
  const result = await build({
    ...NODE_BUNDLE,
    entryPoints: [ENTRY],
    outfile,
    external: externals(),
    plugins: [zodEnglishOnly],
    metafile: true,
  });
  if (result.warnings.length > 0) throw new Error(`esbuild warned: ${result.warnings.map((w) => w.text).join('; ')}`);
  // The thumbnail worker thread's own bundle, and the codecs it loads, beside the app's.
  const worker = await build({
    ...NODE_BUNDLE,
    entryPoints: [THUMBNAIL_WORKER_ENTRY],
    outfile: join(dirname(outfile), THUMBNAIL_WORKER),
  });
  if (worker.warnings.length > 0) throw new Error(`esbuild warned: ${worker.warnings.map((w) => w.text).join('; ')}`);
  copyCodecs(join(dirname(outfile), WASM_DIR));
  await buildStudio(root, join(dirname(outfile), STUDIO_DIR));
  return { outfile, bytes: statSync(outfile).size, metafile: result.metafile };
}

const THUMBNAIL_WORKER_ENTRY = 'src/lib/gallery/thumbnailWorker.ts';

/** How every Node bundle of the app is built. */
const NODE_BUNDLE = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Packages' ES builds, so that esbuild can drop what is not used and hoist the rest into one
  // scope: a third less code to parse at start-up than their CommonJS builds, which is most of
  // the cold-start cost. The one ES-only construct they use, import.meta.url (as
  // @azure/storage-common's crc64 does), becomes the bundle's own URL.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: 'var __bundleUrl=require("node:url").pathToFileURL(__filename).href;' },
  // Smaller and faster to parse. Names are minified too (keeping them costs about 20 ms at
  // start-up); no source map ships.
  minify: true,
  sourcemap: false,
  // Licence texts of the bundled packages go to <bundle>.LEGAL.txt beside each bundle.
  legalComments: 'linked',
  logLevel: 'warning',
} satisfies BuildOptions;

/** The codecs the thumbnails load at run time (src/lib/gallery/thumbnails.ts finds them beside the bundle). */
function copyCodecs(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const resolve = createRequire(join(root, 'package.json')).resolve;
  for (const specifier of Object.values(WASM_FILES)) copyFileSync(resolve(specifier), join(dir, basename(specifier)));
}

/** The packages inside a bundle, by name, from its metafile. */
export function bundledPackages(metafile: Metafile): string[] {
  const names = Object.keys(metafile.inputs).flatMap((input) => {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    return match ? [match[1]] : [];
  });
  return [...new Set(names)].sort();
}

async function main(): Promise<void> {
  const started = Date.now();
  const { outfile, bytes, metafile } = await bundle();
  console.log(
    `bundle: ${relative(root, outfile)} ${(bytes / 1024).toFixed(0)} KiB in ${Date.now() - started} ms; ` +
      `${bundledPackages(metafile).length} packages inside, external: ${externals().join(', ') || 'none'}`,
  );
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
