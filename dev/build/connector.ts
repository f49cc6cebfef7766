import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isJsonObject } from '../../src/lib/core/json.js';
import { openApiDocument } from '../../src/lib/http/openapi.js';

// `npm run connector`: the Power Automate / Power Apps / Logic Apps custom connector, derived from the
// OpenAPI 3 document (src/lib/http/openapi.ts), written to connector/apiDefinition.swagger.json and
// connector/apiProperties.json. Custom connectors take Swagger 2.0 only, so the document is converted:
//
// - requestBody → one `in: body` parameter; other parameters lose their `schema` wrapper;
//   responses' JSON schema → `schema`, their headers lose `schema` too; binary content → a file.
// - components.schemas → definitions, `#/components/schemas/X` → `#/definitions/X`; a `$ref` keeps
//   no siblings (Swagger 2.0 ignores them).
// - `nullable` → `x-nullable`; `const` → a one-value `enum`; `writeOnly`, `deprecated` dropped. No
//   schema of this API has oneOf or anyOf (Swagger 2.0 has neither): the conversion refuses them.
// - zod's ±(2^53 − 1) bounds on integers are dropped: they only restate JavaScript's safe range.
//
// Then the maker's view, from the table below: which operations a maker sees and how (the main
// action asynchronous, the synchronous one advanced), titles (x-ms-summary), visibility, drop-downs
// and the body from GET /models (x-ms-dynamic-values, x-ms-dynamic-schema), the "when an image is
// ready" webhook trigger, and the metadata certification asks for.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  description?: string;
  schema?: JsonObject;
}

interface OpenApiMedia {
  schema?: JsonObject;
  example?: Json;
}

interface OpenApiResponse {
  description: string;
  headers?: Record<string, { description?: string; schema?: JsonObject }>;
  content?: Record<string, OpenApiMedia>;
}

interface OpenApiOperation {
  operationId: string;
  summary: string;
  description: string;
  tags?: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; description?: string; content: Record<string, OpenApiMedia> };
  responses: Record<string, OpenApiResponse>;
  security?: Record<string, string[]>[];
}

interface OpenApi {
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, JsonObject>;
    securitySchemes: Record<string, { type: string; in?: string; name?: string }>;
  };
}

export const HOST_PLACEHOLDER = 'your-function-app.azurewebsites.net';
const BRAND_COLOR = '#5b3ea8';
const WEBSITE = 'https://learn.microsoft.com/azure/ai-services/openai/how-to/dall-e';

/** The connection parameter Power Platform expects for an API key, and the one for the app's host. */
const API_KEY = 'api_key';
const HOST = 'hostName';

type Visibility = 'important' | 'advanced' | 'internal';

interface ParameterView {
  visibility?: Visibility;
  /** Sent with this value when internal. */
  default?: Json;
  /** A drop-down of the app's deployments. */
  deployments?: true;
  /** Left out of the connector. */
  drop?: true;
}

interface OperationView {
  /** The OpenAPI operation it is. */
  from: string;
  operationId: string;
  summary: string;
  description: string;
  visibility?: Visibility;
  parameters?: Record<string, ParameterView>;
  /** The body: the schema GET /models/{deployment}/schema gives for the chosen deployment. */
  dynamicBody?: true;
  /** A webhook trigger: the body is the trigger's options; what it delivers is `notification`. */
  trigger?: { options: string[]; notification: string };
}

