import { daysUntilRetirement, MODELS, retirementDate } from './models.js';
import { Prices, usdText } from '../cost/pricing.js';
import type { Settings } from '../platform/settings.js';

// Operators hear of a model's retirement before it happens, and of a deployment the price table
// cannot price: at start-up in the log, and in the function-key health detail.

/** Days ahead of a retirement from which it is worth a warning. */
export const RETIREMENT_NOTICE_DAYS = 90;

export interface DeploymentLifecycle {
  deployment: string;
  model: string;
  version: string;
  stage: string;
  retires: string;
  days_left: number;
  warning?: string;
}

export function deploymentLifecycles(settings: Pick<Settings, 'AZURE_OPENAI_DEPLOYMENTS'>, now = new Date()): DeploymentLifecycle[] {
  return [...settings.AZURE_OPENAI_DEPLOYMENTS].map(([deployment, model]) => {
    const days = daysUntilRetirement(model, now);
    const retires = retirementDate(model);
    const entry: DeploymentLifecycle = { deployment, model, version: MODELS[model].version, stage: MODELS[model].lifecycle.stage, retires, days_left: days };
    if (days <= RETIREMENT_NOTICE_DAYS) {
      entry.warning =
        days <= 0
          ? `Deployment ${deployment}: model ${model} retired on ${retires}; Azure no longer serves it. Deploy a current model.`
          : `Deployment ${deployment}: model ${model} retires on ${retires}, in ${days} days. Deploy a current model before then.`;
    }
    return entry;
  });
}

export interface DeploymentPrice {
  deployment: string;
  model: string;
  table_version: string;
  /** per_token or per_image; absent when the table has no price for the model. */
  billing?: string;
  warning?: string;
}

/**
 * Whether the price table prices what each deployment can make. A gap is a warning, not a refused
 * setting: the requests it concerns are refused one by one (403 PriceNotFound), or held at the
 * operator's default, while every other deployment keeps serving.
 */
export function deploymentPrices(settings: Pick<Settings, 'AZURE_OPENAI_DEPLOYMENTS' | 'PRICE_TABLE' | 'ALLOW_UNPRICED_MODELS' | 'UNPRICED_IMAGE_ESTIMATE_USD'>): DeploymentPrice[] {
  const table = settings.PRICE_TABLE;
  const prices = new Prices(table);
  const then = settings.ALLOW_UNPRICED_MODELS
    ? `served (ALLOW_UNPRICED_MODELS), holding ${usdText(Math.round((settings.UNPRICED_IMAGE_ESTIMATE_USD ?? 0) * 1e9))} per image on the budgets, and recorded as unpriced`
    : 'refused with 403 PriceNotFound before Azure OpenAI is called (ALLOW_UNPRICED_MODELS is off)';
  return [...settings.AZURE_OPENAI_DEPLOYMENTS].map(([deployment, model]) => {
    const price = table.models[model];
    const entry: DeploymentPrice = { deployment, model, table_version: table.version, ...(price && { billing: price.billing }) };
    const size = MODELS[model].rules.size;
    let gap: string | undefined;
    if (!price) gap = `model ${model} has no price in the price table ${table.version}`;
    else if (size.kind === 'list') {
      const missing = size.values.filter((s) => s !== 'auto' && 'unpriced' in prices.estimate(model, { prompt: '', n: 1, size: s }));
      if (missing.length > 0) gap = `the price table ${table.version} has no price for ${model} at ${missing.join(', ')}`;
    } else if (price.billing === 'per_image' || !price.output_tokens_formula) {
      gap = `the price table ${table.version} prices ${model} only at the sizes it lists, not every size the model takes`;
    }
    if (gap) entry.warning = `Deployment ${deployment}: ${gap}; such requests are ${then}.`;
    return entry;
  });
}
