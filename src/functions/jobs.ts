import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import { NotFoundError, UnauthorizedError } from '../lib/errors.js';
import { runtime } from '../lib/runtime.js';
import { POLL_AFTER_SECONDS } from '../lib/worker.js';
import { errorResponse, json } from './shared/http.js';

// An asynchronous job: 202 while it runs (Logic Apps and Power Automate poll Location until an
// answer is not 202), 200 once it has succeeded or failed.
//   GET /api/images/jobs/{id}: any job, with the function key.
//   GET /api/images/jobs/{id}/status?token=…: the Location a 202 hands out, a valet key for that one
//   job. Anonymous to the host, because Power Automate polls without the key the first call carried.

const rt = runtime();

async function getJob(request: HttpRequest, context: InvocationContext, pollToken?: string) {
  try {
    const id = request.params.id;
    const found = await rt.jobs.status(id, pollToken);
    if (!found) throw new NotFoundError(`There is no image job '${id}'${pollToken === undefined ? '' : ' with this token'}.`);
    const { state: _state, ...job } = found;
    const done = job.status === 'succeeded' || job.status === 'failed';
    return done ? json(200, job) : json(202, job, { Location: request.url, 'Retry-After': String(POLL_AFTER_SECONDS) });
  } catch (err) {
    return errorResponse(err, context);
  }
}

app.http('getImageJob', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'images/jobs/{id}',
  handler: (request, context) => getJob(request, context),
});

app.http('pollImageJob', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'images/jobs/{id}/status',
  handler: (request, context) => {
    const token = request.query.get('token');
    if (!token) return errorResponse(new UnauthorizedError("The query parameter 'token' is required: poll the Location the 202 answer gave.", 'token'), context);
    return getJob(request, context, token);
  },
});
