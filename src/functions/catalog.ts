import type { HttpRequest } from '@azure/functions';
import { deploymentBodySchema, deploymentCatalog } from '../lib/core/catalog.js';
import { DeploymentNotFoundError } from '../lib/core/errors.js';
import { runtime } from '../lib/runtime.js';
import { byApp, json, route } from '../lib/http/answering.js';

// What each deployment accepts: GET /api/models lists them (the connector's drop-down of
// deployments, the studio's model picker), GET /api/models/{deployment}/schema is the body one takes
// (its dynamic schema). Anonymous to the host and authenticated by the app, as the generation routes
// are: whoever may generate (a caller key, a signed-in principal, the function key) may ask.

/** Built on first use, from the settings. */
let catalog: ReturnType<typeof deploymentCatalog> | undefined;
const deployments = () => (catalog ??= deploymentCatalog(runtime().settings));
const auth = () => runtime().auth;

function find(request: HttpRequest) {
  const info = deployments().find((d) => d.deployment === request.params.deployment);
  if (!info) throw new DeploymentNotFoundError(request.params.deployment ?? '');
  return info;
}

route(
  'listModels',
  'GET',
  'models',
  byApp(auth, async () => json(200, { data: deployments() })),
);
route(
  'getModel',
  'GET',
  'models/{deployment}',
  byApp(auth, async (request) => json(200, find(request))),
);
route(
  'getModelSchema',
  'GET',
  'models/{deployment}/schema',
  byApp(auth, async (request) => json(200, { schema: deploymentBodySchema(find(request)) })),
);
