// Command line: `npm run emulator` starts the emulator from EMULATOR_* environment variables
// (config.ts's optionsFromEnv lists them) and stops it on Ctrl-C.

import { optionsFromEnv } from './config.js';
import { startOpenAIEmulator } from './server.js';

async function main(): Promise<void> {
  const emulator = await startOpenAIEmulator(optionsFromEnv(process.env));
  const deployments = Object.entries(emulator.settings.deployments)
    .map(([name, model]) => `${name}=${model}`)
    .join(', ');
  console.log(`Azure OpenAI emulator listening on ${emulator.url} (deployments: ${deployments})`);
  const shutdown = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
