import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFunctions, readHostJson, routePrefix, serveHttp } from './host.js';
import { listenToQueues, queueSettings } from './queues.js';

// `node dist/dev/fakes/host/main.js`: the local Functions host on its own, as `func start` would run.
// Settings come from the environment, then from local.settings.json's Values, as with Core Tools.

export async function main(): Promise<void> {
  const root = process.cwd();
  // LOCAL_SETTINGS_FILE=none runs on the environment alone (the tests do).
  const localSettings = process.env.LOCAL_SETTINGS_FILE ?? join(root, 'local.settings.json');
  if (localSettings !== 'none' && existsSync(localSettings)) {
    const { Values = {} } = JSON.parse(readFileSync(localSettings, 'utf8')) as { Values?: Record<string, string> };
    for (const [name, value] of Object.entries(Values)) process.env[name] ??= value;
  }
  const log = (line: string) => console.log(`[functions] ${line}`);
  const port = Number(process.env.FUNCTIONS_HTTP_PORT ?? 7071);
  // The app's own host name, as Azure and Core Tools tell it: the app checks function keys there.
  process.env.WEBSITE_HOSTNAME = `127.0.0.1:${port}`;
  const registrations = loadFunctions(root, log);
  const hostJson = readHostJson(join(root, 'host.json'));
  const prefix = routePrefix(hostJson);
  const { url, server } = await serveHttp({
    port,
    prefix,
    registrations,
    log,
    functionKey: process.env.LOCAL_FUNCTION_KEY,
  });
  const queues = listenToQueues(registrations, queueSettings(hostJson), log);
  for (const r of registrations.http) log(`${r.name}: [${r.methods.join(',')}] ${url}/${prefix}/${r.options.route}`);
  for (const q of registrations.queues) log(`${q.name}: queueTrigger ${q.options.queueName}`);
  log(`${registrations.http.length + registrations.queues.length} functions found`);
  log(`Functions host listening on ${url}`);
  const stop = async () => {
    server.close();
    await queues.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`[functions] Start-up failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
