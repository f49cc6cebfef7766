import { z } from 'zod';
import { ERROR_STATUSES, type ErrorStatus } from '../../core/errorAnswer.js';

// What the operations of every tag share: schema references, the error answers (from the one table
// that gives each error its status), the path parameters and the tags.

export const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', unrepresentable: 'any' });
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (name: string, description: string, headers?: Record<string, object>) => ({
  description,
  ...(headers && { headers }),
  content: { 'application/json': { schema: ref(name) } },
});

export const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } },
};

/** The answers of the statuses an operation may meet, in Azure's error shape; pick those that apply. */
export const errors = (...statuses: ErrorStatus[]) =>
  Object.fromEntries(
    statuses.map((s) => {
      const { description, ...rest } = ERROR_STATUSES[s];
      return [s, json('AzureError', description, 'retryAfter' in rest ? retryAfter : undefined)];
    }),
  );

/** A caller key (api-key, as AzureOpenAI sends it, or Bearer, as OpenAI does), or the function key. */
export const callerSecurity = [{ callerKey: [] }, { callerBearer: [] }, { functionKey: [] }];

export const pathParameter = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
export const blobParameter = pathParameter(
  'blob',
  "The image blob's name, as the answer's storage.blob gives it (for example 2026/11/26/003145123-…-0.png).",
);
export const deploymentParameter = pathParameter('deployment', 'A deployment of the app, as GET /models lists them.');

export const binary = (description: string, ...types: string[]) => ({
  description,
  content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])),
});

export const tags = {
  images: 'Images',
  studio: 'Studio',
  jobs: 'Jobs',
  models: 'Models',
  webhooks: 'Webhooks',
  callers: 'Callers and usage',
  app: 'App',
};
