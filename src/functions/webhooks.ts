import { app, type HttpRequest } from '@azure/functions';
import { ANONYMOUS } from '../lib/core/caller.js';
import { InvalidRequestError } from '../lib/core/errors.js';
import { decodeJsonObject } from '../lib/core/request.js';
import { runtime } from '../lib/runtime.js';
import { QUEUES } from '../lib/jobs/queues.js';
import type { Subscription } from '../lib/jobs/webhooks.js';
import { byHost, json, readBody, route } from '../lib/http/answering.js';

// "When an image is ready": webhook subscriptions, as Power Automate's webhook trigger and Logic
// Apps' HTTP Webhook action make them. POST subscribes (the callback in the body's callback_url, as
// the connector sends it, or in the x-ms-notification-url header) and answers 201 with a Location
// that DELETE unsubscribes; deliveries go out from the webhooks queue.

async function subscribe(request: HttpRequest) {
  const bytes = await readBody(request);
  // The host let only the function key through: its job spends as a synchronous call with it would.
  const answer = await runtime().jobs.subscribe(
    bytes.byteLength === 0 ? {} : decodeJsonObject(bytes),
    ANONYMOUS,
    request.headers.get('x-ms-notification-url') ?? undefined,
  );
  const location = new URL(`/api/images/subscriptions/${answer.subscription.id}`, request.url).toString();
  return json(
    201,
    { ...view(answer.subscription), ...(answer.job && { job_id: answer.job.id }) },
    { Location: location },
  );
}

async function unsubscribe(request: HttpRequest, byId: boolean) {
  // Only where the route has it: on Azure, params also hold the query's parameters.
  const id = byId ? request.params.id : undefined;
  const callbackUrl = request.query.get('callback_url');
  if (!id && !callbackUrl)
    throw new InvalidRequestError("Name the subscription: its id in the path, or 'callback_url'.", 'callback_url');
  const deleted = await runtime().webhooks.unsubscribe(id ? { id } : { callbackUrl: callbackUrl! });
  return json(200, { deleted });
}

async function get(request: HttpRequest) {
  return json(200, view(await runtime().webhooks.get(request.params.id)));
}

/** A subscription as callers see it: the callback without its query, which may hold a signature. */
function view({ callback_url, ...rest }: Subscription) {
  const url = new URL(callback_url);
  return { ...rest, callback: `${url.origin}${url.pathname}` };
}

route('subscribeImageEvents', 'POST', 'images/subscriptions', byHost(subscribe));
route(
  'unsubscribeImageEventsByCallback',
  'DELETE',
  'images/subscriptions',
  byHost((request) => unsubscribe(request, false)),
);
route('getImageSubscription', 'GET', 'images/subscriptions/{id}', byHost(get));
route(
  'unsubscribeImageEvents',
  'DELETE',
  'images/subscriptions/{id}',
  byHost((request) => unsubscribe(request, true)),
);

app.storageQueue('deliverImageEvent', {
  queueName: QUEUES.webhooks,
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => runtime().jobs.deliver(message, (m) => context.warn(m)),
});
