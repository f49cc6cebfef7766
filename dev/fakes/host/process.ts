import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, PROJECT_ROOT as root, stopChild } from '../../processes.js';

// The local Functions host as its own process on the compiled app, with exactly the settings given:
// the way `npm start` and `func start` run it. Tests and benchmarks start it this way.

export interface HostProcess {
  url: string;
  process: ChildProcess;
  /** Everything the host printed: the no-secrets-in-logs test reads it. */
  output: () => string;
  stop(): Promise<void>;
}

// The app's root holds host.json: two folders up from the source, three from dist/.

export async function startHostProcess(
  settings: Record<string, string | undefined>,
  options: {
    extraCaCerts?: string;
    nodeArgs?: string[];
    /** Another app than this one: a folder with its package.json and host.json. */ appRoot?: string;
  } = {},
): Promise<HostProcess> {
  const port = await freePort();
  const env: Record<string, string> = {};
  // Only what the caller names, plus what Node needs: no stray Azure settings from the machine.
  for (const name of ['PATH', 'HOME', 'SYSTEMROOT', 'TMPDIR']) if (process.env[name]) env[name] = process.env[name]!;
  for (const [name, value] of Object.entries(settings)) if (value !== undefined) env[name] = value;
  env.FUNCTIONS_HTTP_PORT = String(port);
  env.LOCAL_SETTINGS_FILE = 'none';
  if (options.extraCaCerts) env.NODE_EXTRA_CA_CERTS = options.extraCaCerts;
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), join(root, 'dist', 'dev', 'fakes', 'host', 'main.js')],
    { cwd: options.appRoot ?? root, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Functions host listening')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`host exited with ${code}:\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    output: () => output,
    stop: () => stopChild(child),
  };
}
