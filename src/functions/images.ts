import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Caller } from '../lib/core/caller.js';
import { deadline } from '../lib/platform/deadline.js';
import { InvalidRequestError } from '../lib/core/errors.js';
import { estimateJson } from '../lib/cost/pricing.js';
import { decodeJsonObject } from '../lib/core/request.js';
import { runtime } from '../lib/runtime.js';
import { POLL_AFTER_SECONDS } from '../lib/jobs/worker.js';
import { DATED_API_VERSION } from '../lib/platform/settings.js';
import {
  byApp,
  byHandler,
  eventStream,
  json,
  credentials,
  readBody,
  REPLAYED,
  route,
  servedHeaders,
} from '../lib/http/answering.js';

// POST /api/images/generations, and the same at Azure's two paths so the openai SDK works by changing
// only the host: AzureOpenAI (endpoint `<app>/api`, the dated path) and OpenAI (baseURL
// `<app>/api/openai/v1`). `Prefer: respond-async` answers 202 with a job to poll; `stream: true`
// answers server-sent events; `Idempotency-Key` answers a repeat with the first answer.
// POST /api/images/estimate answers what a body would cost, and who would serve it, spending nothing.
// These routes are anonymous to the host: the app authenticates the caller first (lib/auth.ts).

/** Under the 230 s Azure's front end allows an HTTP-triggered function, with room to answer. */
const HTTP_DEADLINE_MS = 220_000;

type Surface = 'app' | 'dated' | 'v1';

async function generateImages(
  request: HttpRequest,
  context: InvocationContext,
  surface: Surface,
): Promise<HttpResponseInit> {
  const limit = deadline(HTTP_DEADLINE_MS);
  let streaming = false;
  try {
    const rt = runtime();
    const caller = await rt.auth.authenticate(credentials(request));
    // Only where the route has it: on Azure, params also hold the query's parameters.
    const pathDeployment = surface === 'dated' ? request.params.deployment : undefined;
    if (surface === 'dated') requireApiVersion(request);
    const body = decodeJsonObject(await readBody(request));
    // Refused before anything is spent, stored or queued.
    const imageRequest = rt.pipeline.resolve(body, pathDeployment, caller);
    const respondAsync = /\brespond-async\b/i.test(request.headers.get('prefer') ?? '');
    const key = request.headers.get('idempotency-key') ?? undefined;
    const resultQueue = request.headers.get('x-result-queue');
    const fingerprint = { pathDeployment, respondAsync, resultQueue, body };

    if (respondAsync) {
      if (imageRequest.requested.params.stream)
        throw new InvalidRequestError(
          "'stream' is for synchronous calls; with Prefer: respond-async, poll the job instead.",
          'stream',
        );
      let pollToken: string | undefined;
      const { value: job, replayed } = await rt.idempotency.run(
        key,
        fingerprint,
        async () => {
          const accepted = await rt.jobs.accept(body, {
            pathDeployment,
            resultQueue: resultQueue ?? undefined,
            caller,
          });
          pollToken = accepted.pollToken;
          return { id: accepted.job.id, status: accepted.job.status };
        },
        caller.name,
      );
      // A repeat gets a token of its own: the first one was never stored where it could be read back.
      pollToken ??= await rt.jobs.issuePollToken(job.id);
      const location = new URL(`/api/images/jobs/${job.id}/status?token=${pollToken}`, request.url).toString();
      return json(202, job, {
        Location: location,
        'Retry-After': String(POLL_AFTER_SECONDS),
        ...(replayed && REPLAYED),
      });
    }

    if (imageRequest.requested.params.stream) {
      if (key !== undefined)
        throw new InvalidRequestError(
          "'stream' cannot be combined with an Idempotency-Key: a stream cannot be replayed.",
          'stream',
        );
      const { frames, served } = await rt.pipeline.stream(imageRequest, {
        signal: limit.signal,
        log: (m) => context.log(m),
        caller,
      });
      streaming = true;
      return eventStream(frames, servedHeaders(served), context, () => limit.clear());
    }

    const { value: answer, replayed } = await rt.idempotency.run(
      key,
      fingerprint,
      () => rt.pipeline.generate(imageRequest, { signal: limit.signal, log: (m) => context.log(m), caller }),
      caller.name,
    );
    // A replayed answer's SAS URLs may have expired since: they are signed again.
    const body200 = replayed ? await rt.pipeline.refreshUrls(answer.body) : answer.body;
    return json(200, body200, { ...servedHeaders(answer.served), ...(replayed && REPLAYED) });
  } finally {
    if (!streaming) limit.clear();
  }
}

async function estimate(request: HttpRequest, caller: Caller): Promise<HttpResponseInit> {
  const rt = runtime();
  const body = decodeJsonObject(await readBody(request));
  const { requested, served } = rt.pipeline.resolve(body, undefined, caller);
  const { prompt: _prompt, ...params } = served.params;
  return json(200, {
    caller: caller.name,
    requested_model: requested.model,
    served: { model: served.model, deployment: served.deployment, params },
    estimate: estimateJson(rt.meter.estimate(served), rt.settings.PRICE_TABLE.version),
  });
}

function requireApiVersion(request: HttpRequest): void {
  const apiVersion = request.query.get('api-version');
  if (!apiVersion) throw new InvalidRequestError("The query parameter 'api-version' is required.", 'api-version');
  if (!DATED_API_VERSION.test(apiVersion))
    throw new InvalidRequestError(`Invalid value for 'api-version': '${apiVersion}'.`, 'api-version');
}

// A generation authenticates its caller itself, inside its deadline.
route(
  'generateImages',
  'POST',
  'images/generations',
  byHandler((request, context) => generateImages(request, context, 'app')),
);
route(
  'generateImagesAzurePath',
  'POST',
  'openai/deployments/{deployment}/images/generations',
  byHandler((request, context) => generateImages(request, context, 'dated')),
);
route(
  'generateImagesV1',
  'POST',
  'openai/v1/images/generations',
  byHandler((request, context) => generateImages(request, context, 'v1')),
);
route(
  'estimateImages',
  'POST',
  'images/estimate',
  byApp(() => runtime().auth, estimate),
);
