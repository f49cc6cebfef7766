import { generateBody, generateParameters, generateResponses } from './generate.js';
import { binary, blobParameter, callerSecurity, deploymentParameter, errors, tags } from './shared.js';

// The Images tag: generation at the app's own path and at Azure OpenAI's two, then a kept image's
// file and its permanent link (listed after the jobs, where the document has always had them).

export const generationPaths = {
  '/images/generations': {
    post: {
      operationId: 'GenerateImages',
      tags: [tags.images],
      summary: 'Generate images',
      description:
        'Generates images from a prompt with the Azure OpenAI images body, keeps each in Blob Storage, and answers with durable URLs; `model` picks a deployment.',
      security: callerSecurity,
      parameters: generateParameters,
      requestBody: generateBody,
      responses: generateResponses,
    },
  },
  '/openai/deployments/{deployment}/images/generations': {
    post: {
      operationId: 'GenerateImagesOnDeployment',
      tags: [tags.images],
      summary: 'Generate images on a deployment',
      description:
        "Generates images at Azure OpenAI's dated path, the one the openai SDK's AzureOpenAI client calls; a retired model's name (dall-e-3) is served by its successor.",
      security: callerSecurity,
      parameters: [
        deploymentParameter,
        {
          name: 'api-version',
          in: 'query',
          required: true,
          description: 'A dated Azure OpenAI api-version, such as 2024-10-21.',
          schema: { type: 'string', example: '2024-10-21' },
        },
        ...generateParameters,
      ],
      requestBody: generateBody,
      responses: { ...generateResponses, ...errors(404) },
    },
  },
  '/openai/v1/images/generations': {
    post: {
      operationId: 'GenerateImagesV1',
      tags: [tags.images],
      summary: 'Generate images (v1 path)',
      description:
        "Generates images at Azure OpenAI's v1 path, the one the openai SDK's OpenAI client calls (baseURL <app>/api/openai/v1); `model` names the deployment.",
      security: callerSecurity,
      parameters: generateParameters,
      requestBody: generateBody,
      responses: generateResponses,
    },
  },
};

export const imageFilePaths = {
  '/images/files/{blob}': {
    get: {
      operationId: 'GetImageFile',
      tags: [tags.images],
      summary: 'Get an image file',
      description: 'Returns a kept image itself, its bytes with its content type, for a step that saves a file.',
      parameters: [blobParameter],
      responses: {
        '200': binary('The image.', 'image/png', 'image/jpeg'),
        ...errors(401, 404, 503),
      },
    },
  },
  '/images/links/{blob}': {
    get: {
      operationId: 'GetImageLink',
      tags: [tags.images],
      summary: 'Follow a permanent image link',
      description:
        'A link to a kept image that does not expire: it redirects to a read-only URL signed at that moment. Give it a function key for this function alone to share it.',
      parameters: [blobParameter],
      responses: {
        '302': {
          description: 'Redirects to a fresh read-only URL of the image.',
          headers: {
            Location: { description: 'The image, readable for IMAGE_URL_TTL_MINUTES.', schema: { type: 'string' } },
          },
        },
        ...errors(401, 404, 503),
      },
    },
  },
};
