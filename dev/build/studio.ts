import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { STUDIO_ASSET_PATH, STUDIO_SHELL } from '../../src/lib/http/studioAssets.js';

// The studio page's build: esbuild bundles src/studio/main.ts (and the CSS it imports) for the
// browser into content-hashed files, and writes the shell (src/studio/index.html) naming them.
// npm run build puts them in dist/app/studio/, beside the app's bundle, and the package ships them.

export interface StudioBuild {
  dir: string;
  /** Files written, relative to dir. */
  files: string[];
}

export async function buildStudio(root: string, outdir: string): Promise<StudioBuild> {
  rmSync(outdir, { recursive: true, force: true });
  const assets = join(outdir, 'assets');
  mkdirSync(assets, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/studio/main.ts'],
    outdir: assets,
    entryNames: '[name]-[hash]',
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  if (result.warnings.length > 0) throw new Error(`esbuild warned: ${result.warnings.map((w) => w.text).join('; ')}`);
  const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`the studio build made ${outputs.join(', ')}: one .js and one .css expected`);
  const shell = readFileSync(join(root, 'src', 'studio', 'index.html'), 'utf8')
    .replaceAll('{{js}}', `${STUDIO_ASSET_PATH}${js}`)
    .replaceAll('{{css}}', `${STUDIO_ASSET_PATH}${css}`);
  writeFileSync(join(outdir, STUDIO_SHELL), shell);
  return { dir: outdir, files: [STUDIO_SHELL, `assets/${js}`, `assets/${css}`] };
}
