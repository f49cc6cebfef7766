import { app } from '@azure/functions';
import { withDeadline } from '../lib/deadline.js';
import { QUEUES } from '../lib/queues.js';
import { runtime } from '../lib/runtime.js';

// image-requests → the pipeline → image-results. What can never succeed is answered as failed and
// parked on image-requests-poison with its reason; a 429 puts the message back for Retry-After.

/** Inside host.json's functionTimeout (10 minutes). */
const QUEUE_DEADLINE_MS = 9 * 60_000;

const rt = runtime();

app.storageQueue('processImageRequest', {
  queueName: QUEUES.requests,
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    const delivery = { messageId: String(context.triggerMetadata?.id), dequeueCount: Number(context.triggerMetadata?.dequeueCount ?? 1), invocationId: context.invocationId };
    await withDeadline(QUEUE_DEADLINE_MS, (signal) => rt.jobs.process(message, delivery, signal));
  },
});
