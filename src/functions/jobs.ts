import type { HttpRequest } from '@azure/functions';
import { NotFoundError, UnauthorizedError } from '../lib/core/errors.js';
import { runtime } from '../lib/runtime.js';
import { POLL_AFTER_SECONDS } from '../lib/jobs/worker.js';
import { byHandler, byHost, json, retryAfter, route, servedHeaders } from '../lib/http/answering.js';

// An asynchronous job, two ways:
//   GET /api/images/jobs/{id}/status?token=…: the Location a 202 hands out, a valet key for that one
//   job. Anonymous to the host, because Power Automate polls without the key the first call carried.
//   It answers 202 while the job runs; then what the synchronous call would have answered: 200 with
//   the images (URLs signed afresh), or the error with its own status. So a poll ends as the call would
//   have, and Logic Apps and Power Automate fail the action when the job failed.
//   GET /api/images/jobs/{id}: any job, with the function key: always 200 with the job's status.

async function poll(request: HttpRequest) {
  const token = request.query.get('token');
  if (!token)
    throw new UnauthorizedError(
      "The query parameter 'token' is required: poll the Location the 202 answer gave.",
      'token',
    );
  const job = await find(request.params.id, token);
  const { state } = job;
  if (job.status === 'succeeded') return json(200, job.result, state.served && servedHeaders(state.served));
  if (job.status === 'failed') {
    return json(state.error_status ?? 502, { error: job.error }, retryAfter(state.error_retry_after_seconds));
  }
  return json(
    202,
    { id: job.id, status: job.status },
    { Location: request.url, 'Retry-After': String(POLL_AFTER_SECONDS) },
  );
}

async function view(request: HttpRequest) {
  const { state: _state, ...job } = await find(request.params.id);
  return json(200, job);
}

async function find(id: string, pollToken?: string) {
  const found = await runtime().jobs.status(id, pollToken);
  if (!found)
    throw new NotFoundError(`There is no image job '${id}'${pollToken === undefined ? '' : ' with this token'}.`);
  return found;
}

route('getImageJob', 'GET', 'images/jobs/{id}', byHost(view));
// The poll token is its credential, checked by the job store.
route('pollImageJob', 'GET', 'images/jobs/{id}/status', byHandler(poll));
