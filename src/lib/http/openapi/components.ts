import { z } from 'zod';
import { callerKeyInfo, callerKeyRequest } from '../../callers/callerKeys.js';
import { imageGenerationBody } from '../../core/request.js';
import {
  azureError,
  estimateAnswer,
  imagesResponse,
  job,
  jobAccepted,
  jobEvent,
  subscription,
  subscriptionRequest,
  usageAnswer,
} from '../../core/schemas.js';
import { schema } from './shared.js';

// The document's components: how callers authenticate, and the schemas the operations refer to by
// name (the connector carries each of them).

const deploymentSchema = z
  .object({
    deployment: z.string().describe('The deployment name callers use.'),
    model: z.string().describe('The model it runs.'),
    version: z.string().describe('The model version.'),
    retires: z.string().describe('When the model retires (YYYY-MM-DD).'),
    sizes: z.array(z.string()).describe('The sizes it takes, or common ones where a rule decides.'),
    size_rule: z.string().optional().describe('Where a rule decides the size: the rule.'),
    qualities: z.array(z.string()).describe('The qualities it takes.'),
    n_max: z.int().describe('The most images one request may ask for.'),
    output_formats: z.array(z.string()).describe('The image formats it makes.'),
    backgrounds: z.array(z.string()).describe('The backgrounds it takes.'),
    partial_images_max: z.int().describe('The most partial images a stream may send.'),
  })
  .describe('A deployment and what it accepts.');

export const components = {
  securitySchemes: {
    functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
    callerKey: {
      type: 'apiKey',
      in: 'header',
      name: 'api-key',
      description: 'A caller key, as the AzureOpenAI client sends its apiKey.',
    },
    callerBearer: {
      type: 'http',
      scheme: 'bearer',
      description: 'A caller key, as the OpenAI client sends its apiKey.',
    },
  },
  schemas: {
    ImageGenerationRequest: schema(imageGenerationBody),
    Estimate: schema(estimateAnswer),
    CallerKeyRequest: schema(callerKeyRequest),
    CallerKey: schema(callerKeyInfo),
    IssuedCallerKey: schema(callerKeyInfo.extend({ key: z.string().describe('The caller key: shown this once.') })),
    Usage: schema(usageAnswer),
    ImagesResponse: schema(imagesResponse),
    AzureError: schema(azureError),
    Job: schema(job),
    JobAccepted: schema(jobAccepted),
    JobEvent: schema(jobEvent),
    SubscriptionRequest: schema(subscriptionRequest),
    Subscription: schema(subscription),
    Unsubscribed: schema(
      z
        .object({ deleted: z.int().describe('How many subscriptions ended.') })
        .describe('The outcome of an unsubscribe.'),
    ),
    Deployment: schema(deploymentSchema),
    DeploymentList: schema(
      z.object({ data: z.array(deploymentSchema).describe('The deployments.') }).describe("The app's deployments."),
    ),
  },
};
