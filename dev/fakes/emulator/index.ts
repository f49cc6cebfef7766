// The emulator's one entry point for the rest of the repository (dev/start.ts, tests, benches).
export { startOpenAIEmulator, type OpenAIEmulator } from './server.js';
export { DEFAULT_SETTINGS, optionsFromEnv, parseDeployments, type EmulatorConfig } from './config.js';
export type { ThrottleHeader } from './errors.js';
