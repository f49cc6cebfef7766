import { checkModelAllowed, type Caller } from '../core/caller.js';
import { ImageStore, type KeptImage } from './store.js';
import type { JsonObject } from '../core/json.js';
import { MODELS, type Deployments, type ModelName } from '../core/models.js';
import { imageRecord, type ImageRecord, type RecordContext } from './record.js';
import { resolveRequest, type ImageRequest } from '../core/request.js';
import type { ImageData, ImagesResponse } from '../core/schemas.js';
import type { GenerationCost, StreamCosts } from '../cost/metering.js';
import { completedGeneration } from '../generation/azureOpenAI.js';
import type {
  CallContext,
  Generation,
  ImageGenerator,
  ServedBy,
  ServedMeta,
  ServiceImage,
  StreamedGeneration,
  StreamEvent,
  Target,
} from '../generation/generator.js';

// The pipeline every trigger calls: validate, generate (the key is the service's business), keep,
// answer. Streamed generations keep each final image as it arrives and pass partial images through.

export interface GenerateOptions {
  /** Bounds the whole run: the HTTP trigger must answer within 230 s. */
  signal?: AbortSignal;
  /** The asynchronous job this run belongs to, written into each record. */
  jobId?: string;
  /** Who spends: into each record, and to the generator for budgets and the usage ledger. */
  caller?: Caller;
  log?: (message: string) => void;
  /**
   * Runs each step that keeps what the service answered: the queue worker waits out a Storage
   * outage there, since those images are paid for. Once called, the service has answered.
   */
  keeping?: <T>(step: () => Promise<T>) => Promise<T>;
}

/** An answer, and who served it: the edges say so in headers. */
export interface Answer {
  body: ImagesResponse;
  served: { model: ModelName; deployment: string; backend?: ServedBy };
}

/** One server-sent event for the caller. */
export interface StreamFrame {
  event: string;
  data: JsonObject;
}

/** Any generator; a metered one (cost/metering.ts) also says what each image cost, and when its ledger has settled. */
interface MaybeMetered extends ImageGenerator {
  generate(target: Target, context: CallContext): Promise<Generation & Partial<GenerationCost>>;
  stream(target: Target, context: CallContext): Promise<StreamedGeneration & Partial<StreamCosts>>;
}

export interface PipelineOptions {
  deployments: Deployments;
  apiVersion: string;
  generator: MaybeMetered;
  store: ImageStore;
  /** What follows each kept image for the gallery (its index entry, its thumbnail); never fails a generation. */
  gallery?: { kept(kept: KeptImage, record: ImageRecord, log?: (message: string) => void): Promise<void> };
}

export class ImagePipeline {
  constructor(private readonly options: PipelineOptions) {}

  /**
   * Validates a request body; throws an InvalidRequestError naming the field, or a
   * ModelNotAllowedError when the caller may not use the serving model, or a PriceNotFoundError when
   * it has no price, before anything is spent.
   */
  resolve(body: JsonObject, pathDeployment?: string, caller?: Caller): ImageRequest {
    const request = resolveRequest(body, this.options.deployments, pathDeployment);
    if (caller) checkModelAllowed(caller, request.served.model);
    this.options.generator.admit?.(request.served);
    return request;
  }

  async generate(request: ImageRequest, options: GenerateOptions = {}): Promise<Answer> {
    const context = this.context(options);
    const generation = await this.options.generator.generate(request.served, {
      signal: options.signal,
      caller: options.caller,
    });
    // What the generator still does (metering settles the ledger) runs while the images are kept.
    const keeping = options.keeping ?? ((step) => step());
    const [kept] = await Promise.all([
      keeping(() => this.keepAll(request, generation, context, options.signal)),
      generation.settled,
    ]);
    const [data] = await Promise.all([
      keeping(() => Promise.all(generation.images.map((image, i) => this.answerImage(request, image, kept[i]?.image)))),
      Promise.all(
        kept.flatMap((k) =>
          k && this.options.gallery ? [this.options.gallery.kept(k.image, k.record, options.log)] : [],
        ),
      ),
    ]);
    options.log?.(
      `Generated ${data.length} image(s) on ${request.served.deployment} for ${options.caller?.name ?? 'anonymous'} (request ${generation.requestId ?? 'unknown'}) in ${Date.now() - context.startedAt} ms.`,
    );
    return { body: this.answerBody(request, generation, data), served: served(request, generation) };
  }

  /**
   * Starts a streamed generation: it throws before the first event when the service refuses, so
   * the caller still gets a JSON error. Each final image is kept before its event is passed on.
   */
  async stream(
    request: ImageRequest,
    options: GenerateOptions = {},
  ): Promise<{ frames: AsyncIterable<StreamFrame>; served: Answer['served'] }> {
    const context = this.context(options);
    const { events, ...meta } = await this.options.generator.stream(request.served, {
      signal: options.signal,
      caller: options.caller,
    });
    return { frames: this.relay(request, events, { ...context, ...meta }, options), served: served(request, meta) };
  }

