import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { ApiError, invalidRequest } from '../lib/errors.js';
import { decodeJsonObject } from '../lib/request.js';
import { runtime } from '../lib/runtime.js';
import { errorResponse, json, readBody } from './shared/http.js';

// POST /api/images/generations, and the same at the Azure path so the openai SDK's AzureOpenAI
// client works unchanged with endpoint `<app>/api`.

/** Under the 230 s Azure's front end allows an HTTP-triggered function, with room to answer. */
const HTTP_DEADLINE_MS = 220_000;

const rt = runtime();

export async function generateImages(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const pathDeployment = request.params.deployment;
    if (pathDeployment !== undefined) requireApiVersion(request);
    const body = decodeJsonObject(await readBody(request));
    const answer = await rt.pipeline.run(body, {
      pathDeployment,
      signal: AbortSignal.timeout(HTTP_DEADLINE_MS),
      log: (message) => context.log(message),
    });
    return json(200, answer);
  } catch (err) {
    return errorResponse(err, context);
  }
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
