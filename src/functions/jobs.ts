import { app } from '@azure/functions';
import { ApiError } from '../lib/errors.js';
import { runtime } from '../lib/runtime.js';
import { errorResponse, json } from './shared/http.js';

// GET /api/images/jobs/{id}: 202 while the job runs (Logic Apps and Power Automate poll Location
// until an answer is not 202), 200 once it has succeeded or failed.

const rt = runtime();

app.http('getImageJob', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'images/jobs/{id}',
  handler: async (request, context) => {
    try {
      const job = await rt.jobs.status(request.params.id!);
      if (!job) throw new ApiError(404, 'NotFound', `There is no image job '${request.params.id}'.`);
      const done = job.status === 'succeeded' || job.status === 'failed';
      return done ? json(200, job) : json(202, job, { Location: request.url, 'Retry-After': '5' });
    } catch (err) {
      return errorResponse(err, context);
    }
  },
});
