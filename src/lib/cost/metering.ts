import { ANONYMOUS, type Caller } from '../core/caller.js';
import {
  DependencyUnavailableError,
  PriceNotFoundError,
  ServiceFailedError,
  ServiceTimeoutError,
} from '../core/errors.js';
import { isJsonObject } from '../core/json.js';
import type { Hold, Spend, UsageLedger } from './ledger.js';
import type { ModelName } from '../core/models.js';
import { patiently } from '../platform/storage.js';
import { usdText, type Cost, type DefaultEstimate, type Estimate, type Prices } from './pricing.js';
import type {
  CallContext,
  Generation,
  ImageGenerator,
  StreamedGeneration,
  StreamEvent,
  Target,
} from '../generation/generator.js';

// Metering wraps whatever generates (one account, or several): before the call it holds the
// request's estimate on the caller's and the app's daily budgets (refused there, nothing is spent);
// after it, the hold settles to what the images cost, or is released when nothing was made. Each
// generation carries its cost, which the record keeps. A request the price table cannot price is
// refused before the call, unless the operator admits it (ALLOW_UNPRICED_MODELS) at a default estimate.

export interface MeteringOptions {
  prices: Prices;
  /** The model behind each deployment. */
  models: ReadonlyMap<string, ModelName>;
  /** Absent when LEDGER_ENABLED is off: costs are still worked out, nothing is held or kept. */
  ledger?: UsageLedger;
  /** USD per UTC day; undefined: no budget. */
  callerDailyBudgetUsd?: number;
  appDailyBudgetUsd?: number;
  /** ALLOW_UNPRICED_MODELS: what a request the table cannot price holds per image, in USD; undefined: it is refused. */
  unpricedImageEstimateUsd?: number;
  /** Where a ledger failure after the images were made is told: the caller still gets them. */
  warn?: (message: string) => void;
}

/** What metering adds to a generation: what it cost, and when the usage ledger has settled it (the answer waits for that). */
export interface GenerationCost {
  cost: Cost;
  settled: Promise<void>;
}

/** What metering adds to a stream: what each completed event's image cost, as it arrives. */
export interface StreamCosts {
  costOf(event: StreamEvent): Cost | undefined;
}

interface Metered {
  caller: Caller;
  model: ModelName;
  estimate: Estimate | DefaultEstimate;
  hold?: Hold;
}

export class MeteredGenerator implements ImageGenerator {
  private readonly settling = new Set<Promise<void>>();

  constructor(
    private readonly inner: ImageGenerator,
    private readonly options: MeteringOptions,
  ) {}

  /** The most a request can cost: what is held on the budgets before the service is called. Throws a PriceNotFoundError where nothing would be. */
  estimate(target: Target): Estimate | DefaultEstimate {
    return this.priced(this.modelOf(target), target);
  }

  /** Throws a PriceNotFoundError for a request that would be refused for want of a price: before anything is stored or queued. */
  admit(target: Target): void {
    this.estimate(target);
  }

  async generate(target: Target, context: CallContext): Promise<Generation & GenerationCost> {
    const metered = await this.reserve(target, context);
    const generation = await this.held(metered, () => this.inner.generate(target, context));
    const images = generation.images.length;
    const cost = this.options.prices.cost(metered.model, {
      usage: generation.usage,
      output: generation.output,
      params: target.params,
      images,
    });
    // The ledger is written while the images are kept: the answer waits for both, not one after the other.
    const settled = this.settle(metered, spendOf(metered, images, cost));
    return { ...generation, cost, settled };
  }

  /** Each completed image is costed as it arrives; the hold settles once the stream has ended. */
  async stream(target: Target, context: CallContext): Promise<StreamedGeneration & StreamCosts> {
    const metered = await this.reserve(target, context);
    const streamed = await this.held(metered, () => this.inner.stream(target, context));
    const costs = new WeakMap<StreamEvent, Cost>();
    const spent: Spend = spendOf(metered, 0);
    const prices = this.options.prices;
    const settle = () => (spent.images > 0 ? this.settle(metered, spent) : this.release(metered));
    async function* events(): AsyncIterable<StreamEvent> {
      try {
        for await (const event of streamed.events) {
          if (event.type === 'image_generation.completed') {
            const { usage, size, quality } = event;
            const output = {
              ...(typeof size === 'string' && { size }),
              ...(typeof quality === 'string' && { quality }),
            };
            const cost = prices.cost(metered.model, {
              usage: isJsonObject(usage) ? usage : undefined,
              output,
              params: target.params,
              images: 1,
            });
            costs.set(event, cost);
            add(spent, spendOf(metered, 1, cost));
          }
          yield event;
        }
      } finally {
        await settle();
      }
    }
    return { ...streamed, events: events(), costOf: (event) => costs.get(event) };
  }

