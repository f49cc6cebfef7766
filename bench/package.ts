import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployFiles, filesUnder, productionPackages, stage, zip, type Staged } from '../dev/build/package.js';

// What deploys, unbundled against bundled, side by side in one run: package size, file count and
// the time a fresh Node process takes to load the function modules (@azure/functions in test mode,
// Azure's settings), with the memory it then holds.
//   unbundled: the tsc output (dist/src, maps included, as .funcignore shipped it) and the production
//              node_modules of every package it requires, main = dist/src/functions/*.js.
//   bundled:   exactly what `npm run package` stages: the esbuild bundle and its external packages.
// Each is staged in its own folder outside the project, so that it can only load what it ships.
// BENCH_PACKAGE_RUNS: load-time runs per side (default 7), alternating, median reported.

const root = join(__dirname, '..', '..');
const LIMITS = { zipBytes: 5 * 1024 * 1024, loadMs: 100 };

/** Settings as infra/main.bicep writes them: key mode, identity-based storage, a user-assigned identity. */
const AZURE_SETTINGS = {
  AZURE_OPENAI_ENDPOINT: 'https://cog-bench.openai.azure.com/',
  AZURE_OPENAI_DEPLOYMENTS: 'gpt-image-2=gpt-image-2',
  AZURE_OPENAI_DEFAULT_DEPLOYMENT: 'gpt-image-2',
  AZURE_OPENAI_AUTH: 'key',
  KEY_VAULT_URI: 'https://kv-bench.vault.azure.net/',
  AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000000',
  AzureWebJobsStorage__blobServiceUri: 'https://stbench.blob.core.windows.net/',
  AzureWebJobsStorage__queueServiceUri: 'https://stbench.queue.core.windows.net/',
  AzureWebJobsStorage__tableServiceUri: 'https://stbench.table.core.windows.net/',
};

/** Runs in the child: requires the entry files and reports the time and memory it took. */
const PROBE = `
const files = JSON.parse(process.argv[1]);
const start = process.hrtime.bigint();
for (const file of files) require(file);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write('\\nprobe ' + JSON.stringify({ ms, rssMb: process.memoryUsage().rss / 1048576 }) + '\\n');
`;

interface Side {
  name: string;
  staged: Staged;
  zipBytes: number;
  entries: string[];
  loads: { ms: number; rssMb: number }[];
}

const packages = (staged: Staged) =>
  new Set(
    staged.files
      .filter((f) => f.startsWith('node_modules/'))
      .map((f) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)![1]),
  ).size;

/** The packages the tsc output requires (not relative, not built in). */
function requiredPackages(dir: string): string[] {
  const names = new Set<string>();
  for (const file of filesUnder(dir, dir, (f) => f.endsWith('.js'))) {
    for (const [, spec] of readFileSync(join(dir, file), 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
  }
  return [...names].sort();
}

function stageUnbundled(work: string): Side {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const src = join(root, 'dist', 'src');
  const required = requiredPackages(src);
  const files = [
    'host.json',
    'package.json',
    ...filesUnder(src, root),
    ...productionPackages(required, root).flatMap((dir) => filesUnder(join(root, dir), root)),
  ];
  const main = 'dist/src/functions/*.js';
  const staged = stage(root, join(work, 'unbundled'), files, {
    name: pkg.name,
    version: pkg.version,
    main,
    dependencies: Object.fromEntries(required.map((r) => [r, '*'])),
  });
  const functionsDir = join(staged.dir, 'dist', 'src', 'functions');
  const entries = readdirSync(functionsDir)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => join(functionsDir, f));
  return {
    name: 'unbundled (tsc + node_modules)',
    staged,
    zipBytes: zip(staged, join(work, 'unbundled.zip')),
    entries,
    loads: [],
  };
}

function stageBundled(work: string): Side {
  const { files, packageJson } = deployFiles(root);
  const staged = stage(root, join(work, 'bundled'), files, packageJson);
  const main = (packageJson as { main: string }).main;
  return {
    name: 'bundled (esbuild + externals)',
    staged,
    zipBytes: zip(staged, join(work, 'bundled.zip')),
    entries: [join(staged.dir, main)],
    loads: [],
  };
}

function load(side: Side): { ms: number; rssMb: number } {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...AZURE_SETTINGS };
  const out = execFileSync(process.execPath, ['-e', PROBE, JSON.stringify(side.entries)], {
    cwd: side.staged.dir,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // The app may print too (test mode says "HTTP streaming enabled."): the probe's line is marked.
  const line = out.split('\n').find((l) => l.startsWith('probe '));
  if (!line) throw new Error(`${side.name}: the probe printed no result:\n${out}`);
  return JSON.parse(line.slice('probe '.length)) as { ms: number; rssMb: number };
}

/** Disk use in 4 KiB blocks, as `du` counts it: thousands of small files cost far more than their bytes. */
const onDisk = (staged: Staged) =>
  staged.files.reduce((sum, f) => sum + Math.ceil(statSync(join(staged.dir, f)).size / 4096) * 4096, 0);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);

export async function runPackageBench(): Promise<void> {
  const runs = Number(process.env.BENCH_PACKAGE_RUNS ?? 7);
  const work = mkdtempSync(join(tmpdir(), 'bench-package-'));
  try {
    const sides = [stageUnbundled(work), stageBundled(work)];
    // One warm-up each (file cache), then alternate so that a noisy neighbour hurts both alike.
    for (const side of sides) load(side);
    for (let i = 0; i < runs; i++) for (const side of sides) side.loads.push(load(side));

    console.log(`\nPackage (${runs} loads each, median; Node ${process.versions.node}, ${process.arch})`);
    console.log(
      `${'package'.padEnd(32)}${'files'.padStart(8)}${'packages'.padStart(10)}${'unpacked MB'.padStart(13)}${'on disk MB'.padStart(12)}${'zip MB'.padStart(9)}${'load ms'.padStart(10)}${'RSS MB'.padStart(9)}`,
    );
    for (const s of sides) {
      console.log(
        `${s.name.padEnd(32)}${String(s.staged.files.length).padStart(8)}${String(packages(s.staged)).padStart(10)}${mb(s.staged.bytes).padStart(13)}${mb(onDisk(s.staged)).padStart(12)}` +
          `${mb(s.zipBytes).padStart(9)}${median(s.loads.map((l) => l.ms))
            .toFixed(1)
            .padStart(10)}${median(s.loads.map((l) => l.rssMb))
            .toFixed(1)
            .padStart(9)}`,
      );
    }
    const [unbundled, bundled] = sides as [Side, Side];
    const loadMs = median(bundled.loads.map((l) => l.ms));
    const spread = bundled.loads.map((l) => l.ms.toFixed(0)).join(', ');
    console.log(
      `bundled zip ${mb(bundled.zipBytes)} MB ${bundled.zipBytes <= LIMITS.zipBytes ? 'PASS' : 'FAIL'} (target ≤ 5 MB); ` +
        `load ${loadMs.toFixed(1)} ms ${loadMs <= LIMITS.loadMs ? 'PASS' : 'FAIL'} (target ≤ ${LIMITS.loadMs} ms; runs: ${spread})`,
    );
    console.log(
      `bundled/unbundled: zip ${(bundled.zipBytes / unbundled.zipBytes).toFixed(3)}, files ${(bundled.staged.files.length / unbundled.staged.files.length).toFixed(4)}, ` +
        `load ${(loadMs / median(unbundled.loads.map((l) => l.ms))).toFixed(2)}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
