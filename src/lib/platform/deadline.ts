// Time limits that let go as soon as the work ends. AbortSignal.timeout keeps its timer (and what
// hangs off it) alive until it fires: under load every request's 220 s deadline held memory for
// 220 s. And a signal shared by several attempts collects one listener per attempt; each attempt
// gets a child here instead, unhooked when it ends.

export interface Deadline {
  readonly signal: AbortSignal;
  /** Clears the timer; the signal stays as it is. */
  clear(): void;
}

export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The deadline passed.', 'TimeoutError')), ms);
  const unhook = follow(parent, controller);
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      unhook();
    },
  };
}

/** Runs `work` under a deadline of `ms`, cleared when it settles. */
export async function withDeadline<T>(
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
  parent?: AbortSignal,
): Promise<T> {
  const limit = deadline(ms, parent);
  try {
    return await work(limit.signal);
  } finally {
    limit.clear();
  }
}

/** Runs `work` with a signal that aborts with `parent`, without leaving a listener on `parent`. */
export async function withChildSignal<T>(
  parent: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const unhook = follow(parent, controller);
  try {
    return await work(controller.signal);
  } finally {
    unhook();
  }
}

function follow(parent: AbortSignal | undefined, child: AbortController): () => void {
  if (!parent) return () => undefined;
  if (parent.aborted) {
    child.abort(parent.reason);
    return () => undefined;
  }
  const abort = () => child.abort(parent.reason);
  parent.addEventListener('abort', abort, { once: true });
  return () => parent.removeEventListener('abort', abort);
}

/** Waits `ms`, or less if `signal` aborts first (then it rejects with the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
