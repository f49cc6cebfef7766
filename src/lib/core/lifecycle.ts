import { daysUntilRetirement, MODELS, retirementDate, type Deployments } from './models.js';

// Operators hear of a model's retirement before it happens: at start-up in the log, and in the
// function-key health detail (beside the price table's gaps, cost/pricing.ts deploymentPrices).

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

export function deploymentLifecycles(
  settings: Pick<Deployments, 'AZURE_OPENAI_DEPLOYMENTS'>,
  now = new Date(),
): DeploymentLifecycle[] {
  return [...settings.AZURE_OPENAI_DEPLOYMENTS].map(([deployment, model]) => {
    const days = daysUntilRetirement(model, now);
    const retires = retirementDate(model);
    const entry: DeploymentLifecycle = {
      deployment,
      model,
      version: MODELS[model].version,
      stage: MODELS[model].lifecycle.stage,
      retires,
      days_left: days,
    };
    if (days <= RETIREMENT_NOTICE_DAYS) {
      entry.warning =
        days <= 0
          ? `Deployment ${deployment}: model ${model} retired on ${retires}; Azure no longer serves it. Deploy a current model.`
          : `Deployment ${deployment}: model ${model} retires on ${retires}, in ${days} days. Deploy a current model before then.`;
    }
    return entry;
  });
}
