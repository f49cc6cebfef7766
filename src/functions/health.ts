import { app } from '@azure/functions';
import { runtime } from '../lib/runtime.js';

// Readiness: the app started, so its settings parsed. Anonymous, and it touches no dependency.

const rt = runtime();

app.http('health', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
  handler: async () => ({
    status: 200,
    jsonBody: { status: 'healthy', deployments: [...rt.settings.AZURE_OPENAI_DEPLOYMENTS.keys()] },
  }),
});
