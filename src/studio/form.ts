import type { DeploymentInfo } from '../lib/core/catalog.js';

// The playground's form as the images body, and that body as code: pure functions, no DOM, so the
// unit tests hold them to the API.

export interface FormState {
  deployment: string;
  prompt: string;
  size: string;
  quality: string;
  n: number;
  output_format?: string;
  output_compression?: number;
  background?: string;
  stream: boolean;
  partial_images: number;
}

export type Body = Record<string, string | number | boolean>;

/** The images body for the form, with only what the deployment's model takes. */
export function requestBody(state: FormState, info: DeploymentInfo): Body {
  const body: Body = { model: state.deployment, prompt: state.prompt, n: state.n };
  if (state.size) body.size = state.size;
  if (state.quality) body.quality = state.quality;
  if (info.output_formats.length > 0 && state.output_format) body.output_format = state.output_format;
  if (state.output_format === 'jpeg' && state.output_compression !== undefined)
    body.output_compression = state.output_compression;
  if (info.backgrounds.length > 0 && state.background) body.background = state.background;
  if (state.stream && info.partial_images_max > 0) {
    body.stream = true;
    body.partial_images = Math.min(state.partial_images, info.partial_images_max);
  }
  return body;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);
/** Single-quoted for a POSIX shell. */
const shellQuote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/** curl: a caller key from the environment, never the one pasted here. */
export function curlCode(origin: string, body: Body): string {
  return [
    `curl -s${body.stream ? 'N' : ''} ${origin}/api/images/generations \\`,
    '  -H "api-key: $CALLER_KEY" \\',
    "  -H 'content-type: application/json' \\",
    `  -d ${shellQuote(JSON.stringify(body))}`,
  ].join('\n');
}

/** The openai SDK's OpenAI client against the app's v1 path. */
export function typescriptCode(origin: string, body: Body): string {
  const { model, ...rest } = body;
  const params = json({ model, ...rest });
  const lines = [
    "import OpenAI from 'openai';",
    '',
    `const client = new OpenAI({ baseURL: '${origin}/api/openai/v1', apiKey: process.env.CALLER_KEY });`,
  ];
  if (body.stream) {
    lines.push(
      `const stream = await client.images.generate(${params});`,
      'for await (const event of stream) {',
      '  console.log(event.type); // partial images, then image_generation.completed with the kept url',
      '}',
    );
  } else {
    lines.push(
      `const answer = await client.images.generate(${params});`,
      'console.log(answer.data?.map((image) => image.url));',
    );
  }
  return lines.join('\n');
}

/** A Logic Apps HTTP action: asynchronous (it follows the 202's Location by itself), the key from a secure parameter. */
export function logicAppsCode(origin: string, body: Body): string {
  const { stream: _stream, partial_images: _partials, ...rest } = body;
  return json({
    Generate_image: {
      type: 'Http',
      inputs: {
        method: 'POST',
        uri: `${origin}/api/images/generations`,
        headers: { 'Content-Type': 'application/json', Prefer: 'respond-async', 'api-key': "@parameters('callerKey')" },
        body: rest,
      },
      runAfter: {},
    },
  });
}

/** A kept image's settings back in the form: its deployment (where the app still has it) and what was sent to it. */
export function stateFromRecord(
  record: { prompt: string; deployment: string; served: Record<string, unknown> },
  catalog: DeploymentInfo[],
  current: FormState,
): FormState {
  const served = record.served;
  const info = catalog.find((d) => d.deployment === record.deployment) ?? catalog[0];
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    ...current,
    deployment: info.deployment,
    prompt: record.prompt,
    size: text(served.size) ?? current.size,
    quality: text(served.quality) ?? '',
    n: num(served.n) ?? 1,
    output_format: text(served.output_format),
    output_compression: num(served.output_compression),
    background: text(served.background),
    stream: served.stream === true || current.stream,
    partial_images: num(served.partial_images) ?? current.partial_images,
  };
}
