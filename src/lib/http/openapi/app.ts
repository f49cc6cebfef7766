import { errors, tags } from './shared.js';

// The App tag: readiness, the host's function-key check, and the deployments' lifecycle.

export const appPaths = {
  '/health': {
    get: {
      operationId: 'GetHealth',
      tags: [tags.app],
      summary: 'Readiness',
      description: 'Answers 200 once the app started with valid settings; it touches no dependency.',
      security: [],
      responses: { '200': { description: 'The app is ready.' } },
    },
  },
  '/auth/check': {
    get: {
      operationId: 'CheckFunctionKey',
      tags: [tags.app],
      summary: 'Whether the host takes a function key',
      description:
        'Answers 204 when the host took the function key: the app asks its own host this about a function key sent to a route the app authenticates itself.',
      responses: { '204': { description: 'The host took the function key.' }, ...errors(401) },
    },
  },
  '/health/detail': {
    get: {
      operationId: 'GetHealthDetail',
      tags: [tags.app],
      summary: 'Deployments and their lifecycle',
      description:
        "Lists each deployment's model, version and retirement date, and how the price table prices it, with a warning for those retiring within 90 days or without a price.",
      responses: { '200': { description: 'The deployments.' }, ...errors(401) },
    },
  },
};
