import { ModelNotAllowedError } from './errors.js';
import type { ModelName } from './models.js';

// Who spends: the caller a request was authenticated as (auth.ts), carried through the pipeline
// into each record, the job and the usage ledger. It never holds a credential.

export type CallerKind = 'key' | 'principal' | 'function_key' | 'queue';

export interface Caller {
  /** A caller key's name; `<provider>:<name>` for a signed-in principal; `anonymous`; `queue`. */
  name: string;
  kind: CallerKind;
  /** A caller key's own daily budget in USD; otherwise CALLER_DAILY_BUDGET_USD applies. */
  daily_budget_usd?: number;
  /** The models a caller key may use; any when absent. */
  models?: ModelName[];
}

/** Caller keys say what they are: a client that sends one is never mistaken for sending something else. */
export const CALLER_KEY_PREFIX = 'igk_';

export const isCallerKey = (text: string): boolean => text.startsWith(CALLER_KEY_PREFIX);

/** Operators with the function key: the platform names nobody. */
export const ANONYMOUS: Caller = { name: 'anonymous', kind: 'function_key' };

/** Whoever may write to image-requests (Storage's own access control): a message names no caller. */
export const QUEUE_CALLER: Caller = { name: 'queue', kind: 'queue' };

/** Names the app gives callers itself: no caller key may take them. */
export const RESERVED_CALLER_NAMES = [ANONYMOUS.name, QUEUE_CALLER.name];

/** Throws a ModelNotAllowedError when the caller may not use the model a request is served by. */
export function checkModelAllowed(caller: Caller, model: ModelName): void {
  if (caller.models && !caller.models.includes(model)) throw new ModelNotAllowedError(caller.name, model);
}
