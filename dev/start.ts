import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../src/lib/platform/settings.js';
import { startAzurite } from './fakes/azurite.js';
import { optionsFromEnv, startOpenAIEmulator, type EmulatorConfig } from './fakes/emulator/index.js';

// `npm start`: the whole app offline. Azurite (data kept in .dev/azurite), one Azure OpenAI emulator
// per account the settings name (AZURE_OPENAI_ENDPOINT, or each endpoint of AZURE_OPENAI_BACKENDS),
// and the functions on http://localhost:7071 through the local host. Ctrl-C stops all of it.

async function main(): Promise<void> {
  const root = process.cwd();
  const settingsFile = join(root, 'local.settings.json');
  if (!existsSync(settingsFile)) {
    copyFileSync(join(root, 'local.settings.sample.json'), settingsFile);
    console.log('Created local.settings.json from local.settings.sample.json.');
  }
  // Emulators: per account, by its endpoint as the settings write it, what its emulator does (quota, latency, faults).
  const { Values: settings = {}, Emulators: perAccount = {} } = JSON.parse(readFileSync(settingsFile, 'utf8')) as {
    Values?: Record<string, string>;
    Emulators?: Record<string, EmulatorConfig>;
  };
  // The app's own reading of its settings: a bad one stops here, named, as it would stop the host.
  const app = loadSettings({ ...settings, ...process.env });

  const location = join(root, '.dev', 'azurite');
  mkdirSync(location, { recursive: true });
  const azurite = await startAzurite({ location, blobPort: 10000, queuePort: 10001, tablePort: 10002, silent: true });
  console.log(`Azurite: blob ${azurite.blobEndpoint}, queue ${azurite.queueEndpoint} (data in .dev/azurite)`);

  // Every EMULATOR_* setting applies to each account (latency, quota, faults, ...), then its own entry
  // of Emulators; the port, deployments and key come from the app's settings, because the app calls
  // what they name.
  const accounts = new Map<string, Record<string, string>>();
  if (app.AZURE_OPENAI_BACKENDS)
    for (const b of app.AZURE_OPENAI_BACKENDS)
      accounts.set(b.endpoint, { ...accounts.get(b.endpoint), [b.deployment]: b.model });
  else accounts.set(app.AZURE_OPENAI_ENDPOINT!, Object.fromEntries(app.AZURE_OPENAI_DEPLOYMENTS));
  const fromEnv = optionsFromEnv(process.env);
  const emulators = await Promise.all(
    [...accounts].map(([endpoint, deployments]) =>
      startOpenAIEmulator({
        ...fromEnv,
        ...perAccount[endpoint],
        port: Number(new URL(endpoint).port || 8090),
        deployments,
        apiKeys: [app.AZURE_OPENAI_API_KEY ?? 'emulator-key'],
      }),
    ),
  );
  for (const emulator of emulators) {
    const quota = emulator.settings.requestsPerMinute;
    console.log(
      `Azure OpenAI emulator: ${emulator.url} (deployments ${Object.keys(emulator.settings.deployments).join(', ')}; ${quota ? `${quota} requests a minute each` : 'no quota'})`,
    );
  }

  const host: ChildProcess = spawn(process.execPath, [join(root, 'dist', 'dev', 'fakes', 'host', 'main.js')], {
    cwd: root,
    env: { ...process.env, FUNCTIONS_HTTP_PORT: String(process.env.FUNCTIONS_HTTP_PORT ?? 7071) },
    stdio: 'inherit',
  });

  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping...');
    host.kill('SIGTERM');
    await Promise.allSettled([...emulators.map((e) => e.close()), azurite.stop()]);
    process.exit(code);
  };
  host.once('exit', (code) => void stop(code ?? 0));
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(`npm start failed: ${(err as Error).message}`);
  process.exit(1);
});
