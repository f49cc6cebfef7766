// The bodies of successful answers: the JSON of a generation, the server-sent events of a stream,
// the content filter's results and token usage, shaped as the contract records them.

import type { Generation } from './validation.js';

export interface Usage {
  input_tokens: number;
  input_tokens_details: { image_tokens: number; text_tokens: number };
  output_tokens: number;
  total_tokens: number;
}

const SAFE = { filtered: false, severity: 'safe' } as const;

function contentFilterResults(): Record<string, unknown> {
  return { hate: { ...SAFE }, self_harm: { ...SAFE }, sexual: { ...SAFE }, violence: { ...SAFE } };
}

function promptFilterResults(): Record<string, unknown> {
  return {
    ...contentFilterResults(),
    profanity: { detected: false, filtered: false },
    jailbreak: { detected: false, filtered: false },
    custom_blocklists: { filtered: false, details: [] },
  };
}

/** What the filter says of a prompt with a blocked word: high-severity violence, the rest safe. */
export function blockedFilterResults(): Record<string, unknown> {
  return { ...promptFilterResults(), violence: { filtered: true, severity: 'high' } };
}

/**
 * Token usage of `images` of the generation's images, with the prompt's tokens counted when
 * `withPrompt`. Text tokens are estimated at four characters each (no tokenizer offline).
 */
function usageFor(generation: Generation, images: number, withPrompt = true): Usage {
  const textTokens = withPrompt ? Math.max(1, Math.ceil(generation.prompt.length / 4)) : 0;
  const outputTokens = images * generation.outputTokensPerImage;
  return {
    input_tokens: textTokens,
    input_tokens_details: { image_tokens: 0, text_tokens: textTokens },
    output_tokens: outputTokens,
    total_tokens: textTokens + outputTokens,
  };
}

/** The facts of what was made, which every answer and event repeats: never `auto`. */
function made(generation: Generation) {
  return {
    background: generation.background,
    output_format: generation.outputFormat,
    quality: generation.quality,
    size: `${generation.width}x${generation.height}`,
  };
}

/** The 200 body of a generation that does not stream. gpt-image models write no `revised_prompt`. */
export function generationAnswer(
  generation: Generation,
  images: Buffer[],
  created: number,
  withUsage = true,
): Record<string, unknown> {
  return {
    created,
    data: images.map((image) => ({
      b64_json: image.toString('base64'),
      content_filter_results: contentFilterResults(),
      prompt_filter_results: promptFilterResults(),
    })),
    ...made(generation),
    ...(withUsage && { usage: usageFor(generation, images.length) }),
  };
}

export function partialImageEvent(generation: Generation, image: Buffer, index: number, createdAt: number): string {
  return sseFrame('image_generation.partial_image', {
    type: 'image_generation.partial_image',
    b64_json: image.toString('base64'),
    created_at: createdAt,
    ...made(generation),
    partial_image_index: index,
  });
}

/**
 * One image's final event. Its usage is that image's share, so the completed events of a request
 * add up to the usage a request that does not stream reports: each carries its image's output
 * tokens, and the first also the prompt's.
 */
export function completedEvent(
  generation: Generation,
  image: Buffer,
  imageIndex: number,
  createdAt: number,
  withUsage = true,
): string {
  return sseFrame('image_generation.completed', {
    type: 'image_generation.completed',
    b64_json: image.toString('base64'),
    created_at: createdAt,
    ...made(generation),
    ...(withUsage && { usage: usageFor(generation, 1, imageIndex === 0) }),
  });
}

function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
