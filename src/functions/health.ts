import { errorAnswer } from '../lib/core/errorAnswer.js';
import { deploymentLifecycles } from '../lib/core/lifecycle.js';
import { deploymentPrices } from '../lib/cost/pricing.js';
import { runtime, settingsProblems } from '../lib/runtime.js';
import { byHandler, byHost, route } from '../lib/http/answering.js';

// Readiness, anonymous, touching no dependency: 200 when the settings parsed, else 503 naming them.
// With the function key, the detail: each deployment's model, when it retires and how it is priced, and, with several
// backends, each backend's state and this instance's calls to it over the last five minutes; with
// bad settings, each of them and what is wrong with it.

route(
  'health',
  'GET',
  'health',
  byHandler(async () => ({
    status: 200,
    jsonBody: { status: 'healthy', deployments: [...runtime().settings.AZURE_OPENAI_DEPLOYMENTS.keys()] },
  })),
);

route(
  'healthDetail',
  'GET',
  'health/detail',
  byHost(async () => {
    const refused = settingsProblems();
    if (refused) {
      const { status, body } = errorAnswer(refused);
      return { status, jsonBody: { status: 'unhealthy', ...body, problems: refused.problems } };
    }
    const rt = runtime();
    const deployments = deploymentLifecycles(rt.settings);
    const prices = deploymentPrices(rt.settings);
    const backends = await rt.backends?.health();
    return {
      status: 200,
      jsonBody: {
        status: 'healthy',
        deployments,
        prices,
        ...(backends && { backends }),
        warnings: [...deployments, ...prices].flatMap((d) => (d.warning ? [d.warning] : [])),
      },
    };
  }),
);