  /** The table's estimate; where it has none, the operator's default per image, or a refusal that names the missing price. */
  private priced(model: ModelName, target: Target): Estimate | DefaultEstimate {
    const estimate = this.options.prices.estimate(model, target.params);
    if (!('unpriced' in estimate)) return estimate;
    const perImage = this.options.unpricedImageEstimateUsd;
    if (perImage === undefined) {
      const reason = estimate.reason.replace(/^the /, 'The ');
      throw new PriceNotFoundError(
        `${reason} (deployment '${target.deployment}'), so no budget could hold this request; it was not sent. The operator adds the price (PRICE_TABLE) or sets ALLOW_UNPRICED_MODELS.`,
        estimate.missing,
      );
    }
    return { ...estimate, images: target.params.n, nanoUsd: target.params.n * nanoUsd(perImage)! };
  }

  private modelOf(target: Target): ModelName {
    const model = this.options.models.get(target.deployment);
    if (!model) throw new Error(`No model is known for deployment ${target.deployment}.`);
    return model;
  }

  /** Holds the estimate on the budgets; throws a BudgetExceededError before anything is spent. */
  private async reserve(target: Target, context: CallContext): Promise<Metered> {
    const caller = context.caller ?? ANONYMOUS;
    const model = this.modelOf(target);
    const estimate = this.priced(model, target);
    const ledger = this.options.ledger;
    if (!ledger) return { caller, model, estimate };
    const budget = {
      caller: caller.name,
      callerNanoUsd: nanoUsd(caller.daily_budget_usd ?? this.options.callerDailyBudgetUsd),
      appNanoUsd: nanoUsd(this.options.appDailyBudgetUsd),
    };
    return { caller, model, estimate, hold: await ledger.reserve(budget, estimate.nanoUsd) };
  }

  /** Calls the service under the hold; a call that fails gives the hold back, or spends it where the image may have been made. */
  private async held<T>(metered: Metered, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      await this.abandon(metered, err);
      throw err;
    }
  }

  /**
   * The call failed. Where nothing can have been made, the hold is released; where the service may
   * still have made (and billed) the images, a timeout, the estimate is spent: a budget is never passed.
   */
  private async abandon(metered: Metered, err: unknown): Promise<void> {
    const mayHaveGenerated =
      err instanceof ServiceTimeoutError || (err instanceof ServiceFailedError && err.mayHaveGenerated);
    if (mayHaveGenerated) {
      const held = metered.estimate.nanoUsd;
      await this.settle(metered, {
        ...spendOf(metered, 0),
        ...('unpriced' in metered.estimate ? { unpricedNanoUsd: held } : { nanoUsd: held }),
      });
    } else {
      await this.release(metered);
    }
  }

  /**
   * The images are made and paid for whatever the ledger does: a failure here is logged, never
   * thrown. During a Storage outage the settlement is tried again until Storage answers (the queue
   * worker's patience), after the answer: the spend is counted, the hold keeping the budget meanwhile.
   */
  private async settle(metered: Metered, spend: Spend): Promise<void> {
    const ledger = this.options.ledger;
    if (!ledger) return;
    const told = (err: unknown, next: string) =>
      this.warn(
        `Could not settle ${usdText(spend.nanoUsd)} for ${spend.caller} in the usage ledger: ${(err as Error).message}${next}`,
      );
    try {
      await ledger.settle(metered.hold, spend);
    } catch (err) {
      if (!(err instanceof DependencyUnavailableError && err.dependency === 'Storage')) return told(err, '');
      told(err, ' Trying again until Storage answers.');
      const again = patiently(() => ledger.settle(metered.hold, spend, true)).then(
        () =>
          this.warn(`Settled ${usdText(spend.nanoUsd)} for ${spend.caller} in the usage ledger once Storage answered.`),
        (last: unknown) => told(last, ' Gave up: the hold lapses, and this spend is not counted.'),
      );
      this.settling.add(again);
      void again.finally(() => this.settling.delete(again));
    }
  }

  /** Settlements still being tried again after a Storage outage: ended when each is counted or given up. */
  async settlements(): Promise<void> {
    await Promise.all([...this.settling]);
  }

  private async release(metered: Metered): Promise<void> {
    await this.options.ledger
      ?.release(metered.hold)
      .catch((err: unknown) =>
        this.warn(`Could not release a hold for ${metered.caller.name} in the usage ledger: ${(err as Error).message}`),
      );
  }

  private warn(message: string): void {
    (this.options.warn ?? console.warn)(message);
  }
}

const nanoUsd = (dollars: number | undefined) => (dollars === undefined ? undefined : Math.round(dollars * 1e9));

function spendOf(metered: Metered, images: number, cost?: Cost): Spend {
  const priced = cost !== undefined && cost.basis !== 'unpriced';
  const unpriced = cost?.basis === 'unpriced' ? images : 0;
  // An image the table cannot price spends its share of the hold on the budgets: never free, never in the USD totals.
  const perImage = Math.round(metered.estimate.nanoUsd / Math.max(1, metered.estimate.images));
  return {
    caller: metered.caller.name,
    model: metered.model,
    images,
    nanoUsd: priced ? cost.nanoUsd : 0,
    unpricedImages: unpriced,
    unpricedNanoUsd: unpriced * perImage,
  };
}

function add(total: Spend, more: Spend): void {
  total.images += more.images;
  total.nanoUsd += more.nanoUsd;
  total.unpricedImages += more.unpricedImages;
  total.unpricedNanoUsd = (total.unpricedNanoUsd ?? 0) + (more.unpricedNanoUsd ?? 0);
}
