import type { HttpRequest, InvocationContext } from '@azure/functions';
import { NotFoundError } from '../lib/core/errors.js';
import { decodeJsonObject } from '../lib/core/request.js';
import { runtime } from '../lib/runtime.js';
import { byHost, json, NO_STORE, readBody, route } from '../lib/http/answering.js';

// Caller keys, with the function key (operators): POST /api/keys issues one (the answer is the only
// place the key ever appears), GET /api/keys lists them without their keys, DELETE /api/keys/{id}
// revokes one: within AUTH_CACHE_TTL_SECONDS on every instance.

async function create(request: HttpRequest, context: InvocationContext) {
  const issued = await runtime().callerKeys.create(decodeJsonObject(await readBody(request)));
  context.log(`Issued caller key ${issued.id} for ${issued.name}.`);
  // Nobody between here and the operator should keep an answer that holds a key.
  return json(201, issued, NO_STORE);
}

async function list() {
  return json(200, { data: await runtime().callerKeys.list() });
}

async function revoke(request: HttpRequest, context: InvocationContext) {
  const revoked = await runtime().callerKeys.revoke(request.params.id);
  if (!revoked) throw new NotFoundError(`There is no caller key '${request.params.id}'.`);
  context.log(`Revoked caller key ${revoked.id} of ${revoked.name}.`);
  return json(200, revoked);
}

route('createCallerKey', 'POST', 'keys', byHost(create));
route('listCallerKeys', 'GET', 'keys', byHost(list));
route('revokeCallerKey', 'DELETE', 'keys/{id}', byHost(revoke));
