import { app } from '@azure/functions';
import { settingsProblems } from './lib/runtime.js';
import './functions/hostKeyCheck.js';
import './functions/imageFiles.js';
import './functions/gallery.js';
import './functions/health.js';
import './functions/jobQueue.js';
import './functions/images.js';
import './functions/jobs.js';
import './functions/callers.js';
import './functions/catalog.js';
import './functions/openapi.js';
import './functions/studio.js';
import './functions/thumbnailQueue.js';
import './functions/usage.js';
import './functions/webhooks.js';
// The app's one entry point: esbuild bundles it, with everything it imports, into the file
// package.json's `main` names (dev/build/bundle.ts), which `func start`, the local host (dev/host) and
// Azure all load. Each import registers its functions; a new module of src/functions/ must be
// imported here (test/unit/bundle.test.ts fails otherwise).

// HTTP streaming: request and response bodies flow as Node streams instead of being buffered whole.
// The worker reads this once the entry point has loaded, so after the registrations is in time.
app.setup({ enableHttpStream: true });

// The clients are built now, at start-up, as the first request would build them; bad settings are
// logged now and answered by every function (503) rather than failing the load.
settingsProblems();
