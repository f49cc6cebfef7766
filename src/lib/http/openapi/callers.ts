import { CALLER_KEY_PREFIX } from '../../core/caller.js';
import { generateBody } from './generate.js';
import { callerSecurity, errors, json, pathParameter, ref, tags } from './shared.js';

// The Callers and usage tag: what a request would cost, caller keys, and the usage totals.

const usageParameters = [
  {
    name: 'caller',
    in: 'query',
    required: false,
    schema: { type: 'string' },
    description: "One caller: a caller key's name, `<provider>:<name>`, `anonymous` or `queue`.",
  },
  {
    name: 'from',
    in: 'query',
    required: false,
    schema: { type: 'string', format: 'date' },
    description: 'The first UTC day (YYYY-MM-DD); `to` by default.',
  },
  {
    name: 'to',
    in: 'query',
    required: false,
    schema: { type: 'string', format: 'date' },
    description: 'The last UTC day (YYYY-MM-DD); today by default. At most 366 days from `from`.',
  },
  {
    name: 'groupBy',
    in: 'query',
    required: false,
    schema: { type: 'string', example: 'caller,model' },
    description: 'Comma-separated: day, caller, model (all three by default; empty for one total).',
  },
];

export const callerPaths = {
  '/images/estimate': {
    post: {
      operationId: 'EstimateImages',
      tags: [tags.callers],
      summary: 'Estimate what a generation would cost',
      description:
        'Answers the most a generation body can cost (from the price table), and the model, deployment and parameters that would serve it, after any DALL·E 3 translation. Nothing is generated or spent.',
      security: callerSecurity,
      requestBody: generateBody,
      responses: {
        '200': json('Estimate', 'The estimate, and who would serve the request.'),
        ...errors(400, 401, 403, 413),
      },
    },
  },
  '/keys': {
    post: {
      operationId: 'CreateCallerKey',
      tags: [tags.callers],
      summary: 'Issue a caller key',
      description: `Issues a key of its own for a caller (${CALLER_KEY_PREFIX}…), sent as api-key or Authorization: Bearer. The answer is the only place the key ever appears: only its SHA-256 is kept.`,
      requestBody: {
        required: true,
        description: 'The caller, and what the key may do.',
        content: { 'application/json': { schema: ref('CallerKeyRequest') } },
      },
      responses: { '201': json('IssuedCallerKey', 'The key, shown this once.'), ...errors(400, 401, 503) },
    },
    get: {
      operationId: 'ListCallerKeys',
      tags: [tags.callers],
      summary: 'List caller keys',
      description: 'Lists every caller key issued, revoked ones included, without the keys.',
      responses: {
        '200': {
          description: 'The caller keys.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { data: { type: 'array', items: ref('CallerKey'), description: 'The caller keys.' } },
              },
            },
          },
        },
        ...errors(401, 503),
      },
    },
  },
  '/keys/{id}': {
    delete: {
      operationId: 'RevokeCallerKey',
      tags: [tags.callers],
      summary: 'Revoke a caller key',
      description:
        'Revokes a key: it stops working at once on the instance that revokes it, and on every instance within AUTH_CACHE_TTL_SECONDS (at most a minute).',
      parameters: [pathParameter('id', "The key's id (not the key).")],
      responses: { '200': json('CallerKey', 'The key as revoked.'), ...errors(401, 404, 503) },
    },
  },
  '/usage': {
    get: {
      operationId: 'GetUsage',
      tags: [tags.callers],
      summary: 'Usage totals',
      description:
        'Answers requests, images and USD per caller, model and UTC day, from the usage ledger. Accept: text/csv answers CSV.',
      parameters: usageParameters,
      responses: {
        '200': {
          description: 'The totals.',
          content: { 'application/json': { schema: ref('Usage') }, 'text/csv': { schema: { type: 'string' } } },
        },
        ...errors(400, 401, 404, 503),
      },
    },
  },
};
