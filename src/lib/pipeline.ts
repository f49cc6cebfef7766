import { ApiError } from './errors.js';
import { ImageStore, type ImageRecord, type KeptImage } from './imageStore.js';
import { resolveRequest, type Deployments, type ResolvedRequest } from './request.js';
import type { ImageData, ImagesResponse } from './schemas.js';
import type { ImageService, ServiceImage } from './service.js';

// The pipeline every trigger calls: validate, generate (the key is the service's business), keep, answer.

export interface RunOptions {
  /** The deployment named in the route, when the caller used the Azure path. */
  pathDeployment?: string;
  /** Bounds the whole run: the HTTP trigger must answer within 230 s. */
  signal?: AbortSignal;
  /** The asynchronous job this run belongs to, written into each record. */
  jobId?: string;
  log?: (message: string) => void;
}

export interface PipelineOptions {
  deployments: Deployments;
  apiVersion: string;
  service: ImageService;
  store: ImageStore;
}

export class ImagePipeline {
  constructor(private readonly options: PipelineOptions) {}

  /** Validates a request body against the deployment's model; throws a 4xx ApiError naming the field. */
  validate(body: Record<string, unknown>, pathDeployment?: string): ResolvedRequest {
    return resolveRequest(body, this.options.deployments, pathDeployment);
  }

  async run(body: Record<string, unknown>, options: RunOptions = {}): Promise<ImagesResponse> {
    return this.generate(this.validate(body, options.pathDeployment), options);
  }

  async generate({ deployment, model, request }: ResolvedRequest, options: RunOptions = {}): Promise<ImagesResponse> {
    const started = Date.now();
    const { body, requestId } = await this.options.service.generate(deployment, request, options.signal);
    const now = new Date();
    const { data, ...topLevel } = body;
    const records = data.map(
      (image, index): ImageRecord => ({
        prompt: request.prompt,
        revised_prompt: image.revised_prompt,
        model,
        deployment,
        api_version: this.options.apiVersion,
        size: request.size,
        quality: request.quality,
        style: request.style,
        output_format: request.output_format,
        output_compression: request.output_compression,
        background: request.background,
        n: request.n,
        index,
        created: body.created,
        request_id: requestId,
        job_id: options.jobId,
        user: request.user,
        prompt_filter_results: image.prompt_filter_results,
        content_filter_results: image.content_filter_results,
        usage: body.usage,
      }),
    );
    const kept = await this.keepAll(data, records, now, options.signal);
    const answer: ImagesResponse = {
      ...topLevel,
      created: body.created,
      data: await Promise.all(data.map((image, i) => this.answerImage(image, kept[i], request.response_format === 'b64_json' || !image.url))),
    };
    options.log?.(
      `Generated ${data.length} image(s) on deployment ${deployment} (request ${requestId ?? 'unknown'}) in ${Date.now() - started} ms.`,
    );
    return answer;
  }

  /** The same answer with each kept image's URL signed afresh: stored answers outlive their SAS. */
  async refreshUrls(answer: ImagesResponse): Promise<ImagesResponse> {
    const data = await Promise.all(
      answer.data.map(async (image) => {
        if (!image.storage) return image;
        const { url, expiresOn } = await this.options.store.readUrl(image.storage.blob);
        return { ...image, url, storage: { ...image.storage, url_expires_on: expiresOn.toISOString() } };
      }),
    );
    return { ...answer, data };
  }

  /** Keeps every image or none: when one fails, those already kept are taken away. */
  private async keepAll(data: ServiceImage[], records: ImageRecord[], now: Date, signal?: AbortSignal): Promise<(KeptImage | undefined)[]> {
    const results = await Promise.allSettled(
      data.map((image, index) => {
        const source = image.b64_json ? { bytes: Buffer.from(image.b64_json, 'base64') } : image.url ? { url: image.url } : undefined;
        // An item without an image (filtered after generation) is passed through as the service sent it.
        return source ? this.options.store.keep(source, ImageStore.blobName(now, index), records[index]!, signal) : undefined;
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (!failed) return results.map((r) => (r as PromiseFulfilledResult<KeptImage | undefined>).value);
    await Promise.all(
      results.map((r) => (r.status === 'fulfilled' && r.value ? this.options.store.remove(r.value) : undefined)),
    );
    throw failed.reason instanceof ApiError ? failed.reason : new ApiError(503, 'StorageUnavailable', 'The images could not be kept.', { cause: failed.reason });
  }

  private async answerImage(image: ServiceImage, kept: KeptImage | undefined, inline: boolean): Promise<ImageData> {
    const { url: _serviceUrl, b64_json, ...rest } = image;
    if (!kept) return image;
    const { url, expiresOn } = await this.options.store.readUrl(kept.blob);
    return {
      url,
      ...(inline && b64_json ? { b64_json } : {}),
      ...rest,
      storage: { container: kept.container, blob: kept.blob, record: kept.record, url_expires_on: expiresOn.toISOString() },
    };
  }
}
