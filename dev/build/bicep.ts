import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { PROJECT_ROOT as root } from '../processes.js';

// The real Bicep CLI for the tests and `npm run infra`. Found, in this order, at BICEP_PATH, on
// PATH, where `az bicep install` leaves it (~/.azure/bin), or in .dev/bicep where a previous run
// restored it. Where none is found but the .NET SDK is, the NuGet package that holds the CLI is
// restored into .dev/bicep (`dotnet restore` of a project that only downloads the package): the
// same binary `az bicep install` fetches, from a registry these machines can reach.

/** The version restored from NuGet; the one infra/main.json is built with. */
export const BICEP_VERSION = '0.49.2';

/** Project-local and ignored by git (.dev/). */
export const BICEP_DIR = join(root, '.dev', 'bicep');
const exe = process.platform === 'win32' ? 'bicep.exe' : 'bicep';

/** The NuGet package with the CLI for this machine, e.g. Azure.Bicep.CommandLine.linux-x64. */
export function bicepPackage(platform = process.platform, arch = process.arch): string {
  const os = platform === 'win32' ? 'win' : platform === 'darwin' ? 'osx' : 'linux';
  return `Azure.Bicep.CommandLine.${os}-${arch === 'arm64' ? 'arm64' : 'x64'}`;
}

export interface BicepCli {
  path: string;
  /** Where it was found. */
  source: 'BICEP_PATH' | 'PATH' | 'az' | 'nuget';
  /** e.g. 0.49.2 */
  version: string;
}

/** What to run when there is no Bicep CLI: the tests print it with the skip. */
export const INSTALL_HINT =
  'install the .NET SDK and run `npm run infra -- install` (restores the NuGet package ' +
  `${bicepPackage()} ${BICEP_VERSION} into .dev/bicep), or \`az bicep install\`, or set BICEP_PATH to a bicep executable`;

const isExecutable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function version(path: string): string | undefined {
  const run = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  return /Bicep CLI version (\d+\.\d+\.\d+)/.exec(run.stdout ?? '')?.[1];
}

const nugetBinary = () => join(BICEP_DIR, 'packages', bicepPackage().toLowerCase(), BICEP_VERSION, 'tools', exe);

/** The Bicep CLI this machine already has, without installing anything. */
export function findBicep(env: NodeJS.ProcessEnv = process.env): BicepCli | undefined {
  const candidates: [BicepCli['source'], string][] = [];
  if (env.BICEP_PATH) candidates.push(['BICEP_PATH', env.BICEP_PATH]);
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) candidates.push(['PATH', join(dir, exe)]);
  candidates.push(['az', join(homedir(), '.azure', 'bin', exe)]);
  candidates.push(['nuget', nugetBinary()]);
  for (const [source, path] of candidates) {
    if (!existsSync(path) || !isExecutable(path)) {
      if (source === 'BICEP_PATH') throw new Error(`BICEP_PATH=${path} is not an executable file`);
      continue;
    }
    const found = version(path);
    if (found) return { path, source, version: found };
    if (source === 'BICEP_PATH')
      throw new Error(`BICEP_PATH=${path} does not answer \`--version\` as the Bicep CLI does`);
  }
  return undefined;
}

export const hasDotnet = () => spawnSync('dotnet', ['--version'], { encoding: 'utf8' }).status === 0;

/** The .NET SDK's major version (10 for 10.0.401): the project targets the SDK's own framework. */
const dotnetMajor = () =>
  Number(/^(\d+)\./.exec(execFileSync('dotnet', ['--version'], { encoding: 'utf8' }))?.[1] ?? 8);

/** Restores the CLI's NuGet package into .dev/bicep with the .NET SDK; returns the CLI. */
export function installBicep(log: (line: string) => void = () => {}): BicepCli {
  mkdirSync(BICEP_DIR, { recursive: true });
  const project = join(BICEP_DIR, 'bicep-cli.csproj');
  // PackageDownload fetches the package without referencing it: nothing is built. The target
  // framework is the SDK's own, so restore needs no other package.
  writeFileSync(
    project,
    `<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net${dotnetMajor()}.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="${bicepPackage()}" Version="[${BICEP_VERSION}]" />
  </ItemGroup>
</Project>
`,
  );
  log(`dotnet restore ${relative(root, project)}: ${bicepPackage()} ${BICEP_VERSION}`);
  execFileSync(
    'dotnet',
    ['restore', project, '--packages', join(BICEP_DIR, 'packages'), '--nologo', '--verbosity', 'quiet'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
    },
  );
  const path = nugetBinary();
  // NuGet keeps the executable bit on Linux today; set it anyway, it costs nothing.
  if (process.platform !== 'win32') chmodSync(path, 0o755);
  const found = version(path);
  if (!found) throw new Error(`${path} was restored but does not run`);
  return { path, source: 'nuget', version: found };
}

