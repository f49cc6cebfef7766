import { servedHeaders } from './generate.js';
import { errors, json, pathParameter, ref, retryAfter, tags } from './shared.js';

// The Jobs tag: a job of Prefer: respond-async or the queue, read whole or polled.

const jobIdParameter = pathParameter('id', 'The job id from the 202 answer or the queue message.');

export const jobPaths = {
  '/images/jobs/{id}': {
    get: {
      operationId: 'GetImageJob',
      tags: [tags.jobs],
      summary: 'Get an image job',
      description:
        'Reads a job from Prefer: respond-async or the image-requests queue: always 200, with its status, and its result or error once it has ended.',
      parameters: [jobIdParameter],
      responses: { '200': json('Job', 'The job.'), ...errors(401, 404, 503) },
    },
  },
  '/images/jobs/{id}/status': {
    get: {
      operationId: 'PollImageJob',
      tags: [tags.jobs],
      summary: 'Poll an image job',
      description:
        'The Location of a 202 answer: 202 while the job runs, then what the synchronous call would have answered (200 with the images, or the error with its status). It needs no function key: the token it carries reads that one job (a valet key), since Power Automate polls without credentials.',
      security: [],
      parameters: [
        jobIdParameter,
        {
          name: 'token',
          in: 'query',
          required: true,
          description: 'The poll token from the Location header.',
          schema: { type: 'string' },
        },
      ],
      responses: {
        '200': json('ImagesResponse', 'The job succeeded: the images, with URLs signed afresh.', servedHeaders),
        '202': {
          description: 'The job runs; poll Location again after Retry-After seconds.',
          headers: { Location: { description: 'Where to poll next.', schema: { type: 'string' } }, ...retryAfter },
          content: { 'application/json': { schema: ref('JobAccepted') } },
        },
        ...errors(400, 401, 404, 429, 502, 503, 504),
      },
    },
  },
};
