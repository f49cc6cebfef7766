import { app } from '@azure/functions';
import { QUEUES } from '../lib/jobs/queues.js';
import { runtime } from '../lib/runtime.js';

// image-thumbnails → a WebP thumbnail beside the kept image, and its gallery index entry naming it.
// Asked for by the pipeline right after each image is kept; a failure is retried by the host and
// parked on image-thumbnails-poison after the last attempt (npm run backfill makes what is missing).

app.storageQueue('makeThumbnail', {
  queueName: QUEUES.thumbnails,
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => runtime().galleryIndexer.fromQueue(message, (m) => context.warn(m)),
});
