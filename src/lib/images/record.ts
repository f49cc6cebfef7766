import type { Caller } from '../core/caller.js';
import type { JsonObject } from '../core/json.js';
import type { GenerationParams, ModelName } from '../core/models.js';
import { costJson, type Cost } from '../cost/pricing.js';
import type { ImageRequest } from '../core/request.js';
import type { BackendAttempt, Generation, ServedBy, ServiceOutput } from '../generation/generator.js';

// The JSON record kept beside every image: how it was made, in full. The blob is the source of
// truth for what an image is; nothing else holds these fields.

type Params = Omit<GenerationParams, 'prompt'>;

export interface ImageRecord {
  /** Exactly as the caller sent it. */
  prompt: string;
  requested_model: ModelName;
  served_model: ModelName;
  /** The deployment that made it. */
  deployment: string;
  api_version: string;
  /** The parameters as asked, defaults filled, and as sent to the serving model: side by side. */
  requested: Params;
  served: Params;
  /** What the service says it made, where it says (size and quality when `auto` was asked). */
  output: ServiceOutput;
  n: number;
  index: number;
  /** Unix seconds, as the service stamped the answer. */
  created: number;
  duration_ms: number;
  request_id?: string;
  job_id?: string;
  /** Who spent it: a caller key's name, a signed-in principal, `anonymous` (the function key) or `queue`. */
  caller?: Pick<Caller, 'name' | 'kind'>;
  /** The body's end-user id, as the caller declared it: never used for budgets. */
  user?: string;
  revised_prompt?: string;
  prompt_filter_results?: unknown;
  content_filter_results?: unknown;
  usage?: unknown;
  /** Where a pool of backends served it: the backend, and every attempt on the way with its outcome. */
  backend?: ServedBy;
  attempts?: BackendAttempt[];
  /** What this image cost (its share of the generation's), how that was worked out, and the price table's version. */
  cost?: JsonObject;
}

export interface RecordContext {
  apiVersion: string;
  startedAt: number;
  jobId?: string;
  caller?: Caller;
}

const withoutPrompt = ({ prompt: _prompt, ...params }: GenerationParams): Params => params;

/** The record of one image of a generation. */
export function imageRecord(
  request: ImageRequest,
  generation: Generation & { cost?: Cost },
  index: number,
  context: RecordContext,
): ImageRecord {
  const image = generation.images[index];
  const { requested, served } = request;
  return {
    prompt: requested.params.prompt,
    requested_model: requested.model,
    served_model: served.model,
    deployment: served.deployment,
    api_version: context.apiVersion,
    requested: withoutPrompt(requested.params),
    served: withoutPrompt(served.params),
    output: generation.output,
    n: served.params.n,
    index,
    created: generation.created,
    duration_ms: Date.now() - context.startedAt,
    ...(generation.requestId !== undefined && { request_id: generation.requestId }),
    ...(context.jobId !== undefined && { job_id: context.jobId }),
    ...(context.caller && { caller: { name: context.caller.name, kind: context.caller.kind } }),
    ...(requested.params.user !== undefined && { user: requested.params.user }),
    ...(image.revised_prompt !== undefined && { revised_prompt: image.revised_prompt }),
    prompt_filter_results: image.prompt_filter_results,
    content_filter_results: image.content_filter_results,
    ...(generation.usage !== undefined && { usage: generation.usage }),
    ...(generation.backend && { backend: generation.backend }),
    ...(generation.attempts && { attempts: generation.attempts }),
    ...(generation.cost && { cost: costJson(generation.cost, generation.images.length) }),
  };
}
