import type { Caller } from '../core/caller.js';
import type { JsonObject } from '../core/json.js';
import type { GenerationParams } from '../core/models.js';

// The generator port: what the pipeline generates with, and what a generation says about itself.
// One Azure OpenAI account (azureOpenAI.ts) and a pool of them (pool.ts) implement it; decorators
// such as metering (cost/metering.ts) wrap it and add their own fields in their own types.

/** One image of an answer as the service sent it; Azure's filter fields included. */
export interface ServiceImage extends JsonObject {
  b64_json?: string;
  url?: string;
  revised_prompt?: string;
  content_filter_results?: JsonObject;
  prompt_filter_results?: JsonObject;
}

/** What the service reports it made, where it says (gpt-image models). */
export interface ServiceOutput {
  size?: string;
  quality?: string;
  background?: string;
  output_format?: string;
}

/** The backend that served a call, where a pool of backends chose one. */
export interface ServedBy {
  name: string;
  region: string;
}

/** One call to one backend, and how it ended. */
export interface BackendAttempt {
  backend: string;
  outcome: 'ok' | 'throttled' | 'unreachable' | 'failed' | 'timeout' | 'rejected';
  /** The service's HTTP status, where it answered. */
  status?: number;
  code?: string;
  ms: number;
}

/** What a pool of backends adds to what the service said: who served it, after which attempts. */
export interface ServedMeta {
  backend?: ServedBy;
  attempts?: BackendAttempt[];
}

export interface Generation extends ServedMeta {
  created: number;
  images: ServiceImage[];
  output: ServiceOutput;
  usage?: JsonObject;
  /** Any other top-level field of the answer, passed through. */
  extra: JsonObject;
  /** The service's request id (apim-request-id), for support cases. */
  requestId?: string;
}

/** A server-sent event of a streamed generation, as the service sent it. */
export interface StreamEvent extends JsonObject {
  type: 'image_generation.partial_image' | 'image_generation.completed';
  b64_json: string;
}

export interface StreamedGeneration extends ServedMeta {
  events: AsyncIterable<StreamEvent>;
  requestId?: string;
}

export interface Target {
  deployment: string;
  params: GenerationParams;
}

/** What a call carries besides its target. */
export interface CallContext {
  /** Bounds the whole call, every attempt included. */
  signal?: AbortSignal;
  /** Who spends: budgets and the usage ledger (cost/metering.ts) go by it. */
  caller?: Caller;
}

/**
 * What the pipeline generates with: one Azure OpenAI account (ImageService), or something that wraps
 * accounts and adds to what a generation says about itself.
 */
export interface ImageGenerator {
  generate(target: Target, context: CallContext): Promise<Generation>;
  /** Throws before the first event when the service refuses. */
  stream(target: Target, context: CallContext): Promise<StreamedGeneration>;
  /** Throws where the generator would refuse the target before any call (an unpriced model): checked before anything is stored or queued. */
  admit?(target: Target): void;
}
