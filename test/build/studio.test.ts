import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStudio, type StudioBuild } from '../../dev/build/studio.js';
import { deploymentCatalog, type DeploymentInfo } from '../../src/lib/core/catalog.js';
import { resolveRequest } from '../../src/lib/core/request.js';
import {
  curlCode,
  logicAppsCode,
  requestBody,
  stateFromRecord,
  typescriptCode,
  type FormState,
} from '../../src/studio/form.js';
import { localSettings } from '../support/settings.js';

// The studio page's build and its pure parts: what it weighs, that its shell holds no data and no
// inline script, and that the form makes bodies the app takes and code that sends the same body.
// In a real browser: test/system/studio.test.ts.

const root = join(__dirname, '..', '..');
const MAX_GZIPPED = 100 * 1024;

describe('the studio build', () => {
  let out: string;
  let built: StudioBuild;
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'studio-build-'));
    built = await buildStudio(root, out);
  }, 60_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(`weighs at most ${MAX_GZIPPED / 1024} KB of JS and CSS together, gzipped`, () => {
    const assets = built.files.filter((f) => /\.(js|css)$/.test(f));
    expect(assets.map((f) => f.split('.').pop()).sort()).toEqual(['css', 'js']);
    const gzipped = assets.reduce((total, f) => total + gzipSync(readFileSync(join(out, f)), { level: 9 }).length, 0);
    console.log(`studio JS + CSS: ${(gzipped / 1024).toFixed(1)} KB gzipped`);
    expect(gzipped).toBeLessThanOrEqual(MAX_GZIPPED);
  });

  it('names its assets by their content, and its shell names them, with no inline script or style and no data', () => {
    for (const f of built.files.slice(1)) expect(f).toMatch(/^assets\/main-[A-Z0-9]{8}\.(js|css)$/);
    const shell = readFileSync(join(out, 'index.html'), 'utf8');
    for (const f of built.files.slice(1)) expect(shell).toContain(`/api/studio/${f}`);
    expect(shell).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son\w+=/i);
    expect(shell).not.toMatch(/\{\{|igk_\w{10}|\d{4}\/\d{2}\/\d{2}\//);
  });

  it('labels every control of the shell', () => {
    const shell = readFileSync(join(out, 'index.html'), 'utf8');
    const controls = [...shell.matchAll(/<(input|select|textarea)\b[^>]*\bid="([^"]+)"/g)].map((m) => m[2]);
    expect(controls.length).toBeGreaterThan(10);
    for (const id of controls) expect(shell, `a label for #${id}`).toMatch(new RegExp(`<label for="${id}"`));
  });
});

describe('the playground form', () => {
  const settings = localSettings({ AZURE_OPENAI_DEPLOYMENTS: 'gpt-image-2=gpt-image-2,mini=gpt-image-1-mini' });
  const catalog: DeploymentInfo[] = deploymentCatalog(settings);
  const info = (d: string) => catalog.find((c) => c.deployment === d)!;
  const state: FormState = {
    deployment: 'gpt-image-2',
    prompt: "A kite's tail",
    size: '2048x1152',
    quality: 'low',
    n: 2,
    output_format: 'jpeg',
    output_compression: 70,
    background: 'opaque',
    stream: true,
    partial_images: 5,
  };

  it('makes a body the app takes, with only what the model takes', () => {
    const body = requestBody(state, info('gpt-image-2'));
    expect(body).toEqual({
      model: 'gpt-image-2',
      prompt: "A kite's tail",
      n: 2,
      size: '2048x1152',
      quality: 'low',
      output_format: 'jpeg',
      output_compression: 70,
      background: 'opaque',
      stream: true,
      partial_images: 3,
    });
    expect(() => resolveRequest(body, settings)).not.toThrow();
    const png = requestBody(
      { ...state, output_format: 'png', stream: false, size: '1024x1024', deployment: 'mini' },
      info('mini'),
    );
    expect(png).toEqual({
      model: 'mini',
      prompt: "A kite's tail",
      n: 2,
      size: '1024x1024',
      quality: 'low',
      output_format: 'png',
      background: 'opaque',
    });
    expect(() => resolveRequest(png, settings)).not.toThrow();
  });

  it('shows the same body as curl, TypeScript and a Logic Apps action, with a placeholder for the key', () => {
    const body = requestBody(state, info('gpt-image-2'));
    const curl = curlCode('https://app.example', body);
    expect(curl).toContain('-d \'{"model":"gpt-image-2","prompt":"A kite\'\\\'\'s tail"');
    expect(curl).toMatch(/^curl -sN https:\/\/app\.example\/api\/images\/generations/);
    expect(curl).toContain('api-key: $CALLER_KEY');
    const ts = typescriptCode('https://app.example', body);
    expect(ts).toContain("baseURL: 'https://app.example/api/openai/v1'");
    expect(ts).toContain('for await (const event of stream)');
    const logic = JSON.parse(logicAppsCode('https://app.example', body));
    expect(logic.Generate_image.inputs).toMatchObject({
      method: 'POST',
      uri: 'https://app.example/api/images/generations',
      headers: { Prefer: 'respond-async', 'api-key': "@parameters('callerKey')" },
    });
    // Asynchronous: no stream.
    const { stream: _s, partial_images: _p, ...rest } = body;
    expect(logic.Generate_image.inputs.body).toEqual(rest);
  });

  it("fills the form back from a kept image's record: its deployment and what was sent to it", () => {
    const record = {
      prompt: 'Again',
      deployment: 'mini',
      served: { n: 3, size: '1536x1024', quality: 'medium', output_format: 'png', background: 'auto' },
    };
    expect(stateFromRecord(record, catalog, state)).toEqual({
      ...state,
      deployment: 'mini',
      prompt: 'Again',
      n: 3,
      size: '1536x1024',
      quality: 'medium',
      output_format: 'png',
      output_compression: undefined,
      background: 'auto',
    });
    // A deployment the app no longer has: the first one.
    expect(stateFromRecord({ ...record, deployment: 'gone' }, catalog, state).deployment).toBe('gpt-image-2');
  });
});