/** A Bicep CLI: found, or restored from NuGet when the .NET SDK is there; a reason when neither. */
export function ensureBicep(log?: (line: string) => void): { cli: BicepCli } | { cli?: undefined; reason: string } {
  let found: BicepCli | undefined;
  try {
    found = findBicep();
  } catch (err) {
    return { reason: `${(err as Error).message}: ${INSTALL_HINT}` };
  }
  if (found) return { cli: found };
  if (!hasDotnet()) return { reason: `no Bicep CLI and no .NET SDK (dotnet) on this machine: ${INSTALL_HINT}` };
  try {
    return { cli: installBicep(log) };
  } catch (err) {
    return {
      reason: `restoring ${bicepPackage()} ${BICEP_VERSION} with dotnet failed (${(err as Error).message}): ${INSTALL_HINT}`,
    };
  }
}

export interface Diagnostic {
  file: string;
  line: number;
  level: 'Error' | 'Warning' | 'Info';
  code: string;
  message: string;
}

/** Runs the CLI; its diagnostics parsed from `path(line,col) : Level code: message`. */
export function runBicep(
  cli: BicepCli,
  args: string[],
  cwd = root,
): { status: number | null; stdout: string; diagnostics: Diagnostic[]; output: string } {
  const run = spawnSync(cli.path, args, { cwd, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  const diagnostics = [
    ...(run.stderr ?? '').matchAll(/^(.+?)\((\d+),\d+\) : (Error|Warning|Info) ([\w-]+): (.*)$/gm),
  ].map((m) => ({
    file: relative(root, m[1]),
    line: Number(m[2]),
    level: m[3] as Diagnostic['level'],
    code: m[4],
    message: m[5],
  }));
  return { status: run.status, stdout: run.stdout ?? '', diagnostics, output };
}

/** `bicep lint` of every file in infra/, then `bicep build` of main.bicep into infra/main.json. */
function buildInfra(cli: BicepCli): number {
  const lint = runBicep(cli, ['lint', '--pattern', 'infra/**/*.bicep']);
  const build = runBicep(cli, ['build', 'infra/main.bicep', '--outfile', 'infra/main.json']);
  for (const d of [...lint.diagnostics, ...build.diagnostics])
    console.log(`${d.file}:${d.line} ${d.level} ${d.code}: ${d.message}`);
  const problems = lint.diagnostics.length + build.diagnostics.length;
  if (lint.status !== 0 || build.status !== 0 || problems > 0) {
    if (problems === 0) console.log(lint.output + build.output);
    console.log(
      `infra: ${problems} diagnostics; infra/main.json ${build.status === 0 ? 'written anyway' : 'not written'}`,
    );
    return 1;
  }
  console.log(`infra: lint and build clean with Bicep ${cli.version}; infra/main.json written`);
  return 0;
}

/** `npm run infra -- [install|where|build]` (build by default). */
export function main(args: string[]): number {
  const command = args[0] ?? 'build';
  const log = (line: string) => console.log(`[bicep] ${line}`);
  if (command === 'where') {
    const cli = findBicep();
    console.log(cli ? `${cli.path} (${cli.source}, ${cli.version})` : `no Bicep CLI: ${INSTALL_HINT}`);
    return cli ? 0 : 1;
  }
  const found = ensureBicep(log);
  if (!found.cli) {
    console.error(`[bicep] ${found.reason}`);
    return 1;
  }
  log(`Bicep CLI ${found.cli.version} at ${found.cli.path} (${found.cli.source})`);
  if (command === 'install') return 0;
  if (command === 'build') return buildInfra(found.cli);
  console.error(`[bicep] unknown command "${command}": install, where, build`);
  return 1;
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module)
  process.exit(main(process.argv.slice(2)));