/** The operations a maker sees, and how. Others stay out of the connector. */
const OPERATIONS: OperationView[] = [
  {
    from: 'GenerateImagesOnDeployment',
    operationId: 'GenerateImages',
    summary: 'Generate images',
    description:
      'Generates images from a prompt with the chosen deployment and keeps each in Blob Storage. The action waits for the job however long it takes: it is asynchronous, so it never times out and is never sent twice.',
    visibility: 'important',
    parameters: {
      deployment: { deployments: true, visibility: 'important' },
      // Sent with these values, never shown: the asynchronous pattern, and the dated API's version.
      Prefer: { visibility: 'internal', default: 'respond-async' },
      'api-version': { visibility: 'internal', default: '2024-10-21' },
      'Idempotency-Key': { visibility: 'advanced' },
      'x-result-queue': { drop: true },
    },
    dynamicBody: true,
  },
  {
    from: 'GenerateImages',
    operationId: 'GenerateImagesAndWait',
    summary: 'Generate images and wait for them (synchronous)',
    description:
      'Generates images in one call that waits for them. It is subject to the 120-second limit of a connector call, after which the platform may send it again: prefer Generate images.',
    visibility: 'advanced',
    parameters: {
      Prefer: { drop: true },
      'Idempotency-Key': { visibility: 'advanced' },
      'x-result-queue': { drop: true },
    },
  },
  {
    from: 'GetImageJob',
    operationId: 'GetImageJob',
    summary: 'Get an image job',
    description: 'Reads an image job by its id: its status, and its images or its error once it has ended.',
    visibility: 'advanced',
  },
  {
    from: 'GetImageFile',
    operationId: 'GetImageFile',
    summary: 'Get an image file',
    description:
      'Returns a kept image itself, to save it with a Create file step: in SharePoint, OneDrive or Teams it lasts, where a link expires.',
  },
  {
    from: 'SubscribeImageEvents',
    operationId: 'WhenAnImageIsReady',
    summary: 'When an image is ready',
    description:
      'Triggers when an image job ends, with its images or its error: jobs from Generate images, from other flows and from queues.',
    // Power Platform puts its callback URL in a body property (below), never in a header.
    parameters: { 'x-ms-notification-url': { drop: true } },
    trigger: { options: ['model', 'status'], notification: 'JobEvent' },
  },
  {
    from: 'UnsubscribeImageEvents',
    operationId: 'DeleteImageTrigger',
    summary: 'Delete an image trigger',
    description: 'Ends a trigger subscription; the platform calls it when a flow is turned off or deleted.',
    visibility: 'internal',
  },
  {
    from: 'PollImageJob',
    operationId: 'PollImageJob',
    summary: 'Poll an image job',
    description:
      "Follows an image job to its end: the Location of Generate images' 202 answer, which the platform polls by itself.",
    visibility: 'internal',
  },
  {
    from: 'ListModels',
    operationId: 'ListDeployments',
    summary: 'List deployments',
    description: "Lists the app's deployments: the choices of the Deployment drop-down.",
    visibility: 'internal',
  },
  {
    from: 'GetModelSchema',
    operationId: 'GetDeploymentSchema',
    summary: 'Get the fields a deployment takes',
    description:
      "Answers the body one deployment takes, so the designer offers only that deployment's sizes, qualities and counts.",
    visibility: 'internal',
  },
];

/** Titles where the name does not read as one (the rest: `self_harm` → "Self harm"). */
const TITLES: Record<string, string> = {
  model: 'Model or deployment',
  n: 'Number of images',
  output_compression: 'Output compression (%)',
  user: 'End-user ID',
  created: 'Created (Unix time)',
  data: 'Images',
  url: 'Image URL',
  b64_json: 'Image (base64)',
  storage: 'Storage location',
  blob: 'Image blob',
  record: 'Record blob',
  url_expires_on: 'URL expires on',
  usage: 'Token usage',
  code: 'Error code',
  message: 'Error message',
  param: 'Field at fault',
  type: 'Error type',
  inner_error: 'Inner error',
  id: 'ID',
  partial_images: 'Partial images',
  stream: 'Stream',
  Prefer: 'Respond asynchronously',
  'Idempotency-Key': 'Idempotency key',
  'api-version': 'API version',
  'x-ms-notification-url': 'Callback URL',
};

/** Property visibility; absent means the designer's default (shown, not under "advanced"). */
const PROPERTY_VISIBILITY: Record<string, Visibility> = {
  prompt: 'important',
  response_format: 'advanced',
  output_format: 'advanced',
  output_compression: 'advanced',
  background: 'advanced',
  user: 'advanced',
  style: 'advanced',
  b64_json: 'advanced',
  content_filter_results: 'advanced',
  prompt_filter_results: 'advanced',
  usage: 'advanced',
  inner_error: 'advanced',
  // Server-sent events are for code, not for a flow.
  stream: 'internal',
  partial_images: 'internal',
};

