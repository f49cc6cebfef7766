import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../dev/fakes/emulator/index.js';
import { MODELS as EMULATOR_MODELS } from '../../dev/fakes/emulator/models.js';
import { localSettings } from '../support/settings.js';
import { DEPLOYMENTS, DEPLOYMENTS_SETTING } from '../support/stack.js';

// The app's model table and the emulator's are written apart, each from the contract: the app's
// from its model table, the emulator's from docs/azure-openai-contract.md. On every boundary
// they must agree; when one of them is wrong, the disagreement shows here, naming the case.

let emulator: OpenAIEmulator;
const settings = localSettings({ AZURE_OPENAI_DEPLOYMENTS: DEPLOYMENTS_SETTING });

beforeAll(async () => {
  emulator = await startOpenAIEmulator({ apiKeys: ['k'], deployments: DEPLOYMENTS });
  appVerdict = await loadApp();
});
afterAll(async () => {
  await emulator?.close();
});

const base = { prompt: 'a probe', quality: 'low' };
/** Boundary cases of the contract, as bodies for a deployment. */
const PROBES: [string, Record<string, unknown>][] = [
  ['gpt-image-2', { ...base, size: '1024x1024' }],
  ['gpt-image-2', { ...base, size: '1024x1040' }],
  ['gpt-image-2', { ...base, size: '1024x1016' }],
  ['gpt-image-2', { ...base, size: '3840x1280' }],
  ['gpt-image-2', { ...base, size: '3856x1296' }],
  ['gpt-image-2', { ...base, size: '3072x1024' }],
  ['gpt-image-2', { ...base, size: '3088x1024' }],
  ['gpt-image-2', { ...base, size: '1024x640' }],
  ['gpt-image-2', { ...base, size: '1024x624' }],
  ['gpt-image-2', { ...base, size: '3840x2160' }],
  ['gpt-image-2', { ...base, size: '3840x2176' }],
  ['gpt-image-2', { ...base, quality: 'auto' }],
  ['gpt-image-2', { ...base, n: 10, size: '1024x640' }],
  ['gpt-image-2', { ...base, n: 11 }],
  ['mini', { ...base, size: '1536x1024' }],
  ['mini', { ...base, size: '1792x1024' }],
  ['mini', { ...base, quality: 'auto', size: '1024x1024' }],
  ['mini', { ...base, n: 11 }],
  ['mini', { ...base, output_format: 'jpeg', output_compression: 0 }],
  ['mini', { ...base, output_format: 'png', output_compression: 50 }],
  ['mini', { ...base, output_format: 'jpeg', background: 'transparent' }],
  ['mini', { ...base, output_format: 'webp' }],
  ['hq', { ...base, prompt: 'p'.repeat(32_000) }],
  ['hq', { ...base, prompt: 'p'.repeat(32_001) }],
  ['hq', { ...base, style: 'vivid' }],
  ['hq', { ...base, response_format: 'b64_json' }],
];

type Verdict = 'accepted' | `refused ${string}`;

/** The app's validation, loaded afresh: `change` may alter its model table before its schemas are built from it. */
async function loadApp(
  change: (models: (typeof import('../../src/lib/core/models.js'))['MODELS']) => void = () => undefined,
) {
  vi.resetModules();
  change((await import('../../src/lib/core/models.js')).MODELS);
  const { resolveRequest } = await import('../../src/lib/core/request.js');
  const { InvalidRequestError } = await import('../../src/lib/core/errors.js');
  return (deployment: string, body: Record<string, unknown>): Verdict => {
    try {
      resolveRequest({ ...body, model: deployment }, settings);
      return 'accepted';
    } catch (err) {
      if (err instanceof InvalidRequestError) return `refused ${err.param}`;
      throw err;
    }
  };
}

let appVerdict: Awaited<ReturnType<typeof loadApp>>;

async function emulatorVerdict(deployment: string, body: Record<string, unknown>): Promise<Verdict> {
  const response = await fetch(`${emulator.url}/openai/v1/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': 'k' },
    body: JSON.stringify({ ...body, model: deployment }),
  });
  const json = (await response.json()) as { error?: { param?: string } };
  if (response.status === 200) return 'accepted';
  expect(response.status).toBe(400);
  return `refused ${json.error?.param}`;
}

/** Every probe the two judge differently, with both verdicts. */
async function disagreements(): Promise<string[]> {
  const found: string[] = [];
  for (const [deployment, body] of PROBES) {
    const app = appVerdict(deployment, body);
    const service = await emulatorVerdict(deployment, body);
    if (app !== service)
      found.push(`${deployment} ${JSON.stringify({ ...body, prompt: undefined })}: app ${app}, emulator ${service}`);
  }
  return found;
}

describe('the app and the emulator, each from the contract', () => {
  it('agree on every boundary', async () => {
    expect(await disagreements()).toEqual([]);
    // Both kinds of verdict are exercised.
    const verdicts = PROBES.map(([deployment, body]) => appVerdict(deployment, body));
    expect(verdicts.filter((v) => v === 'accepted').length).toBeGreaterThan(8);
    expect(verdicts.filter((v) => v !== 'accepted').length).toBeGreaterThan(8);
  });

  it('disagree visibly when the app’s table is wrong', async () => {
    const correct = appVerdict;
    appVerdict = await loadApp((models) => {
      (models['gpt-image-1-mini'] as { rules: object }).rules = { ...models['gpt-image-1-mini'].rules, n: { max: 11 } };
    });
    try {
      expect(await disagreements()).toEqual([
        expect.stringMatching(/^mini .*"n":11.*: app accepted, emulator refused n$/),
      ]);
    } finally {
      appVerdict = correct;
    }
  });

  it('disagree visibly when the emulator is wrong', async () => {
    const rules = EMULATOR_MODELS['gpt-image-2'] as { refuseSize: (w: number, h: number) => string | undefined };
    const refuseSize = rules.refuseSize;
    rules.refuseSize = (w, h) => (w * h > 8_294_400 ? undefined : refuseSize(w, h));
    try {
      expect(await disagreements()).toEqual([
        expect.stringMatching(/^gpt-image-2 .*3840x2176.*: app refused size, emulator accepted$/),
      ]);
    } finally {
      rules.refuseSize = refuseSize;
    }
  });
});
