import { callerSecurity, deploymentParameter, errors, json, tags } from './shared.js';

// The Models tag: the app's deployments and the body each takes.

export const modelPaths = {
  '/models': {
    get: {
      operationId: 'ListModels',
      tags: [tags.models],
      summary: 'List deployments',
      description: "Lists the app's deployments with what each accepts: sizes, qualities, image counts, formats.",
      security: callerSecurity,
      responses: { '200': json('DeploymentList', 'The deployments.'), ...errors(401, 503) },
    },
  },
  '/models/{deployment}': {
    get: {
      operationId: 'GetModel',
      tags: [tags.models],
      summary: 'Get a deployment',
      description: 'Reads what one deployment accepts.',
      security: callerSecurity,
      parameters: [deploymentParameter],
      responses: { '200': json('Deployment', 'The deployment.'), ...errors(401, 404, 503) },
    },
  },
  '/models/{deployment}/schema': {
    get: {
      operationId: 'GetModelSchema',
      tags: [tags.models],
      security: callerSecurity,
      summary: 'Get the body a deployment takes',
      description:
        "Answers the JSON Schema of the body one deployment takes, its sizes offered as choices: the connector's dynamic schema.",
      parameters: [deploymentParameter],
      responses: {
        '200': {
          description: 'The JSON Schema, under schema.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { schema: { type: 'object', description: 'The JSON Schema of the body.' } },
              },
            },
          },
        },
        ...errors(401, 404, 503),
      },
    },
  },
};
