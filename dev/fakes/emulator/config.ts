// The emulator's settings: their defaults, the checks configure() and start-up apply, and the one
// parser for EMULATOR_* environment variables (the CLI and `npm start` both use it).

import { THROTTLE_HEADERS, type ThrottleHeader } from './errors.js';
import { checkModel, type ModelName } from './models.js';

/** Everything configure() may change, with defaults applied. */
export interface EmulatorSettings {
  /** Deployment name → model; a retired or unknown model throws a RangeError. */
  deployments: Record<string, ModelName>;
  /** Accepted keys: `api-key` header on both surfaces, `Authorization: Bearer <key>` on v1. */
  apiKeys: string[];
  /** Accept Entra ID bearer tokens (decoded, not verified). */
  acceptEntraTokens: boolean;
  /** How long a generation takes; streams spread it across their events. */
  latencyMs: number;
  /** Per-deployment quota over a sliding 60 s window; undefined = none. */
  requestsPerMinute: number | undefined;
  /** Which headers a 429 carries; [] sends none. */
  throttleHeaders: ThrottleHeader[];
  /** A fixed wait every 429 announces (e.g. 86400, a day), instead of the window's real one; undefined = the real one. */
  retryAfterSeconds: number | undefined;
  /** Share of generations (0..1) answered with one of failureStatuses instead. */
  failureRate: number;
  failureStatuses: number[];
  /** Prompts containing one of these (case-insensitive) are refused by the content filter. */
  blockedWords: string[];
  /** Noisy images that weigh what the service's do (~1.5 MB for a 1024x1024 PNG). */
  realisticSize: boolean;
  /** Leave `usage` out of answers and completed events, as Azure has at times. */
  omitUsage: boolean;
}

/** What configure() takes: any settings, deployments naming models as plain strings (checked then). */
export interface EmulatorConfig extends Partial<Omit<EmulatorSettings, 'deployments'>> {
  deployments?: Record<string, string>;
}

/** What startOpenAIEmulator takes: a config plus where to listen. */
export interface EmulatorOptions extends EmulatorConfig {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. stop() and start() keep the port chosen. */
  port?: number;
}

export const DEFAULT_SETTINGS: Readonly<EmulatorSettings> = deepFreeze<EmulatorSettings>({
  deployments: {
    'gpt-image-2': 'gpt-image-2',
    'gpt-image-1.5': 'gpt-image-1.5',
    'gpt-image-1-mini': 'gpt-image-1-mini',
  },
  apiKeys: ['emulator-key'],
  acceptEntraTokens: true,
  latencyMs: 0,
  requestsPerMinute: undefined,
  throttleHeaders: ['retry-after', 'retry-after-ms'],
  retryAfterSeconds: undefined,
  failureRate: 0,
  failureStatuses: [500, 503],
  blockedWords: ['forbidden-example'],
  realisticSize: false,
  omitUsage: false,
});

/** Frozen all the way down: settings share the defaults' arrays until changed. */
function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value))
    if (typeof inner === 'object' && inner !== null) deepFreeze(inner as object);
  return Object.freeze(value);
}

/** Settings a caller may clear by passing undefined; for the others, undefined leaves the value as is. */
const CLEARABLE = new Set<string>(['requestsPerMinute', 'retryAfterSeconds']);

/** `base` with `changes` applied, after checking the result: a bad setting throws a RangeError naming it. */
export function applySettings(base: Readonly<EmulatorSettings>, changes: EmulatorConfig): EmulatorSettings {
  const next = { ...base } as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) {
    if (!Object.hasOwn(DEFAULT_SETTINGS, key))
      throw new RangeError(`Unknown setting ${key} (host and port apply only at start)`);
    if (value === undefined && !CLEARABLE.has(key)) continue;
    next[key] = Array.isArray(value) ? [...(value as unknown[])] : value;
  }
  const settings = next as unknown as EmulatorSettings;
  settings.deployments = Object.fromEntries(
    Object.entries(settings.deployments as Record<string, string>).map(([name, model]) => [
      name,
      checkModel(name, model),
    ]),
  );
  checkRange('latencyMs', settings.latencyMs, 0, Number.MAX_SAFE_INTEGER);
  if (settings.requestsPerMinute !== undefined)
    checkRange('requestsPerMinute', settings.requestsPerMinute, 1, Number.MAX_SAFE_INTEGER);
  if (settings.retryAfterSeconds !== undefined)
    checkRange('retryAfterSeconds', settings.retryAfterSeconds, 0, Number.MAX_SAFE_INTEGER);
  checkRange('failureRate', settings.failureRate, 0, 1);
  if (settings.failureStatuses.length === 0) throw new RangeError('failureStatuses must name at least one status');
  for (const status of settings.failureStatuses) {
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new RangeError(`failureStatuses: ${status} is not an HTTP error status`);
  }
  for (const form of settings.throttleHeaders) {
    if (!THROTTLE_HEADERS.includes(form))
      throw new RangeError(`throttleHeaders: unknown ${form} (known: ${THROTTLE_HEADERS.join(', ')})`);
  }
  if (settings.throttleHeaders.includes('retry-after') && settings.throttleHeaders.includes('retry-after-date')) {
    throw new RangeError('throttleHeaders: retry-after and retry-after-date are two forms of one header; pick one');
  }
  return settings;
}

