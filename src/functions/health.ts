import { app } from '@azure/functions';
import { deploymentLifecycles, deploymentPrices } from '../lib/lifecycle.js';
import { runtime } from '../lib/runtime.js';

// Readiness, anonymous, touching no dependency: the app started, so its settings parsed. With the
// function key, the detail: each deployment's model, when it retires and how it is priced, and, with several
// backends, each backend's state and this instance's calls to it over the last five minutes.

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

app.http('healthDetail', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'health/detail',
  handler: async () => {
    const deployments = deploymentLifecycles(rt.settings);
    const prices = deploymentPrices(rt.settings);
    const backends = await rt.backends?.health();
    return {
      status: 200,
      jsonBody: { status: 'healthy', deployments, prices, ...(backends && { backends }), warnings: [...deployments, ...prices].flatMap((d) => (d.warning ? [d.warning] : [])) },
    };
  },
});