  /** The same answer with each kept image's URL signed afresh: stored answers outlive their SAS. */
  async refreshUrls(body: ImagesResponse): Promise<ImagesResponse> {
    const data = await Promise.all(
      body.data.map(async (image) => {
        if (!image.storage) return image;
        const { url, expiresOn } = await this.options.store.readUrl(image.storage.blob);
        return { ...image, url, storage: { ...image.storage, url_expires_on: expiresOn.toISOString() } };
      }),
    );
    return { ...body, data };
  }

  /** A kept image's bytes, for callers who want the file itself. */
  readImage(blob: string): Promise<{ bytes: Buffer; contentType: string } | undefined> {
    return this.options.store.read(blob);
  }

  /** A fresh read-only URL for a kept image; undefined when there is no such image. */
  async imageUrl(blob: string): Promise<string | undefined> {
    return (await this.options.store.exists(blob)) ? (await this.options.store.readUrl(blob)).url : undefined;
  }

  /** Takes away the images of an answer that will not be used. */
  async discard(body: ImagesResponse): Promise<void> {
    await Promise.all(body.data.flatMap((image) => (image.storage ? [this.options.store.remove(image.storage)] : [])));
  }

  private context(options: GenerateOptions): RecordContext {
    return {
      apiVersion: this.options.apiVersion,
      startedAt: Date.now(),
      ...(options.jobId !== undefined && { jobId: options.jobId }),
      ...(options.caller && { caller: options.caller }),
    };
  }

  private async *relay(
    request: ImageRequest,
    events: AsyncIterable<StreamEvent>,
    context: RecordContext & Omit<StreamedGeneration & Partial<StreamCosts>, 'events'>,
    options: GenerateOptions,
  ): AsyncIterable<StreamFrame> {
    let index = 0;
    for await (const event of events) {
      if (event.type !== 'image_generation.completed') {
        yield { event: event.type, data: event };
        continue;
      }
      const cost = context.costOf?.(event);
      const generation = { ...completedGeneration(event, context), ...(cost && { cost }) };
      const record = imageRecord(request, generation, 0, context);
      const kept = await this.options.store.keep(
        { bytes: Buffer.from(event.b64_json, 'base64') },
        ImageStore.blobName(new Date(), index),
        record,
        options.signal,
      );
      const [{ url, storage }] = await Promise.all([
        this.answerImage(request, {}, kept),
        this.options.gallery?.kept(kept, record, options.log),
      ]);
      index++;
      yield { event: event.type, data: { ...event, url, storage } };
    }
    options.log?.(
      `Streamed ${index} image(s) on ${request.served.deployment} in ${Date.now() - context.startedAt} ms.`,
    );
  }

  /** Keeps every image or none: when one fails, those already kept are taken away. */
  private async keepAll(
    request: ImageRequest,
    generation: Generation & Partial<GenerationCost>,
    context: RecordContext,
    signal?: AbortSignal,
  ): Promise<({ image: KeptImage; record: ImageRecord } | undefined)[]> {
    const now = new Date();
    const results = await Promise.allSettled(
      generation.images.map(async (image, index) => {
        const source = image.b64_json
          ? { bytes: Buffer.from(image.b64_json, 'base64') }
          : image.url
            ? { url: image.url }
            : undefined;
        // An item without an image (filtered after generation) is passed through as the service sent it.
        if (!source) return undefined;
        const record = imageRecord(request, generation, index, context);
        return {
          image: await this.options.store.keep(source, ImageStore.blobName(now, index), record, signal),
          record,
        };
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (!failed)
      return results.map(
        (r) => (r as PromiseFulfilledResult<{ image: KeptImage; record: ImageRecord } | undefined>).value,
      );
    await Promise.all(
      results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [this.options.store.remove(r.value.image)] : [])),
    );
    throw failed.reason;
  }

  private async answerImage(
    request: ImageRequest,
    image: ServiceImage,
    kept: KeptImage | undefined,
  ): Promise<ImageData> {
    if (!kept) return image;
    const { url: _serviceUrl, b64_json, ...rest } = image;
    const { url, expiresOn } = await this.options.store.readUrl(kept.blob);
    // DALL·E 3 clients get bytes inline only when they asked; gpt-image clients always do.
    const inline =
      request.requested.params.response_format === 'b64_json' || !MODELS[request.requested.model].rules.responseFormats;
    return {
      url,
      ...(inline && b64_json !== undefined && { b64_json }),
      ...rest,
      storage: {
        container: kept.container,
        blob: kept.blob,
        record: kept.record,
        url_expires_on: expiresOn.toISOString(),
      },
    };
  }

  /** DALL·E 3 clients get the shape they parse; gpt-image clients get the service's fields too. */
  private answerBody(request: ImageRequest, generation: Generation, data: ImageData[]): ImagesResponse {
    if (MODELS[request.requested.model].rules.responseFormats) return { created: generation.created, data };
    return {
      ...generation.extra,
      created: generation.created,
      ...generation.output,
      data,
      ...(generation.usage !== undefined && { usage: generation.usage }),
    };
  }
}

const served = (request: ImageRequest, { backend }: ServedMeta): Answer['served'] => ({
  model: request.served.model,
  deployment: request.served.deployment,
  ...(backend && { backend }),
});
