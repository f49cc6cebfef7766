import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { ApiError, invalidRequest } from '../lib/errors.js';
import type { StoredAnswer } from '../lib/idempotency.js';
import { decodeJsonObject } from '../lib/request.js';
import { runtime } from '../lib/runtime.js';
import type { ImagesResponse } from '../lib/schemas.js';
import { errorResponse, json, readBody } from './shared/http.js';

// POST /api/images/generations, and the same at the Azure path so the openai SDK's AzureOpenAI
// client works unchanged with endpoint `<app>/api`. `Prefer: respond-async` answers 202 with a job
// to poll; `Idempotency-Key` answers a repeat with the first answer.

/** Under the 230 s Azure's front end allows an HTTP-triggered function, with room to answer. */
const HTTP_DEADLINE_MS = 220_000;
/** What a poller is told to wait: images take seconds to a minute. */
const POLL_AFTER_SECONDS = '5';

const rt = runtime();

export async function generateImages(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const pathDeployment = request.params.deployment;
    if (pathDeployment !== undefined) requireApiVersion(request);
    const body = decodeJsonObject(await readBody(request));
    // Refused before anything is spent, stored or queued.
    const resolved = rt.pipeline.validate(body, pathDeployment);
    const respondAsync = /\brespond-async\b/i.test(request.headers.get('prefer') ?? '');

    const run = async (): Promise<StoredAnswer> => {
      if (respondAsync) {
        const { job, pollToken } = await rt.jobs.accept({ ...body, model: resolved.deployment });
        const location = new URL(`/api/images/jobs/${job.id}/status?token=${pollToken}`, request.url).toString();
        return { status: 202, body: { id: job.id, status: job.status }, headers: { Location: location, 'Retry-After': POLL_AFTER_SECONDS } };
      }
      const answer = await rt.pipeline.generate(resolved, { signal: AbortSignal.timeout(HTTP_DEADLINE_MS), log: (m) => context.log(m) });
      return { status: 200, body: answer, headers: {} };
    };

    const key = request.headers.get('idempotency-key');
    if (key === null) return respond(await run());
    const claim = await rt.idempotency.claim(key, { pathDeployment, respondAsync, body });
    if (claim.kind === 'replay') return respond(await withFreshUrls(claim.answer), { 'Idempotent-Replayed': 'true' });
    let answer: StoredAnswer;
    try {
      answer = await run();
    } catch (err) {
      await claim.release();
      throw err;
    }
    await claim.complete(answer);
    return respond(answer);
  } catch (err) {
    return errorResponse(err, context);
  }
}

const respond = (answer: StoredAnswer, extra: Record<string, string> = {}) => json(answer.status, answer.body, { ...answer.headers, ...extra });

/** A replayed answer's SAS URLs may have expired since: they are signed again. */
async function withFreshUrls(answer: StoredAnswer): Promise<StoredAnswer> {
  if (answer.status !== 200) return answer;
  return { ...answer, body: await rt.pipeline.refreshUrls(answer.body as ImagesResponse) };
}

function requireApiVersion(request: HttpRequest): void {
  const apiVersion = request.query.get('api-version');
  if (!apiVersion) throw invalidRequest("The query parameter 'api-version' is required.", 'api-version');
  if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(apiVersion)) {
    throw new ApiError(400, 'invalid_request_error', `Invalid value for 'api-version': '${apiVersion}'.`, { param: 'api-version' });
  }
}

app.http('generateImages', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'images/generations',
  handler: generateImages,
});

app.http('generateImagesAzurePath', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'openai/deployments/{deployment}/images/generations',
  handler: generateImages,
});
