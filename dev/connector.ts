import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openApiDocument } from '../src/lib/openapi.js';

// `npm run connector`: the Power Automate / Power Apps / Logic Apps custom connector, derived from the
// OpenAPI 3 document (src/lib/openapi.ts), written to connector/apiDefinition.swagger.json and
// connector/apiProperties.json. Custom connectors take Swagger 2.0 only, so the document is converted:
//
// - requestBody → one `in: body` parameter; other parameters lose their `schema` wrapper;
//   responses' `content['application/json'].schema` → `schema`, their headers lose `schema` too.
// - components.schemas → definitions, `#/components/schemas/X` → `#/definitions/X`; a `$ref` keeps
//   no siblings (Swagger 2.0 ignores them).
// - `nullable` → `x-nullable`; `const` → a one-value `enum`; `not`, `writeOnly`, `deprecated` and
//   OpenAPI 3's object `discriminator` are dropped.
// - `oneOf` / `anyOf` (Swagger 2.0 has neither): `null` alternatives make the schema `x-nullable`; one
//   alternative left → that alternative; alternatives of one primitive type → that type (their enums
//   merged when all have one); anything else → an untyped schema (any JSON value), which the designer
//   shows as a single field. No schema of this API has them today; the rule is there for when one does.
// - zod's ±(2^53 − 1) bounds on integers are dropped: they only restate JavaScript's safe range.
// - Power Platform extensions: `x-ms-summary` (a human title) on every parameter and schema
//   property, `x-ms-visibility` (important / advanced / internal) where the default is wrong.

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
}

interface OpenApiResponse {
  description: string;
  headers?: Record<string, { description?: string; schema?: JsonObject }>;
  content?: Record<string, OpenApiMedia>;
}

interface OpenApiOperation {
  operationId: string;
  summary?: string;
  description?: string;
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; description?: string; content: Record<string, OpenApiMedia> };
  responses: Record<string, OpenApiResponse>;
  security?: Record<string, string[]>[];
}

interface OpenApi {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers?: { url: string }[];
  security?: Record<string, string[]>[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, JsonObject>;
    securitySchemes: Record<string, { type: string; in?: string; name?: string }>;
  };
}

export const HOST_PLACEHOLDER = '<your-function-app>.azurewebsites.net';

/** The connection parameter name Power Platform expects for an API key (apiProperties.json). */
const API_KEY = 'api_key';

type Visibility = 'important' | 'advanced' | 'internal';

/** Titles where the property name does not read as one (the rest: `revised_prompt` → "Revised prompt"). */
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
  record: 'Record blob',
  url_expires_on: 'URL expires on',
  usage: 'Token usage',
  code: 'Error code',
  message: 'Error message',
  param: 'Field at fault',
  type: 'Error type',
  inner_error: 'Inner error',
  id: 'Job ID',
  self_harm: 'Self-harm',
  Prefer: 'Respond asynchronously',
  'Idempotency-Key': 'Idempotency key',
  'api-version': 'API version',
};

/** Property visibility; absent means the designer's default (shown, not under "advanced"). */
const PROPERTY_VISIBILITY: Record<string, Visibility> = {
  prompt: 'important',
  response_format: 'advanced',
  output_format: 'advanced',
  output_compression: 'advanced',
  background: 'advanced',
  user: 'advanced',
  b64_json: 'advanced',
  content_filter_results: 'advanced',
  prompt_filter_results: 'advanced',
  usage: 'advanced',
  inner_error: 'advanced',
};

const PARAMETER_VISIBILITY: Record<string, Visibility> = {
  Prefer: 'advanced',
  'Idempotency-Key': 'advanced',
  // Required by the Azure path but meaningless to a flow: sent with its default, never shown.
  'api-version': 'internal',
  deployment: 'important',
  id: 'important',
};

const OPERATION_VISIBILITY: Record<string, Visibility> = {
  GenerateImages: 'important',
  GenerateImagesOnDeployment: 'advanced',
  // A readiness probe: no use as a step in a flow.
  GetHealth: 'internal',
  // The platform follows a 202's Location itself; a flow step would need the token from a header.
  PollImageJob: 'internal',
};

/** What the Power Platform designer shows beside a parameter, beyond the OpenAPI description. */
const PARAMETER_NOTES: Record<string, string> = {
  Prefer:
    'With respond-async the action follows the job until it ends, and its body is then the job ({id, status, created, result | error}), not the images: read the images from result.data.',
};

