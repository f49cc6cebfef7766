import { app } from '@azure/functions';
import { openApiDocument } from '../lib/http/openapi.js';

// GET /api/openapi.json: the API described from the zod schemas the validation uses.

const document = openApiDocument();

app.http('openapi', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'openapi.json',
  handler: async () => ({ status: 200, jsonBody: document }),
});
