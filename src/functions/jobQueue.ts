import { app } from '@azure/functions';
import { withDeadline } from '../lib/platform/deadline.js';
import { QUEUES } from '../lib/jobs/queues.js';
import { runtime } from '../lib/runtime.js';
import { queueDelivery } from '../lib/jobs/worker.js';

// image-requests → the pipeline → image-results. What can never succeed is answered as failed and
// parked on image-requests-poison with its reason; a 429 puts the message back for Retry-After.

/** Inside host.json's functionTimeout (10 minutes). */
const QUEUE_DEADLINE_MS = 9 * 60_000;

app.storageQueue('processImageRequest', {
  queueName: QUEUES.requests,
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    // Before anything else: with a bad setting this throws, and the host delivers the message again.
    const rt = runtime();
    const delivery = queueDelivery(message, context.triggerMetadata, context.invocationId);
    await withDeadline(QUEUE_DEADLINE_MS, (signal) => rt.jobs.process(message, delivery, signal));
  },
});
