import { errors, pathParameter, tags } from './shared.js';

// The Studio tag's page: its shell and its files, which hold no data and need no credentials.

export const studioPagePaths = {
  '/studio': {
    get: {
      operationId: 'GetStudio',
      tags: [tags.studio],
      summary: 'The studio page',
      description:
        'The studio page: a shell holding no data, so it loads without credentials; the page asks for a key or a sign-in.',
      security: [],
      responses: { '200': { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  },
  '/studio/assets/{file}': {
    get: {
      operationId: 'GetStudioAsset',
      tags: [tags.studio],
      summary: "A file of the studio's page",
      description: "The studio page's script or style sheet, named by its content's hash and cached for a year.",
      security: [],
      parameters: [pathParameter('file', 'The file name, as the page names it.')],
      responses: {
        '200': {
          description: 'The file.',
          content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } },
        },
        ...errors(404),
      },
    },
  },
};
