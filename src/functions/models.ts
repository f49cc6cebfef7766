import { app, type HttpRequest } from '@azure/functions';
import { deploymentBodySchema, deploymentCatalog } from '../lib/catalog.js';
import { DeploymentNotFoundError } from '../lib/errors.js';
import { runtime } from '../lib/runtime.js';
import { answering, json } from './shared/http.js';

// What each deployment accepts: GET /api/models lists them (the connector's drop-down of
// deployments), GET /api/models/{deployment}/schema is the body one takes (its dynamic schema).

const rt = runtime();
const catalog = deploymentCatalog(rt.settings);

function find(request: HttpRequest) {
  const info = catalog.find((d) => d.deployment === request.params.deployment);
  if (!info) throw new DeploymentNotFoundError(request.params.deployment ?? '');
  return info;
}

app.http('listModels', { methods: ['GET'], authLevel: 'function', route: 'models', handler: async () => json(200, { data: catalog }) });

app.http('getModel', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'models/{deployment}',
  handler: answering(async (request: HttpRequest) => json(200, find(request))),
});

app.http('getModelSchema', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'models/{deployment}/schema',
  handler: answering(async (request: HttpRequest) => json(200, { schema: deploymentBodySchema(find(request)) })),
});
