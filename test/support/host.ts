import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../dev/azurite.js';

// The local Functions host as its own process, on the compiled app (`npm test` builds first),
// with exactly the settings a test gives it: the way `npm start` and `func start` run it.

export interface TestHost {
  url: string;
  /** Everything the host printed: the no-secrets-in-logs test reads it. */
  output: () => string;
  stop(): Promise<void>;
}

const root = join(__dirname, '..', '..');

export async function startHost(settings: Record<string, string | undefined>, options: { extraCaCerts?: string } = {}): Promise<TestHost> {
  const port = await freePort();
  const env: Record<string, string> = {};
  // Only what the test names, plus what Node needs: no stray Azure settings from the machine.
  for (const name of ['PATH', 'HOME', 'SYSTEMROOT', 'TMPDIR']) if (process.env[name]) env[name] = process.env[name]!;
  for (const [name, value] of Object.entries(settings)) if (value !== undefined) env[name] = value;
  env.FUNCTIONS_HTTP_PORT = String(port);
  env.LOCAL_SETTINGS_FILE = 'none';
  if (options.extraCaCerts) env.NODE_EXTRA_CA_CERTS = options.extraCaCerts;
  const child = spawn(process.execPath, [join(root, 'dist', 'dev', 'host', 'main.js')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('Functions host listening')) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`host exited with ${code}:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Starts a host expecting it to fail at start-up; resolves with what it printed. */
export async function startHostExpectingFailure(settings: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  try {
    const host = await startHost(settings);
    await host.stop();
    throw new Error('the host started');
  } catch (err) {
    const message = (err as Error).message;
    const match = /^host exited with (\d+|null):\n([\s\S]*)$/.exec(message);
    if (!match) throw err;
    return { code: match[1] === 'null' ? null : Number(match[1]), output: match[2]! };
  }
}
