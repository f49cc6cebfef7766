// Command line: starts the emulator from EMULATOR_* environment variables, for local runs
// (`node dist/dev/emulator/main.js`) or in-process from another script via startEmulatorFromEnv().

import { startOpenAIEmulator, type EmulatorOptions, type OpenAIEmulator } from './server.js';

export const DEFAULT_EMULATOR_PORT = 8090;

type Env = Record<string, string | undefined>;

/** Options from EMULATOR_PORT, _HOST, _API_KEY, _DEPLOYMENTS, _LATENCY_MS, _RPM, _FAILURE_RATE, _BLOCKED_WORDS, _REALISTIC. */
export function optionsFromEnv(env: Env = process.env): EmulatorOptions {
  const options: EmulatorOptions = {
    port: numberVar(env, 'EMULATOR_PORT') ?? DEFAULT_EMULATOR_PORT,
    apiKeys: listVar(env, 'EMULATOR_API_KEY') ?? ['emulator-key'],
  };
  if (env.EMULATOR_HOST) options.host = env.EMULATOR_HOST;
  if (env.EMULATOR_DEPLOYMENTS) options.deployments = parseDeployments(env.EMULATOR_DEPLOYMENTS);
  const latencyMs = numberVar(env, 'EMULATOR_LATENCY_MS');
  if (latencyMs !== undefined) options.latencyMs = latencyMs;
  const rpm = numberVar(env, 'EMULATOR_RPM');
  if (rpm !== undefined && rpm > 0) options.requestsPerMinute = rpm;
  const failureRate = numberVar(env, 'EMULATOR_FAILURE_RATE');
  if (failureRate !== undefined) options.failureRate = failureRate;
  const blockedWords = listVar(env, 'EMULATOR_BLOCKED_WORDS');
  if (blockedWords !== undefined) options.blockedWords = blockedWords;
  if (env.EMULATOR_REALISTIC !== undefined) options.realisticSize = /^(1|true|yes)$/i.test(env.EMULATOR_REALISTIC);
  return options;
}

/** `name=model,name=model` → { name: model }. */
export function parseDeployments(text: string): Record<string, string> {
  const deployments: Record<string, string> = {};
  for (const pair of text.split(',').map((item) => item.trim()).filter(Boolean)) {
    const [name, model] = pair.split('=').map((part) => part.trim());
    if (!name || !model) throw new Error(`EMULATOR_DEPLOYMENTS: expected name=model, got '${pair}'`);
    deployments[name] = model;
  }
  return deployments;
}

export function startEmulatorFromEnv(env: Env = process.env): Promise<OpenAIEmulator> {
  return startOpenAIEmulator(optionsFromEnv(env));
}

function numberVar(env: Env, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${name}: expected a number, got '${text}'`);
  return value;
}

function listVar(env: Env, name: string): string[] | undefined {
  const text = env[name];
  if (text === undefined) return undefined;
  return text.split(',').map((item) => item.trim()).filter(Boolean);
}

async function main(): Promise<void> {
  const emulator = await startEmulatorFromEnv();
  const deployments = Object.entries(emulator.settings.deployments).map(([name, model]) => `${name}=${model}`).join(', ');
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

// Guarded: under vitest (ESM) neither `require` nor `module` exists.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
