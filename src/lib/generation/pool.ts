import type { TokenCredential } from '@azure/identity';
import type { BackendMark, BackendState, MarkChange } from './poolState.js';
import {
  ServiceAuthError,
  ServiceFailedError,
  ServiceRejectedError,
  ServiceThrottledError,
  ServiceTimeoutError,
} from '../core/errors.js';
import type { ApiKeySource } from './apiKeys.js';
import type { ModelName } from '../core/models.js';
import { backoff, ImageService } from './azureOpenAI.js';
import type {
  BackendAttempt,
  CallContext,
  Generation,
  ImageGenerator,
  ServedMeta,
  StreamedGeneration,
  StreamEvent,
  Target,
} from './generator.js';
import type { BackendSettings, Settings } from '../platform/settings.js';

// Several Azure OpenAI deployments, on accounts in several regions, behind the one generator the
// pipeline calls. A call goes to the lowest priority that has a backend available, weighted at
// random within it. A backend is unavailable while it is throttled (until its 429 said, capped) or
// while its circuit is open (failures within a window open it; then one trial request decides).
// What may be sent elsewhere is decided by what it would cost: a 429, a connection refused or a
// 5xx made no image, so the same request goes at once to the next backend; a timeout may have made
// (and billed) one, so it is never sent again here. Throttle marks and circuits are shared by every
// instance (backendState.ts); the counters the health detail shows are this instance's own.

/** How long past the call's timeout a trial request holds its backend: a holder that died lets go. */
const TRIAL_MARGIN_MS = 10_000;
/** The wait to give when a backend was available a moment ago, yet none is now. */
const MOMENT_MS = 1_000;
/** The window of the counters the health detail shows. */
const RECENT_MS = 5 * 60_000;

export interface CircuitOptions {
  /** Failures within windowMs that open the circuit. */
  failures: number;
  windowMs: number;
  /** How long it stays open before one trial request decides. */
  openMs: number;
}

export interface BackendPoolOptions {
  backends: { settings: BackendSettings; service: ImageGenerator }[];
  /** The app's deployments and the model of each: a call's pool is the backends serving that model. */
  deployments: ReadonlyMap<string, ModelName>;
  state: BackendState;
  /** The longest a 429 marks a backend throttled. */
  maxThrottleMs: number;
  circuit: CircuitOptions;
  /** How long a trial request may take: the per-attempt timeout. */
  callTimeoutMs: number;
  /** Rounds over the pool after every backend failed in a way that made nothing (AZURE_OPENAI_MAX_RETRIES). */
  maxRetries: number;
  /** [0, 1), as Math.random: injectable so that a test can fix the seed. */
  random?: () => number;
  now?: () => number;
  log?: (message: string) => void;
}

/** One backend as the health detail shows it. */
export interface BackendHealth {
  name: string;
  region: string;
  model: ModelName;
  deployment: string;
  priority: number;
  weight: number;
  available: boolean;
  circuit: 'closed' | 'open' | 'half-open';
  throttled_until: string | null;
  open_until: string | null;
  /** This instance's calls over the last five minutes. */
  last_5_minutes: { requests: number; throttled: number; failures: number };
}

interface Member {
  settings: BackendSettings;
  service: ImageGenerator;
  recent: { requests: number[]; throttled: number[]; failures: number[] };
  /** Failures within the circuit's window, this instance's. */
  failures: number[];
}

export class BackendPool implements ImageGenerator {
  private readonly members: Member[];
  private readonly pools = new Map<string, Member[]>();
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly log: (message: string) => void;

  constructor(private readonly options: BackendPoolOptions) {
    this.members = options.backends.map(({ settings, service }) => ({
      settings,
      service,
      recent: { requests: [], throttled: [], failures: [] },
      failures: [],
    }));
    for (const [deployment, model] of options.deployments)
      this.pools.set(
        deployment,
        this.members.filter((m) => m.settings.model === model),
      );
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
  }

  generate(target: Target, context: CallContext): Promise<Generation> {
    return this.run(target, context, (member, sent, signal) => member.service.generate(sent, { signal }));
  }

