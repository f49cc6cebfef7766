import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import ignore from 'ignore';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { bundle, bundledPackages, externals, type BundleResult } from '../../dev/build/bundle.js';
import { deployFiles, stage, zip, type Staged } from '../../dev/build/package.js';
import { renderImage } from '../../dev/fakes/emulator/images.js';
import { THUMBNAIL_WORKER, ThumbnailThread, WASM_FILES } from '../../src/lib/gallery/thumbnails.js';
import { quietFor, untilHolds } from '../support/until.js';

// The deployed package: src/index.ts is the one entry point and imports every function module;
// esbuild bundles it, leaving out exactly package.json's dependencies; what `npm run package` stages
// holds the bundle and those packages only, loads on its own in a fresh Node process, registers
// every function, and zips to at most 5 MB. Built here in a temporary folder: dist/ is left alone
// for the integration tests that run beside these.

const root = join(__dirname, '..', '..');
const MAX_ZIP_BYTES = 5 * 1024 * 1024;

const functionModules = readdirSync(join(root, 'src', 'functions')).filter((f) => f.endsWith('.ts'));

describe('src/index.ts', () => {
  const index = readFileSync(join(root, 'src', 'index.ts'), 'utf8');
  const imported = [...index.matchAll(/^import '\.\/functions\/([\w.-]+)\.js';$/gm)].map((m) => `${m[1]}.ts`);

  it("imports every module of src/functions/, so that each one's functions are registered", () => {
    expect(functionModules.length).toBeGreaterThan(0);
    expect(imported.sort()).toEqual([...functionModules].sort());
  });

  it('turns on HTTP streaming', () => {
    expect(index).toMatch(/^app\.setup\(\{ enableHttpStream: true \}\);$/m);
  });
});

