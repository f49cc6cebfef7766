import { AUTH_CHECK_ROUTE } from '../lib/callers/auth.js';
import { byHost, route } from '../lib/http/answering.js';

// GET /api/auth/check: 204 when the host took the function key. The generation routes are anonymous
// to the host, so the app asks the host this, on its own host name, about a function key it is sent.

route(
  'authCheck',
  'GET',
  AUTH_CHECK_ROUTE,
  byHost(async () => ({ status: 204 })),
);
