import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { zipSync } from 'fflate';
import { PROJECT_ROOT as root } from '../processes.js';

// `npm run package`: what deploys, staged in dist/deploy/ and zipped to dist/deploy.zip. Only what
// runs: host.json, a package.json that names the bundle as main, the bundle (dist/app/), and the
// packages the bundle leaves external (package.json's dependencies) with what they depend on, as
// `npm install --omit=dev` would lay them out. No source map, no TypeScript, no dev tool.
// azd deploys the folder (azure.yaml `dist: dist/deploy`), `az functionapp deployment source
// config-zip` the zip, and `func azure functionapp publish` run inside dist/deploy the same files.

export const DEPLOY_DIR = join(root, 'dist', 'deploy');
export const DEPLOY_ZIP = join(root, 'dist', 'deploy.zip');

interface PackageJson {
  name: string;
  version: string;
  main: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** Where Node's require finds package `name` from `fromDir`: the nearest node_modules up to `top`. */
function packageDir(name: string, fromDir: string, top: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === top || dirname(dir) === dir) return undefined;
  }
}

/**
 * The installed folders of `names` and of everything they depend on at run time (dependencies,
 * installed optional and peer dependencies), relative to `top`: what `npm install --omit=dev` keeps.
 */
export function productionPackages(names: string[], top = root): string[] {
  const found = new Set<string>();
  const queue: [string, string, boolean][] = names.map((name) => [name, top, false]);
  while (queue.length > 0) {
    const [name, from, optional] = queue.shift()!;
    const dir = packageDir(name, from, top);
    if (!dir) {
      if (optional) continue;
      throw new Error(`${name} (needed from ${relative(top, from) || '.'}) is not installed: run npm ci`);
    }
    if (found.has(dir)) continue;
    found.add(dir);
    const pkg = readJson<PackageJson>(join(dir, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push([dep, dir, false]);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) queue.push([dep, dir, true]);
    for (const dep of Object.keys(pkg.peerDependencies ?? {}))
      queue.push([dep, dir, pkg.peerDependenciesMeta?.[dep]?.optional ?? false]);
  }
  return [...found].map((dir) => relative(top, dir).split(sep).join('/')).sort();
}

/** Every file under `dir`, relative to `top`, not descending into nested node_modules. */
export function filesUnder(dir: string, top: string, keep: (path: string) => boolean = () => true): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(path, top, keep);
    const rel = relative(top, path).split(sep).join('/');
    return entry.isFile() && keep(rel) ? [rel] : [];
  });
}

export interface Staged {
  dir: string;
  /** Paths relative to dir. */
  files: string[];
  bytes: number;
}

/** Copies `files` (relative to `from`) to `to`, replacing package.json with `packageJson`. */
export function stage(from: string, to: string, files: string[], packageJson: object): Staged {
  rmSync(to, { recursive: true, force: true });
  let bytes = 0;
  for (const file of files) {
    const target = join(to, file);
    mkdirSync(dirname(target), { recursive: true });
    if (file === 'package.json') writeFileSync(target, `${JSON.stringify(packageJson, null, 2)}\n`);
    else copyFileSync(join(from, file), target);
    bytes += statSync(target).size;
  }
  return { dir: to, files: [...files].sort(), bytes };
}

/** Zips a staged folder (deflate); returns the zip's bytes. */
export function zip(staged: Staged, out: string): number {
  const entries = Object.fromEntries(staged.files.map((f) => [f, new Uint8Array(readFileSync(join(staged.dir, f)))]));
  const data = zipSync(entries, { level: 6 });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, data);
  return data.length;
}

const noSourceMap = (path: string) => !path.endsWith('.map');
/** Of an installed package, what Node runs and its licence: no source maps, TypeScript sources or types, or docs. */
const runsOrLicence = (path: string) => !/\.(map|ts|mts|cts|md)$/i.test(path);

/** The files of the deployed package, relative to the project root. */
export function deployFiles(top = root): { files: string[]; packageJson: object } {
  const pkg = readJson<PackageJson>(join(top, 'package.json'));
  const bundleDir = dirname(pkg.main);
  if (pkg.main.includes('*') || !existsSync(join(top, pkg.main)))
    throw new Error(`${pkg.main} (package.json main) is missing: run npm run build`);
  const externals = Object.keys(pkg.dependencies ?? {});
  const files = [
    'host.json',
    'package.json',
    ...filesUnder(join(top, bundleDir), top, noSourceMap),
    ...productionPackages(externals, top).flatMap((dir) => filesUnder(join(top, dir), top, runsOrLicence)),
  ];
  // Only what the deployed app reads of package.json: its main, and what is installed beside it.
  const packageJson = {
    name: pkg.name,
    version: pkg.version,
    private: true,
    main: pkg.main,
    dependencies: pkg.dependencies ?? {},
  };
  return { files, packageJson };
}

/** Stages dist/deploy and writes dist/deploy.zip. */
export function packageApp(top = root): Staged & { zipBytes: number } {
  const { files, packageJson } = deployFiles(top);
  const staged = stage(top, DEPLOY_DIR, files, packageJson);
  return { ...staged, zipBytes: zip(staged, DEPLOY_ZIP) };
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  try {
    const staged = packageApp();
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
    console.log(
      `package: ${relative(root, staged.dir)} ${staged.files.length} files, ${mb(staged.bytes)}; ${relative(root, DEPLOY_ZIP)} ${mb(staged.zipBytes)}`,
    );
  } catch (err) {
    console.error(`package: ${(err as Error).message}`);
    process.exit(1);
  }
}