describe('the bundle and the deployed package', () => {
  let work: string;
  let built: BundleResult;
  let staged: Staged;
  let zipBytes: number;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'package-test-'));
    // A copy of the project's layout with the bundle built into it, node_modules shared.
    const project = join(work, 'project');
    mkdirSync(project);
    for (const file of ['host.json', 'package.json']) copyFileSync(join(root, file), join(project, file));
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'), 'dir');
    const { main } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
    built = await bundle(join(project, main));
    const { files, packageJson } = deployFiles(project);
    staged = stage(project, join(work, 'deploy'), files, packageJson);
    zipBytes = zip(staged, join(work, 'deploy.zip'));
  }, 120_000);

  it("leaves out exactly package.json's dependencies (@azure/functions: the worker and the local host reach the app through it)", () => {
    expect(externals()).toEqual(['@azure/functions']);
    const required = new Set(
      Object.values(built.metafile.inputs)
        .flatMap((input) => input.imports)
        .filter((i) => i.external)
        .map((i) => i.path.replace(/^node:/, '')),
    );
    const packages = [...required].filter((p) => !builtinModules.includes(p));
    expect(packages.sort()).toEqual(externals());
    // ...and holds the rest, @azure/functions never among them.
    expect(bundledPackages(built.metafile)).not.toContain('@azure/functions');
    expect(bundledPackages(built.metafile)).toEqual(
      expect.arrayContaining(['openai', 'zod', '@azure/storage-blob', '@azure/identity']),
    );
  });

  it('stages only what runs: host.json, package.json, the bundle and the external packages, no source map', () => {
    const outside = staged.files.filter((f) => !f.startsWith('node_modules/'));
    // Beside the bundle: the thumbnails' codecs and the studio page, which the app reads from its own folder.
    const codecs = Object.values(WASM_FILES).map((f) => `dist/app/wasm/${basename(f)}`);
    const studio = outside.filter((f) => f.startsWith('dist/app/studio/'));
    expect(studio.map((f) => f.replace(/-[A-Z0-9]{8}\./, '-HASH.')).sort()).toEqual([
      'dist/app/studio/assets/main-HASH.css',
      'dist/app/studio/assets/main-HASH.js',
      'dist/app/studio/index.html',
    ]);
    expect(outside.sort()).toEqual(
      [
        'dist/app/index.js',
        'dist/app/index.js.LEGAL.txt',
        `dist/app/${THUMBNAIL_WORKER}`,
        ...studio,
        ...codecs,
        'host.json',
        'package.json',
      ].sort(),
    );
    const packages = new Set(
      staged.files
        .filter((f) => f.startsWith('node_modules/'))
        .map((f) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)![1]),
    );
    expect([...packages].sort()).toEqual(['@azure/functions', '@azure/functions-extensions-base', 'cookie']);
    expect(staged.files.filter((f) => /\.(map|ts)$/.test(f))).toEqual([]);
    const deployed = JSON.parse(readFileSync(join(staged.dir, 'package.json'), 'utf8')) as {
      main: string;
      dependencies: Record<string, string>;
      scripts?: unknown;
    };
    expect(deployed.main).toBe('dist/app/index.js');
    expect(Object.keys(deployed.dependencies)).toEqual(externals());
    expect(deployed.scripts).toBeUndefined();
  });

  it(`zips to at most ${MAX_ZIP_BYTES / 1024 / 1024} MB`, () => {
    expect(zipBytes).toBeLessThanOrEqual(MAX_ZIP_BYTES);
  });

  it('loads on its own in a fresh Node process, with nothing but what it ships, and registers every function', () => {
    // The local host's way of catching registrations: replace app.http and app.storageQueue on the
    // one @azure/functions module, the package's own copy.
    const probe = `
      const functions = require(require.resolve('@azure/functions', { paths: [process.cwd()] }));
      const names = [];
      functions.app.http = (name) => names.push('http:' + name);
      functions.app.storageQueue = (name) => names.push('queue:' + name);
      require(require('path').join(process.cwd(), require('./package.json').main));
      process.stdout.write('\\nnames ' + JSON.stringify(names) + '\\n');`;
    const env = {
      PATH: process.env.PATH ?? '',
      AZURE_OPENAI_ENDPOINT: 'https://cog-x.openai.azure.com/',
      AZURE_OPENAI_DEPLOYMENTS: 'gpt-image-2=gpt-image-2',
      KEY_VAULT_URI: 'https://kv-x.vault.azure.net/',
      AzureWebJobsStorage__blobServiceUri: 'https://stx.blob.core.windows.net/',
      AzureWebJobsStorage__queueServiceUri: 'https://stx.queue.core.windows.net/',
      AzureWebJobsStorage__tableServiceUri: 'https://stx.table.core.windows.net/',
    };
    const out = execFileSync(process.execPath, ['-e', probe], { cwd: staged.dir, env, encoding: 'utf8' });
    const names = JSON.parse(
      out
        .split('\n')
        .find((l) => l.startsWith('names '))!
        .slice('names '.length),
    ) as string[];
    // Every function module registers at least one function, each name once.
    expect(names.length).toBeGreaterThanOrEqual(functionModules.length);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['http:health', 'queue:processImageRequest']));
  });

  it('makes a thumbnail on its worker thread with the codecs it ships, none from node_modules', () => {
    const png = renderImage({ prompt: 'packaged', width: 640, height: 480, format: 'png' }).toString('base64');
    const probe = `
      const { Worker } = require('node:worker_threads');
      const worker = new Worker(require('path').join(process.cwd(), 'dist/app/${THUMBNAIL_WORKER}'));
      worker.on('message', (answer) => {
        const b = Buffer.from(answer.thumbnail ? answer.thumbnail.bytes : []);
        process.stdout.write('\\nthumbnail ' + JSON.stringify({ error: answer.error, riff: b.toString('ascii', 8, 12), width: answer.thumbnail && answer.thumbnail.width, height: answer.thumbnail && answer.thumbnail.height }) + '\\n');
        process.exit(0);
      });
      worker.postMessage({ id: 1, bytes: new Uint8Array(Buffer.from('${png}', 'base64')), format: 'png' });`;
    const out = execFileSync(process.execPath, ['-e', probe], {
      cwd: staged.dir,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    expect(staged.files.some((f) => f.includes('@jsquash') || f.includes('pngjs'))).toBe(false);
    const answer = JSON.parse(
      out
        .split('\n')
        .find((l) => l.startsWith('thumbnail '))!
        .slice('thumbnail '.length),
    );
    expect(answer).toEqual({ riff: 'WEBP', width: 256, height: 192 });
  });

  it('starts the thumbnail thread on the first thumbnail and ends it once idle, starting again when needed', async () => {
    // The idle timer on a clock the test moves; the thread's messages and its exit go on as ever.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const thread = new ThumbnailThread(join(staged.dir, 'dist', 'app', THUMBNAIL_WORKER), 300);
      const png = renderImage({ prompt: 'idle', width: 512, height: 512, format: 'png' });
      expect(thread.running).toBe(false);
      const [first, second] = await Promise.all([thread.make(png, 'png'), thread.make(png, 'png')]);
      expect([first.width, second.width]).toEqual([256, 256]);
      expect(thread.running).toBe(true);
      // Idle for less than its 300 ms: still there.
      vi.advanceTimersByTime(299);
      await quietFor(100, 'a thread told to end too soon would have exited by now');
      expect(thread.running).toBe(true);
      vi.advanceTimersByTime(1);
      await untilHolds(() => !thread.running);
      expect((await thread.make(png, 'png')).height).toBe(256);
      expect(thread.running).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('.funcignore admits from the project root exactly what dist/deploy holds besides node_modules', () => {
    const rules = ignore().add(readFileSync(join(root, '.funcignore'), 'utf8'));
    // The project tree after `npm run build && npm run package`, node_modules aside.
    const tree = [
      ...readdirSync(root, { withFileTypes: true })
        .filter((e) => !['node_modules', 'dist', '.git'].includes(e.name))
        .map((e) => (e.isDirectory() ? `${e.name}/x` : e.name)),
      ...staged.files.filter((f) => f.startsWith('dist/app/')),
      'dist/app/index.js.map',
      'dist/src/functions/health.js',
      'dist/src/functions/health.js.map',
      'dist/dev/fakes/host/main.js',
      'dist/bench/run.js',
      'dist/deploy/host.json',
      'dist/deploy.zip',
      '.git/HEAD',
    ];
    const admitted = tree.filter((path) => !rules.ignores(path));
    expect(admitted.sort()).toEqual(staged.files.filter((f) => !f.startsWith('node_modules/')).sort());
  });
});