  /** Fails over until the stream starts (the service's answer headers); after that, a failure is the stream's. */
  stream(target: Target, context: CallContext): Promise<StreamedGeneration> {
    return this.run(target, context, async (member, sent, signal) => {
      const streamed = await member.service.stream(sent, { signal });
      return { ...streamed, events: this.watch(member, streamed.events, signal) };
    });
  }

  /** Every backend: its state as this instance knows it, and its recent calls. */
  async health(): Promise<BackendHealth[]> {
    const marks = await this.options.state.marks();
    const now = this.now();
    return this.members.map((member) => {
      const { settings, recent } = member;
      const mark = marks.get(settings.name);
      const iso = (ms: number | undefined) => (ms && ms > now ? new Date(ms).toISOString() : null);
      return {
        name: settings.name,
        region: settings.region,
        model: settings.model,
        deployment: settings.deployment,
        priority: settings.priority,
        weight: settings.weight,
        available: availability(mark, now).until <= now,
        circuit: !mark?.openUntil ? 'closed' : mark.openUntil > now ? 'open' : 'half-open',
        throttled_until: iso(mark?.throttledUntil),
        open_until: iso(mark?.openUntil),
        last_5_minutes: {
          requests: count(recent.requests, now),
          throttled: count(recent.throttled, now),
          failures: count(recent.failures, now),
        },
      };
    });
  }

