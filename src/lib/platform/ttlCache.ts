// What an instance learnt of a credential, kept for a while: a revocation reaches every instance
// within the time to live.

/** Enough distinct keys for a busy app; a flood of made-up keys cannot grow the cache past it. */
const LIMIT = 10_000;

/** Values per key for `ttlMs`, loaded on a miss; past LIMIT entries it starts again empty. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(private readonly ttlMs: number) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const cached = this.entries.get(key);
    if (cached && cached.until > now) return cached.value;
    const value = await load();
    if (this.entries.size >= LIMIT) this.entries.clear();
    this.entries.set(key, { value, until: now + this.ttlMs });
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