export const title = (name: string): string =>
  TITLES[name] ?? (name.charAt(0).toUpperCase() + name.slice(1)).replace(/[_-]+/g, ' ');

const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

const definitionRef = (ref: string) => ref.replace(/^#\/components\/schemas\//, '#/definitions/');

const PRIMITIVES = new Set(['string', 'number', 'integer', 'boolean']);

const isNullSchema = (schema: Json) =>
  isObject(schema) && (schema.type === 'null' || (Array.isArray(schema.enum) && schema.enum.length === 1 && schema.enum[0] === null));

/** oneOf / anyOf → one Swagger 2.0 schema (see the rules at the top of the file). */
function collapseAlternatives(alternatives: Json[]): JsonObject {
  const nonNull = alternatives.filter((a): a is JsonObject => isObject(a) && !isNullSchema(a));
  const nullable = nonNull.length < alternatives.length || nonNull.some((a) => a.nullable === true);
  const converted = nonNull.map((a) => swaggerSchema(a));
  let merged: JsonObject;
  if (converted.length === 1) {
    merged = converted[0]!;
  } else {
    const types = new Set(converted.map((c) => c.type));
    const [type] = [...types];
    if (types.size === 1 && typeof type === 'string' && PRIMITIVES.has(type)) {
      merged = { type };
      if (converted.every((c) => Array.isArray(c.enum))) merged.enum = [...new Set(converted.flatMap((c) => c.enum as Json[]))];
    } else {
      merged = {};
    }
  }
  if (nullable) merged['x-nullable'] = true;
  return merged;
}

/** One OpenAPI 3.0 schema object → Swagger 2.0, with x-ms-summary / x-ms-visibility on its properties. */
export function swaggerSchema(schema: JsonObject): JsonObject {
  if (typeof schema.$ref === 'string') return { $ref: definitionRef(schema.$ref) };
  const alternatives = schema.oneOf ?? schema.anyOf;
  const out: JsonObject = Array.isArray(alternatives) ? collapseAlternatives(alternatives) : {};
  for (const [key, value] of Object.entries(schema)) {
    switch (key) {
      case 'oneOf':
      case 'anyOf':
      case 'not':
      case 'writeOnly':
      case 'deprecated':
      case 'discriminator':
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
        if (isObject(value)) out.properties = swaggerProperties(value);
        break;
      case 'items':
      case 'additionalProperties':
        out[key] = isObject(value) ? swaggerSchema(value) : value;
        break;
      case 'allOf':
        if (Array.isArray(value)) out.allOf = value.filter(isObject).map((s) => swaggerSchema(s));
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
    if (!isObject(property)) continue;
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

const jsonSchemaOf = (content: Record<string, OpenApiMedia> | undefined) => content?.['application/json']?.schema ?? Object.values(content ?? {})[0]?.schema;

function swaggerParameter(parameter: OpenApiParameter): JsonObject {
  const { example, ...schema } = parameter.schema ?? { type: 'string' };
  const visibility = PARAMETER_VISIBILITY[parameter.name];
  const required = parameter.required === true || visibility === 'internal';
  const description = [parameter.description, PARAMETER_NOTES[parameter.name]].filter(Boolean).join(' ');
  const out: JsonObject = {
    name: parameter.name,
    in: parameter.in,
    required,
    ...(description && { description }),
    'x-ms-summary': title(parameter.name),
    ...swaggerSchema(schema),
  };
  // An internal parameter is sent with its default, so it must have one: the documented example.
  if (visibility === 'internal' && out.default === undefined && example !== undefined) out.default = example;
  if (visibility) out['x-ms-visibility'] = visibility;
  return out;
}

function swaggerResponse(response: OpenApiResponse): JsonObject {
  const out: JsonObject = { description: response.description };
  if (response.headers) {
    const headers: JsonObject = {};
    for (const [name, header] of Object.entries(response.headers)) {
      headers[name] = { ...(header.description && { description: header.description }), ...swaggerSchema(header.schema ?? { type: 'string' }) };
    }
    out.headers = headers;
  }
  const schema = jsonSchemaOf(response.content);
  if (schema) out.schema = swaggerSchema(schema);
  return out;
}

function swaggerSecurity(requirements: Record<string, string[]>[], names: Record<string, string>): Json {
  const known = requirements.filter((requirement) => Object.keys(requirement).every((name) => Object.hasOwn(names, name)));
  return known.map((requirement) => Object.fromEntries(Object.entries(requirement).map(([name, scopes]) => [names[name], scopes])));
}

function swaggerOperation(operation: OpenApiOperation, securityNames: Record<string, string>): JsonObject {
  const parameters: Json[] = (operation.parameters ?? []).map(swaggerParameter);
  const bodySchema = jsonSchemaOf(operation.requestBody?.content);
  if (operation.requestBody && bodySchema) {
    parameters.push({
      name: 'body',
      in: 'body',
      required: operation.requestBody.required === true,
      description: operation.requestBody.description ?? 'The request body.',
      'x-ms-summary': 'Request',
      schema: swaggerSchema(bodySchema),
    });
  }
  const responses: JsonObject = {};
  for (const [status, response] of Object.entries(operation.responses)) responses[status] = swaggerResponse(response);
  const out: JsonObject = {
    operationId: operation.operationId,
    summary: operation.summary ?? operation.operationId,
    description: operation.description ?? operation.responses['200']?.description ?? operation.summary ?? operation.operationId,
    consumes: bodySchema ? ['application/json'] : [],
    produces: ['application/json'],
    parameters,
    responses,
  };
  if (operation.security) out.security = swaggerSecurity(operation.security, securityNames);
  const visibility = OPERATION_VISIBILITY[operation.operationId];
  if (visibility) out['x-ms-visibility'] = visibility;
  return out;
}

export interface ConnectorOptions {
  /** The Function App's host name; the committed files keep the placeholder. */
  host?: string;
}

/** The connector's apiDefinition.swagger.json: the OpenAPI document as Swagger 2.0 with Power Platform extensions. */
export function connectorDefinition(options: ConnectorOptions = {}): JsonObject {
  const document = structuredClone(openApiDocument()) as unknown as OpenApi;

  // Power Platform maps the apiKey security definition named api_key to the connection's key: here
  // the function key. Caller keys (api-key, Bearer) are not offered to connections (yet).
  const securityNames: Record<string, string> = {};
  const securityDefinitions: JsonObject = {};
  for (const [name, scheme] of Object.entries(document.components.securitySchemes).filter(([n]) => n === 'functionKey')) {
    if (scheme.type !== 'apiKey') throw new Error(`Security scheme '${name}' (${scheme.type}) has no Swagger 2.0 custom connector form here.`);
    securityNames[name] = API_KEY;
    securityDefinitions[API_KEY] = { type: 'apiKey', in: scheme.in ?? 'header', name: scheme.name ?? 'x-functions-key' };
  }

  const paths: JsonObject = {};
  for (const [path, item] of Object.entries(document.paths)) {
    const operations: JsonObject = {};
    for (const [method, operation] of Object.entries(item)) operations[method] = swaggerOperation(operation, securityNames);
    paths[path] = operations;
  }

  const definitions: JsonObject = {};
  for (const [name, schema] of Object.entries(document.components.schemas)) definitions[name] = swaggerSchema(schema);

  return {
    swagger: '2.0',
    info: {
      title: document.info.title,
      description: document.info.description ?? document.info.title,
      version: document.info.version,
    },
    host: options.host ?? HOST_PLACEHOLDER,
    basePath: document.servers?.[0]?.url ?? '/',
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json'],
    paths,
    definitions,
    parameters: {},
    responses: {},
    securityDefinitions,
    security: swaggerSecurity(document.security ?? [], securityNames),
    tags: [],
  };
}

/** The connector's apiProperties.json: the function key as the connection's secure API key. */
export function connectorProperties(): JsonObject {
  return {
    properties: {
      connectionParameters: {
        [API_KEY]: {
          type: 'securestring',
          uiDefinition: {
            displayName: 'Function key',
            description: "A function key (or the host key) of the Function App, sent as the x-functions-key header: Azure portal > the Function App > App keys, or `az functionapp keys list`.",
            tooltip: 'The key of the Function App that generates the images',
            constraints: { tabIndex: 2, clearText: false, required: 'true' },
          },
        },
      },
      iconBrandColor: '#007ee5',
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

/** `node dist/dev/connector.js [--host <app>.azurewebsites.net] [--out <dir>]`; defaults: the placeholder, connector/. */
function main(args: string[]): void {
  const option = (name: string) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  };
  const out = resolve(option('out') ?? join(process.cwd(), 'connector'));
  const host = option('host');
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(connectorFiles({ host }))) {
    writeFileSync(join(out, name), text);
    console.log(`Wrote ${join(out, name)}`);
  }
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) main(process.argv.slice(2));