export const title = (name: string): string =>
  TITLES[name] ?? (name.charAt(0).toUpperCase() + name.slice(1)).replace(/[_-]+/g, ' ');

const definitionRef = (ref: string) => ref.replace(/^#\/components\/schemas\//, '#/definitions/');

/** One OpenAPI 3.0 schema object → Swagger 2.0, with x-ms-summary / x-ms-visibility on its properties. */
export function swaggerSchema(schema: JsonObject): JsonObject {
  if (typeof schema.$ref === 'string') return { $ref: definitionRef(schema.$ref) };
  if (schema.oneOf !== undefined || schema.anyOf !== undefined)
    throw new Error('oneOf and anyOf have no Swagger 2.0 form; keep the schemas free of them.');
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    switch (key) {
      case 'writeOnly':
      case 'deprecated':
        break;
      case 'nullable':
        if (value === true) out['x-nullable'] = true;
        break;
      case 'const':
        out.enum = [value];
        break;
      case 'minimum':
        if (value !== Number.MIN_SAFE_INTEGER) out[key] = value;
        break;
      case 'maximum':
        if (value !== Number.MAX_SAFE_INTEGER) out[key] = value;
        break;
      case 'properties':
        if (isJsonObject(value)) out.properties = swaggerProperties(value);
        break;
      case 'items':
      case 'additionalProperties':
        out[key] = isJsonObject(value) ? swaggerSchema(value) : value;
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

function swaggerProperties(properties: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [name, property] of Object.entries(properties)) {
    if (!isJsonObject(property)) continue;
    const converted = swaggerSchema(property);
    // Swagger 2.0 ignores a $ref's siblings: a referenced property takes its titles from the definition.
    if (converted.$ref === undefined) {
      converted['x-ms-summary'] = title(name);
      const visibility = PROPERTY_VISIBILITY[name];
      if (visibility) converted['x-ms-visibility'] = visibility;
    }
    out[name] = converted;
  }
  return out;
}

const jsonSchemaOf = (content: Record<string, OpenApiMedia> | undefined) => content?.['application/json']?.schema;
/** Content that is an image: the designer offers it as a file. */
const isImage = (content: Record<string, OpenApiMedia> | undefined) =>
  Object.keys(content ?? {}).some((type) => type.startsWith('image/'));

function swaggerParameter(parameter: OpenApiParameter, view: ParameterView = {}): JsonObject {
  const { example: _example, ...schema } = parameter.schema ?? { type: 'string' };
  const out: JsonObject = {
    name: parameter.name,
    in: parameter.in,
    // An internal parameter is sent with its default, so it must be required and have one.
    required: parameter.required === true || view.visibility === 'internal',
    description: parameter.description ?? '',
    'x-ms-summary': title(parameter.name),
    ...swaggerSchema(schema),
  };
  if (view.default !== undefined) out.default = view.default;
  if (view.visibility) out['x-ms-visibility'] = view.visibility;
  if (view.deployments) {
    out['x-ms-dynamic-values'] = {
      operationId: 'ListDeployments',
      'value-collection': 'data',
      'value-path': 'deployment',
      'value-title': 'deployment',
    };
  }
  return out;
}

function swaggerResponse(response: OpenApiResponse): JsonObject {
  const out: JsonObject = { description: response.description };
  if (response.headers) {
    const headers: JsonObject = {};
    for (const [name, header] of Object.entries(response.headers))
      headers[name] = { description: header.description ?? '', ...swaggerSchema(header.schema ?? { type: 'string' }) };
    out.headers = headers;
  }
  const media = response.content ?? {};
  const schema = jsonSchemaOf(media);
  if (schema) out.schema = swaggerSchema(schema);
  const example = media['application/json']?.example;
  if (example !== undefined) out.examples = { 'application/json': example };
  // An image: the designer offers it as file content.
  else if (isImage(media)) out.schema = { type: 'string', format: 'binary', 'x-ms-summary': 'Image file' };
  return out;
}

function swaggerOperation(
  view: OperationView,
  operation: OpenApiOperation,
  schemas: OpenApi['components']['schemas'],
): JsonObject {
  const parameters: Json[] = (operation.parameters ?? [])
    .filter((p) => !view.parameters?.[p.name]?.drop)
    .map((p) => swaggerParameter(p, view.parameters?.[p.name]));
  const bodySchema = jsonSchemaOf(operation.requestBody?.content);
  if (operation.requestBody && bodySchema) {
    let schema: JsonObject = swaggerSchema(bodySchema);
    if (view.dynamicBody) {
      schema = {
        type: 'object',
        'x-ms-dynamic-schema': {
          operationId: 'GetDeploymentSchema',
          parameters: { deployment: { parameter: 'deployment' } },
          'value-path': 'schema',
        },
      };
    } else if (view.trigger) {
      const full = schemas.SubscriptionRequest as unknown as { properties: JsonObject };
      // As Microsoft's connectors lay a webhook trigger out: the platform fills the body property marked
      // x-ms-notification-url with the flow's callback URL; the maker never sees it.
      const callback: JsonObject = {
        ...swaggerSchema(full.properties.callback_url as JsonObject),
        'x-ms-summary': 'Callback URL',
        'x-ms-notification-url': true,
        'x-ms-visibility': 'internal',
      };
      const options = Object.fromEntries(view.trigger.options.map((name) => [name, full.properties[name]!]));
      schema = {
        ...swaggerSchema({ type: 'object', description: 'Which image jobs trigger the flow.', properties: options }),
        required: ['callback_url'],
      };
      schema.properties = { callback_url: callback, ...(schema.properties as JsonObject) };
    }
    parameters.push({
      name: 'body',
      in: 'body',
      required: operation.requestBody.required === true || view.trigger !== undefined,
      description: operation.requestBody.description ?? 'The request body.',
      'x-ms-summary': 'Request',
      schema,
    });
  }
  const responses: JsonObject = {};
  for (const [status, response] of Object.entries(operation.responses)) responses[status] = swaggerResponse(response);
  const binary = Object.values(operation.responses).some((r) => isImage(r.content));
  const out: JsonObject = {
    operationId: view.operationId,
    summary: view.summary,
    description: view.description,
    tags: operation.tags ?? [],
    consumes: bodySchema ? ['application/json'] : [],
    produces: binary ? ['image/png', 'image/jpeg', 'application/json'] : ['application/json'],
    parameters,
    responses,
  };
  if (operation.security) out.security = operation.security.length === 0 ? [] : [{ [API_KEY]: [] }];
  if (view.visibility) out['x-ms-visibility'] = view.visibility;
  if (view.trigger) out['x-ms-trigger'] = 'single';
  return out;
}

export interface ConnectorOptions {
  /** The Function App's host name; the committed files keep the placeholder. */
  host?: string;
}

/** The connector's apiDefinition.swagger.json. */
export function connectorDefinition(options: ConnectorOptions = {}): JsonObject {
  const document = structuredClone(openApiDocument()) as unknown as OpenApi;
  const byId = new Map<string, { path: string; method: string; operation: OpenApiOperation }>();
  for (const [path, item] of Object.entries(document.paths))
    for (const [method, operation] of Object.entries(item))
      byId.set(operation.operationId, { path, method, operation });

  const paths: Record<string, JsonObject> = {};
  for (const view of OPERATIONS) {
    const found = byId.get(view.from);
    if (!found) throw new Error(`The OpenAPI document has no operation ${view.from}.`);
    // The dynamic host URL policy replaces the host and drops basePath: the paths carry /api.
    const path = `${document.servers[0].url}${found.path}`;
    paths[path] = {
      ...paths[path],
      [found.method]: swaggerOperation(view, found.operation, document.components.schemas),
    };
    // What a trigger delivers belongs to the path item, beside its operations, not inside one.
    if (view.trigger)
      paths[path]['x-ms-notification-content'] = {
        description: 'The image job that ended.',
        schema: { $ref: `#/definitions/${view.trigger.notification}` },
      };
  }

  const definitions: JsonObject = {};
  for (const [name, schema] of Object.entries(document.components.schemas)) definitions[name] = swaggerSchema(schema);

  const tags = [
    ...new Set(
      Object.values(paths).flatMap((item) =>
        Object.values(item).flatMap((op) => ((op as JsonObject).tags as string[]) ?? []),
      ),
    ),
  ].sort();
  return {
    swagger: '2.0',
    info: {
      title: document.info.title,
      description: document.info.description,
      version: document.info.version,
      contact: { name: 'Image generation on Azure Functions', url: WEBSITE },
    },
    host: options.host ?? HOST_PLACEHOLDER,
    basePath: '/',
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json'],
    paths,
    definitions,
    parameters: {},
    responses: {},
    securityDefinitions: {
      [API_KEY]: {
        type: 'apiKey',
        in: 'header',
        name: document.components.securitySchemes.functionKey.name ?? 'x-functions-key',
      },
    },
    security: [{ [API_KEY]: [] }],
    tags: tags.map((name) => ({ name })),
    'x-ms-connector-metadata': [
      { propertyName: 'Website', propertyValue: WEBSITE },
      { propertyName: 'Privacy policy', propertyValue: 'https://privacy.microsoft.com/privacystatement' },
      { propertyName: 'Categories', propertyValue: 'AI;Content and Files' },
    ],
  };
}

/** The connector's apiProperties.json: the Function App's host and key, asked when connecting. */
export function connectorProperties(): JsonObject {
  return {
    properties: {
      connectionParameters: {
        [HOST]: {
          type: 'string',
          uiDefinition: {
            displayName: 'Function App host',
            description:
              'The host name of the image generation Function App, such as func-api-abc123.azurewebsites.net: the AZURE_FUNCTION_APP_URL output of the deployment, without https://.',
            tooltip: 'The Function App that generates the images.',
            constraints: { tabIndex: 2, required: 'true' },
          },
        },
        [API_KEY]: {
          type: 'securestring',
          uiDefinition: {
            displayName: 'Function key',
            description:
              'A function key (or the host key) of the Function App, sent as the x-functions-key header: Azure portal > the Function App > App keys, or az functionapp keys list.',
            tooltip: 'The key of the Function App that generates the images.',
            constraints: { tabIndex: 3, clearText: false, required: 'true' },
          },
        },
      },
      policyTemplateInstances: [
        {
          templateId: 'dynamichosturl',
          title: 'The Function App host',
          parameters: { 'x-ms-apimTemplateParameter.urlTemplate': `https://@connectionParameters('${HOST}')` },
        },
      ],
      iconBrandColor: BRAND_COLOR,
      capabilities: [],
      publisher: 'Image generation on Azure Functions',
      stackOwner: 'Image generation on Azure Functions',
    },
  };
}

const pretty = (value: Json) => `${JSON.stringify(value, null, 2)}\n`;

/** The connector/ files, by name, exactly as `npm run connector` writes them. */
export function connectorFiles(options: ConnectorOptions = {}): Record<string, string> {
  return {
    'apiDefinition.swagger.json': pretty(connectorDefinition(options)),
    'apiProperties.json': pretty(connectorProperties()),
  };
}

/** `node dist/dev/build/connector.js [--host <app>.azurewebsites.net] [--out <dir>]`; defaults: the placeholder, connector/. */
function main(): void {
  const { values } = parseArgs({ options: { host: { type: 'string' }, out: { type: 'string' } } });
  const out = resolve(values.out ?? join(process.cwd(), 'connector'));
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(connectorFiles({ host: values.host }))) {
    writeFileSync(join(out, name), text);
    console.log(`Wrote ${join(out, name)}`);
  }
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) main();
