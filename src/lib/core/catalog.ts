import { MODELS, retirementDate, type Deployments, type ModelName } from './models.js';
import { modelBodySchema } from './request.js';

// What each deployment of this app accepts, for callers that build forms: the Power Platform
// connector offers only the sizes, qualities and counts the chosen deployment's model takes.

/** gpt-image-2 takes any size within its rule; these are offered, and any other valid size is taken. */
const SUGGESTED_FREE_SIZES = [
  'auto',
  '1024x1024',
  '1536x1024',
  '1024x1536',
  '2048x2048',
  '2048x1152',
  '1152x2048',
  '3840x2160',
  '2160x3840',
  '3840x1280',
];

export interface DeploymentInfo {
  deployment: string;
  model: ModelName;
  version: string;
  retires: string;
  sizes: string[];
  /** Where the size is a rule rather than a list: the rule, in words. */
  size_rule?: string;
  qualities: string[];
  n_max: number;
  output_formats: string[];
  backgrounds: string[];
  partial_images_max: number;
}

export function deploymentCatalog(settings: Pick<Deployments, 'AZURE_OPENAI_DEPLOYMENTS'>): DeploymentInfo[] {
  return [...settings.AZURE_OPENAI_DEPLOYMENTS].map(([deployment, model]) => {
    const { rules, version } = MODELS[model];
    return {
      deployment,
      model,
      version,
      retires: retirementDate(model),
      sizes: rules.size.kind === 'list' ? [...rules.size.values] : SUGGESTED_FREE_SIZES,
      ...(rules.size.kind === 'rule' && { size_rule: rules.size.describe }),
      qualities: [...rules.qualities],
      n_max: rules.n.max,
      output_formats: [...(rules.outputFormats ?? [])],
      backgrounds: [...(rules.backgrounds ?? [])],
      partial_images_max: rules.partialImagesMax ?? 0,
    };
  });
}

/** The JSON Schema of the body a deployment takes, with its sizes offered as choices. */
export function deploymentBodySchema(info: DeploymentInfo): Record<string, unknown> {
  const schema = modelBodySchema(info.model) as { properties: Record<string, Record<string, unknown>> };
  const { model: _model, ...properties } = schema.properties;
  // Power Automate shows an enum as a drop-down that still takes a custom value: for a size rule, the
  // enum offers common sizes and the description says what else is taken.
  const size = {
    ...properties.size,
    enum: info.sizes,
    ...(info.size_rule && { description: `Any size within the rule: ${info.size_rule}.` }),
  };
  return { ...schema, properties: { ...properties, size } };
}
