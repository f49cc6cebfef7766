import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { deploymentBodySchema, deploymentCatalog } from '../lib/catalog.js';
import { DeploymentNotFoundError } from '../lib/errors.js';
import { runtime } from '../lib/runtime.js';
import { credentials, errorResponse, json } from './shared/http.js';

// What each deployment accepts: GET /api/models lists them (the connector's drop-down of
// deployments, the studio's model picker), GET /api/models/{deployment}/schema is the body one takes
// (its dynamic schema). Anonymous to the host and authenticated by the app, as the generation routes
// are: whoever may generate (a caller key, a signed-in principal, the function key) may ask.

const rt = runtime();
const catalog = deploymentCatalog(rt.settings);

function find(request: HttpRequest) {
  const info = catalog.find((d) => d.deployment === request.params.deployment);
  if (!info) throw new DeploymentNotFoundError(request.params.deployment ?? '');
  return info;
}

function authenticated(name: string, route: string, answer: (request: HttpRequest) => HttpResponseInit) {
  app.http(name, {
    methods: ['GET'],
    authLevel: 'anonymous',
    route,
    handler: async (request: HttpRequest, context: InvocationContext) => {
      try {
        await rt.auth.authenticate(credentials(request));
        return answer(request);
      } catch (err) {
        return errorResponse(err, context);
      }
    },
  });
}

authenticated('listModels', 'models', () => json(200, { data: catalog }));
authenticated('getModel', 'models/{deployment}', (request) => json(200, find(request)));
authenticated('getModelSchema', 'models/{deployment}/schema', (request) => json(200, { schema: deploymentBodySchema(find(request)) }));