  private async run<T extends ServedMeta>(
    target: Target,
    { signal }: CallContext,
    call: (member: Member, sent: Target, signal?: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const pool = this.pools.get(target.deployment);
    if (!pool) throw new Error(`No backend pool for deployment ${target.deployment}`);
    const attempts: BackendAttempt[] = [];
    const tried = new Set<Member>();
    let lastError: Error | undefined;
    for (let round = 0; ;) {
      const chosen = await this.choose(pool, tried);
      if (!chosen) {
        const wait = await this.soonest(pool);
        if (wait !== undefined || lastError === undefined)
          throw this.nothingAvailable(target, pool, wait ?? MOMENT_MS, lastError);
        // Every backend that is available failed in this round, each in a way that made nothing;
        // as with one account, only failures of the service itself are worth another round.
        if (round >= this.options.maxRetries || !(lastError instanceof ServiceFailedError)) {
          // The backends that failed were the only ones available while the rest are throttled (or
          // open): the caller waits for the soonest of those, as when none is available, rather than
          // get a 502 the next request would not get.
          const marks = await this.options.state.marks();
          const now = this.now();
          const later = pool
            .map((m) => availability(marks.get(m.settings.name), now).until)
            .filter((until) => until > now);
          throw later.length > 0 ? this.nothingAvailable(target, pool, Math.min(...later) - now, lastError) : lastError;
        }
        await backoff(round++, signal, lastError);
        tried.clear();
        continue;
      }
      const { member, trial } = chosen;
      tried.add(member);
      const started = this.now();
      note(member.recent.requests, started);
      try {
        const result = await call(member, { ...target, deployment: member.settings.deployment }, signal);
        attempts.push({ backend: member.settings.name, outcome: 'ok', ms: this.now() - started });
        if (trial) void this.closeCircuit(member);
        return { ...result, backend: { name: member.settings.name, region: member.settings.region }, attempts };
      } catch (err) {
        const outcome = this.failed(member, err, trial, signal);
        attempts.push({ backend: member.settings.name, outcome, ...statusOf(err), ms: this.now() - started });
        lastError = err as Error;
        if (!sendElsewhere(err)) throw err;
      }
    }
  }

  /** The lowest priority with an available backend not tried yet, weighted at random; a half-open one only as its trial. */
  private async choose(pool: Member[], tried: Set<Member>): Promise<{ member: Member; trial: boolean } | undefined> {
    const lost = new Set<Member>();
    for (;;) {
      const marks = await this.options.state.marks();
      const now = this.now();
      const open = pool.filter(
        (m) => !tried.has(m) && !lost.has(m) && availability(marks.get(m.settings.name), now).until <= now,
      );
      if (open.length === 0) return undefined;
      const first = Math.min(...open.map((m) => m.settings.priority));
      const member = pickWeighted(
        open.filter((m) => m.settings.priority === first),
        this.random(),
      );
      if (!availability(marks.get(member.settings.name), now).trial) return { member, trial: false };
      const lease = now + this.options.callTimeoutMs + TRIAL_MARGIN_MS;
      const claimed = await this.options.state.change(member.settings.name, (mark) =>
        mark.openUntil > 0 && mark.openUntil <= now && mark.trialUntil <= now
          ? { ...mark, trialUntil: lease }
          : undefined,
      );
      if (claimed) return { member, trial: true };
      lost.add(member); // another request holds the trial
    }
  }

  /** Records a failed call against its backend; answers its outcome. */
  private failed(
    member: Member,
    err: unknown,
    trial: boolean,
    signal: AbortSignal | undefined,
  ): BackendAttempt['outcome'] {
    const now = this.now();
    if (err instanceof ServiceThrottledError) {
      note(member.recent.throttled, now);
      const until = now + Math.min(err.retryAfterMs, this.options.maxThrottleMs);
      // A later mark is never shortened. A trial that met a quota says nothing of the backend's
      // health: its circuit stays half-open, for the next request to try.
      this.mark(member, (mark) =>
        mark.throttledUntil >= until && !trial
          ? undefined
          : { ...mark, throttledUntil: Math.max(mark.throttledUntil, until), ...(trial && { trialUntil: 0 }) },
      );
      return 'throttled';
    }
    if (err instanceof ServiceRejectedError) {
      // The caller's request, as the service judged it: the backend answered, and is well.
      if (trial) void this.closeCircuit(member);
      return 'rejected';
    }
    const outcome =
      err instanceof ServiceTimeoutError
        ? 'timeout'
        : err instanceof ServiceFailedError && err.code === 'UpstreamUnreachable' && !err.mayHaveGenerated
          ? 'unreachable'
          : 'failed';
    // The caller's own deadline is not the backend's failure.
    if (outcome === 'timeout' && signal?.aborted) {
      if (trial) this.mark(member, (mark) => ({ ...mark, trialUntil: 0 }));
      return outcome;
    }
    note(member.recent.failures, now);
    member.failures = [...member.failures.filter((at) => at > now - this.options.circuit.windowMs), now];
    if (trial || member.failures.length >= this.options.circuit.failures) {
      member.failures = [];
      const until = now + this.options.circuit.openMs;
      this.mark(member, (mark) => ({ ...mark, openUntil: Math.max(mark.openUntil, until), trialUntil: 0 }));
      this.log(
        `Backend ${member.settings.name} (${member.settings.region}): circuit open for ${this.options.circuit.openMs / 1000} s after ${trial ? 'its trial request failed' : `${this.options.circuit.failures} failures`} (${(err as Error).message}).`,
      );
    }
    return outcome;
  }

  private async closeCircuit(member: Member): Promise<void> {
    member.failures = [];
    const closed = await this.options.state.change(member.settings.name, (mark) =>
      mark.openUntil === 0 ? undefined : { ...mark, openUntil: 0, trialUntil: 0 },
    );
    if (closed)
      this.log(
        `Backend ${member.settings.name} (${member.settings.region}): circuit closed, its trial request succeeded.`,
      );
  }

  /** Changes a backend's shared mark without holding up the call: the local copy has it at once. */
  private mark(member: Member, change: MarkChange): void {
    void this.options.state.change(member.settings.name, change);
  }

  /** Counts a failure after the stream started against its backend; the stream fails as it would have. */
  private async *watch(
    member: Member,
    events: AsyncIterable<StreamEvent>,
    signal: AbortSignal | undefined,
  ): AsyncIterable<StreamEvent> {
    try {
      yield* events;
    } catch (err) {
      this.failed(member, err, false, signal);
      throw err;
    }
  }

  /** How long until a backend of the pool is available again; undefined when one is now. */
  private async soonest(pool: Member[]): Promise<number | undefined> {
    const marks = await this.options.state.marks();
    const now = this.now();
    const until = Math.min(...pool.map((m) => availability(marks.get(m.settings.name), now).until));
    return until > now ? until - now : undefined;
  }

  private nothingAvailable(target: Target, pool: Member[], waitMs: number, cause: unknown): ServiceThrottledError {
    const names = pool.map((m) => m.settings.name).join(', ');
    return new ServiceThrottledError(
      `No Azure OpenAI backend for deployment '${target.deployment}' can take a request now (${names}: throttled or failing); one can in ${Math.ceil(waitMs / 1000)} s.`,
      waitMs,
      { cause },
    );
  }
}

/** When a backend is available again (its mark's latest wait), and whether its next request is a circuit's trial. */
function availability(mark: Readonly<BackendMark> | undefined, now: number): { until: number; trial: boolean } {
  if (!mark) return { until: 0, trial: false };
  const halfOpen = mark.openUntil > 0 && mark.openUntil <= now;
  return { until: Math.max(mark.throttledUntil, mark.openUntil, halfOpen ? mark.trialUntil : 0), trial: halfOpen };
}

/** `random` in [0, 1) picks a member with a chance of its weight over the group's. */
function pickWeighted<T extends { settings: { weight: number } }>(group: T[], random: number): T {
  let left = random * group.reduce((sum, m) => sum + m.settings.weight, 0);
  for (const member of group) {
    left -= member.settings.weight;
    if (left < 0) return member;
  }
  return group[group.length - 1];
}

/** What made no image may be sent to another backend: a 429, a refused connection, a 5xx, refused credentials. */
const sendElsewhere = (err: unknown) =>
  err instanceof ServiceThrottledError ||
  err instanceof ServiceAuthError ||
  (err instanceof ServiceFailedError && !err.mayHaveGenerated);

function statusOf(err: unknown): Pick<BackendAttempt, 'status' | 'code'> {
  const status = err instanceof ServiceThrottledError ? 429 : (err as { cause?: { status?: unknown } }).cause?.status;
  const code = (err as { code?: unknown }).code;
  return { ...(typeof status === 'number' && { status }), ...(typeof code === 'string' && { code }) };
}

/** Adds a call to a recent counter, forgetting what is older than its window. */
function note(times: number[], now: number): void {
  times.push(now);
  count(times, now);
}

function count(times: number[], now: number): number {
  let old = 0;
  while (old < times.length && times[old] <= now - RECENT_MS) old++;
  times.splice(0, old);
  return times.length;
}

export interface PoolDependencies {
  state: BackendState;
  /** The api-key of one Key Vault secret (or the local key). */
  keys: (secretName: string) => ApiKeySource;
  credential: () => TokenCredential;
  log?: (message: string) => void;
}

/** The pool AZURE_OPENAI_BACKENDS describes: one client per backend, one key cache per secret. */
export function createBackendPool(settings: Settings, dependencies: PoolDependencies): BackendPool {
  const sources = new Map<string, ApiKeySource>();
  const timeoutMs = settings.ms.azureOpenAITimeout;
  const backends = settings.AZURE_OPENAI_BACKENDS!.map((backend) => {
    const secret = backend.keyVaultSecretName;
    const keys =
      secret === undefined
        ? undefined
        : (sources.get(secret) ?? sources.set(secret, dependencies.keys(secret)).get(secret)!);
    const service = new ImageService({
      endpoint: backend.endpoint,
      apiVersion: settings.AZURE_OPENAI_API_VERSION,
      auth: keys ? { kind: 'key', keys } : { kind: 'entra', credential: dependencies.credential() },
      timeoutMs,
      // The pool sends again, to another backend first.
      maxRetries: 0,
    });
    return { settings: backend, service };
  });
  return new BackendPool({
    backends,
    deployments: settings.AZURE_OPENAI_DEPLOYMENTS,
    state: dependencies.state,
    maxThrottleMs: settings.ms.azureOpenAIMaxRetryAfter,
    circuit: {
      failures: settings.AZURE_OPENAI_CIRCUIT_FAILURES,
      windowMs: settings.ms.circuitWindow,
      openMs: settings.ms.circuitOpen,
    },
    callTimeoutMs: timeoutMs,
    maxRetries: settings.AZURE_OPENAI_MAX_RETRIES,
    log: dependencies.log,
  });
}
