import { app } from '@azure/functions';
import { AUTH_CHECK_ROUTE } from '../lib/callers/auth.js';

// GET /api/auth/check: 204 when the host took the function key. The generation routes are anonymous
// to the host, so the app asks the host this, on its own host name, about a function key it is sent.

app.http('authCheck', { methods: ['GET'], authLevel: 'function', route: AUTH_CHECK_ROUTE, handler: async () => ({ status: 204 }) });
