import { parentPort } from 'node:worker_threads';
import type { ImageFormat } from '../images/format.js';
import { renderThumbnail } from './thumbnails.js';

// The thumbnail worker thread (thumbnails.ts starts it): decodes, shrinks and encodes off the
// instance's event loop. dev/build/bundle.ts bundles it beside the app as thumbnail-worker.js.

parentPort?.on('message', (job: { id: number; bytes: Uint8Array; format: ImageFormat }) => {
  renderThumbnail(job.bytes, job.format).then(
    (thumbnail) => parentPort!.postMessage({ id: job.id, thumbnail }, [thumbnail.bytes.buffer as ArrayBuffer]),
    (err: unknown) => parentPort!.postMessage({ id: job.id, error: (err as Error).message }),
  );
});
