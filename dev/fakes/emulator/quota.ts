// Azure's image quota is requests per minute, per deployment: a sliding 60 s window here, counted
// from each request it admits.

const WINDOW_MS = 60_000;

export type Admission = { admitted: true; remaining: number } | { admitted: false; waitMs: number };

export class Quota {
  private readonly windows = new Map<string, number[]>();

  admit(deployment: string, limit: number, now = Date.now()): Admission {
    const window = (this.windows.get(deployment) ?? []).filter((at) => at > now - WINDOW_MS);
    this.windows.set(deployment, window);
    if (window.length >= limit) return { admitted: false, waitMs: window[window.length - limit] + WINDOW_MS - now };
    window.push(now);
    return { admitted: true, remaining: limit - window.length };
  }

  /** A new quota starts from empty windows, so tests need not wait out earlier calls. */
  clear(): void {
    this.windows.clear();
  }
}
