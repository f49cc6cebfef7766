import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAzurite } from './azurite.js';
import { optionsFromEnv, parseDeployments, startOpenAIEmulator } from './emulator/index.js';

// `npm start`: the whole app offline. Azurite (data kept in .dev/azurite), the Azure OpenAI emulator,
// and the functions on http://localhost:7071 through the local host. Ctrl-C stops all of it.

async function main(): Promise<void> {
  const root = process.cwd();
  const settingsFile = join(root, 'local.settings.json');
  if (!existsSync(settingsFile)) {
    copyFileSync(join(root, 'local.settings.sample.json'), settingsFile);
    console.log('Created local.settings.json from local.settings.sample.json.');
  }
  const { Values: settings = {} } = JSON.parse(readFileSync(settingsFile, 'utf8')) as { Values?: Record<string, string> };

  const location = join(root, '.dev', 'azurite');
  mkdirSync(location, { recursive: true });
  const azurite = await startAzurite({ location, blobPort: 10000, queuePort: 10001, tablePort: 10002, silent: true });
  console.log(`Azurite: blob ${azurite.blobEndpoint}, queue ${azurite.queueEndpoint} (data in .dev/azurite)`);

  // Every EMULATOR_* setting applies (latency, quota, faults, ...); the port, deployments and key come
  // from local.settings.json instead, because the app calls what that file names.
  const endpoint = new URL(settings.AZURE_OPENAI_ENDPOINT ?? 'http://127.0.0.1:8090');
  const fromEnv = optionsFromEnv(process.env);
  const emulator = await startOpenAIEmulator({
    ...fromEnv,
    port: Number(endpoint.port || 8090),
    deployments: settings.AZURE_OPENAI_DEPLOYMENTS ? parseDeployments(settings.AZURE_OPENAI_DEPLOYMENTS) : fromEnv.deployments,
    apiKeys: [settings.AZURE_OPENAI_API_KEY ?? 'emulator-key'],
  });
  console.log(`Azure OpenAI emulator: ${emulator.url} (deployments ${Object.keys(emulator.settings.deployments).join(', ')})`);

  const host: ChildProcess = spawn(process.execPath, [join(root, 'dist', 'dev', 'host', 'main.js')], {
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
    await Promise.allSettled([emulator.close(), azurite.stop()]);
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