function checkRange(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a number from ${min} to ${max}, got ${String(value)}`);
  }
}

// --- EMULATOR_* environment variables -----------------------------------------------------------

/** Where a process started from the environment listens: the port local.settings.sample.json points at. */
const DEFAULT_EMULATOR_PORT = 8090;

type Env = Record<string, string | undefined>;

/** Each variable and how it sets the options. An unknown EMULATOR_* name throws: a typo must not pass silently. */
const VARIABLES: Record<string, (text: string, name: string, options: EmulatorOptions) => void> = {
  EMULATOR_PORT: (text, name, o) => (o.port = numberOf(text, name)),
  EMULATOR_HOST: (text, _, o) => (o.host = text),
  EMULATOR_API_KEY: (text, _, o) => (o.apiKeys = listOf(text)),
  EMULATOR_DEPLOYMENTS: (text, _, o) => (o.deployments = parseDeployments(text)),
  EMULATOR_ACCEPT_ENTRA_TOKENS: (text, name, o) => (o.acceptEntraTokens = booleanOf(text, name)),
  EMULATOR_LATENCY_MS: (text, name, o) => (o.latencyMs = numberOf(text, name)),
  // 0 means no quota, as an unset variable does.
  EMULATOR_RPM: (text, name, o) => (o.requestsPerMinute = numberOf(text, name) || undefined),
  EMULATOR_THROTTLE_HEADERS: (text, _, o) =>
    (o.throttleHeaders = /^none$/i.test(text) ? [] : (listOf(text) as ThrottleHeader[])),
  EMULATOR_RETRY_AFTER_SECONDS: (text, name, o) => (o.retryAfterSeconds = numberOf(text, name)),
  EMULATOR_FAILURE_RATE: (text, name, o) => (o.failureRate = numberOf(text, name)),
  EMULATOR_FAILURE_STATUSES: (text, name, o) => (o.failureStatuses = listOf(text).map((item) => numberOf(item, name))),
  EMULATOR_BLOCKED_WORDS: (text, _, o) => (o.blockedWords = listOf(text)),
  EMULATOR_REALISTIC: (text, name, o) => (o.realisticSize = booleanOf(text, name)),
  EMULATOR_OMIT_USAGE: (text, name, o) => (o.omitUsage = booleanOf(text, name)),
};

/**
 * Options from every EMULATOR_* variable; unset or empty ones keep the defaults (port: 8090). The
 * result is checked as startOpenAIEmulator would check it, so a bad value fails here, named.
 */
export function optionsFromEnv(env: Env = process.env): EmulatorOptions {
  const options: EmulatorOptions = { port: DEFAULT_EMULATOR_PORT };
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('EMULATOR_') || text === undefined || text.trim() === '') continue;
    const apply = VARIABLES[name];
    if (!apply) throw new Error(`${name}: not an emulator setting (known: ${Object.keys(VARIABLES).join(', ')})`);
    apply(text.trim(), name, options);
  }
  const { host: _host, port: _port, ...settings } = options;
  applySettings(DEFAULT_SETTINGS, settings);
  return options;
}

/** `name=model,name=model` → { name: model }; a bare `name` deploys the model of that name, as the app's setting allows. */
export function parseDeployments(text: string): Record<string, string> {
  const deployments: Record<string, string> = {};
  for (const pair of listOf(text)) {
    const [name, model = name, extra] = pair.split('=').map((part) => part.trim());
    if (!name || !model || extra !== undefined) throw new Error(`deployments: expected name=model, got '${pair}'`);
    deployments[name] = model;
  }
  return deployments;
}

function numberOf(text: string, name: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`${name}: expected a number, got '${text}'`);
  return value;
}

function booleanOf(text: string, name: string): boolean {
  if (/^(1|true|yes)$/i.test(text)) return true;
  if (/^(0|false|no)$/i.test(text)) return false;
  throw new Error(`${name}: expected true or false, got '${text}'`);
}

function listOf(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
