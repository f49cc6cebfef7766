import { byHost, route } from '../lib/http/answering.js';
import { openApiDocument } from '../lib/http/openapi.js';

// GET /api/openapi.json: the API described from the zod schemas the validation uses.

const document = openApiDocument();

route(
  'openapi',
  'GET',
  'openapi.json',
  byHost(async () => ({ status: 200, jsonBody: document })),
);
