import { loadPriceTable } from '../../src/lib/core/priceTable.js';
import { Prices } from '../../src/lib/cost/pricing.js';
import type { Generation, Target } from '../../src/lib/generation/generator.js';

// One gpt-image-1-mini image, low, 1024x1024, as the metering tests hold and spend it.

export const prices = new Prices(loadPriceTable(undefined));
export const target: Target = {
  deployment: 'mini',
  params: { prompt: 'A cat', n: 1, size: '1024x1024', quality: 'low' },
};
/** Held: 5 prompt bytes × $2 + 272 × $8 per 1M tokens = $0.002186. Spent per the usage below: $0.00218. */
export const HELD_USD = 0.002186;
export const usage = {
  input_tokens: 2,
  input_tokens_details: { text_tokens: 2, image_tokens: 0 },
  output_tokens: 272,
  total_tokens: 274,
};
export const generation: Generation = {
  created: 1,
  images: [{ b64_json: 'eA==' }],
  output: { size: '1024x1024', quality: 'low' },
  usage,
  extra: {},
};
