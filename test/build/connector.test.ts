import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { connectorDefinition, connectorFiles, connectorProperties, swaggerSchema } from '../../dev/build/connector.js';
import { openApiDocument } from '../../src/lib/http/openapi.js';

// The Power Platform custom connector (connector/) against the OpenAPI document it is derived from,
// and against the rules a certified connector must meet (PowerPlatformConnectors' certification
// checklist): committed in step, valid Swagger 2.0, the same fields as the API, described for makers.

type Doc = any;

const CONNECTOR_DIR = join(__dirname, '..', '..', 'connector');
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

const openapi = (): Doc => JSON.parse(JSON.stringify(openApiDocument()));
const swagger = (): Doc => connectorDefinition();

function operations(doc: Doc): Map<string, { method: string; path: string; op: Doc }> {
  const found = new Map<string, { method: string; path: string; op: Doc }>();
  for (const [path, item] of Object.entries<Doc>(doc.paths)) {
    for (const [method, op] of Object.entries<Doc>(item))
      if (METHODS.has(method)) found.set(op.operationId, { method, path, op });
  }
  return found;
}

/** Follows a local $ref, in either document. */
function deref(doc: Doc, schema: Doc): Doc {
  let current = schema;
  while (current?.$ref) {
    const path = (current.$ref as string).replace(/^#\//, '').split('/');
    current = path.reduce((node: Doc, key) => node?.[key], doc);
    if (current === undefined) throw new Error(`Unresolved $ref ${schema.$ref}`);
  }
  return current;
}

/** What a caller sees of a schema: the property tree with types, enums and required fields. */
function shape(doc: Doc, schema: Doc): Doc {
  const s = deref(doc, schema);
  if (s === undefined) return undefined;
  const out: Doc = { type: s.type ?? null };
  if (s.enum) out.enum = s.enum;
  if (s.required) out.required = [...s.required].sort();
  if (s.properties)
    out.properties = Object.fromEntries(Object.entries<Doc>(s.properties).map(([k, v]) => [k, shape(doc, v)]));
  if (s.items) out.items = shape(doc, s.items);
  return out;
}

/** Every schema property, anywhere in the document, as [where, property schema]. */
function allProperties(node: Doc, where = '#'): [string, Doc][] {
  if (typeof node !== 'object' || node === null) return [];
  const found: [string, Doc][] = [];
  for (const [key, value] of Object.entries<Doc>(node)) {
    if (key === 'properties' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [name, property] of Object.entries<Doc>(value)) {
        found.push([`${where}/properties/${name}`, property]);
        found.push(...allProperties(property, `${where}/properties/${name}`));
      }
    } else {
      found.push(...allProperties(value, `${where}/${key}`));
    }
  }
  return found;
}

/** The OpenAPI operation a connector operation is: the same method at the same path under /api. */
function source(doc: Doc, method: string, path: string): Doc {
  const op = doc.paths[path.replace(/^\/api/, '')]?.[method];
  if (!op) throw new Error(`no OpenAPI operation ${method} ${path}`);
  return op;
}

describe('connector files', () => {
  it('are committed exactly as `npm run connector` generates them', () => {
    const files = connectorFiles();
    expect(Object.keys(files).sort()).toEqual(['apiDefinition.swagger.json', 'apiProperties.json']);
    for (const [name, text] of Object.entries(files)) {
      expect(readFileSync(join(CONNECTOR_DIR, name), 'utf8'), `connector/${name} is stale: run npm run connector`).toBe(
        text,
      );
    }
  });

  it('stay within the 1 MB a connector file may weigh', () => {
    for (const name of ['apiDefinition.swagger.json', 'apiProperties.json'])
      expect(statSync(join(CONNECTOR_DIR, name)).size).toBeLessThan(1024 * 1024);
  });
});

describe('the definition is the API', () => {
  it('is valid Swagger 2.0 with no OpenAPI-3-only keyword', async () => {
    const doc = swagger();
    expect(doc.swagger).toBe('2.0');
    await expect(SwaggerParser.validate(structuredClone(doc), { resolve: { external: false } })).resolves.toBeTruthy();
    const text = JSON.stringify(doc);
    for (const keyword of [
      '"nullable"',
      '"oneOf"',
      '"anyOf"',
      '"requestBody"',
      '"components"',
      '"openapi"',
      '"content"',
      '#/components/',
    ])
      expect(text, keyword).not.toContain(keyword);
  });

  it('calls each operation at its method and path, with its parameters (less the few left out) and its responses', () => {
    const api = openapi();
    const doc = swagger();
    expect(operations(doc).size).toBeGreaterThanOrEqual(8);
    for (const [id, { method, path, op }] of operations(doc)) {
      const theirs = source(api, method, path);
      const mine = (op.parameters ?? []).filter((p: Doc) => p.in !== 'body').map((p: Doc) => `${p.in} ${p.name}`);
      const expected = (theirs.parameters ?? [])
        .map((p: Doc) => `${p.in} ${p.name}`)
        .filter(
          (p: string) =>
            !['header x-result-queue'].includes(p) &&
            !(id === 'GenerateImagesAndWait' && p === 'header Prefer') &&
            !(id === 'WhenAnImageIsReady' && p === 'header x-ms-notification-url'),
        );
      expect(mine.sort(), id).toEqual(expected.sort());
      if (theirs.requestBody)
        expect(
          op.parameters.some((p: Doc) => p.in === 'body'),
          id,
        ).toBe(true);
      expect(Object.keys(op.responses).sort(), id).toEqual(Object.keys(theirs.responses).sort());
      for (const [status, response] of Object.entries<Doc>(theirs.responses)) {
        const schema = response.content?.['application/json']?.schema;
        if (schema) expect(shape(doc, op.responses[status].schema), `${id} ${status}`).toEqual(shape(api, schema));
      }
    }
  });

  it('sends internal parameters with their defaults: the main action is asynchronous, the synchronous one is apart and advanced', () => {
    const ops = operations(swagger());
    const generate = ops.get('GenerateImages')!;
    expect(`${generate.method} ${generate.path}`).toBe('post /api/openai/deployments/{deployment}/images/generations');
    const prefer = generate.op.parameters.find((p: Doc) => p.name === 'Prefer');
    expect(prefer).toMatchObject({ 'x-ms-visibility': 'internal', required: true, default: 'respond-async' });
    expect(generate.op.parameters.find((p: Doc) => p.name === 'api-version')).toMatchObject({
      'x-ms-visibility': 'internal',
      default: '2024-10-21',
    });
    expect(generate.op.responses['202'].headers).toHaveProperty('Location');
    const wait = ops.get('GenerateImagesAndWait')!;
    expect(wait.op['x-ms-visibility']).toBe('advanced');
    expect(wait.op.parameters.some((p: Doc) => p.name === 'Prefer')).toBe(false);
    for (const { op } of ops.values()) {
      for (const p of op.parameters ?? [])
        if (p['x-ms-visibility'] === 'internal')
          expect(
            p.required && (p.default !== undefined || p['x-ms-notification-url']),
            `${op.operationId} ${p.name}`,
          ).toBeTruthy();
    }
  });

  it('offers only what the chosen deployment takes: its drop-down and its body come from the app', () => {
    const ops = operations(swagger());
    const generate = ops.get('GenerateImages')!.op;
    const deployment = generate.parameters.find((p: Doc) => p.name === 'deployment');
    expect(deployment['x-ms-dynamic-values']).toEqual({
      operationId: 'ListDeployments',
      'value-collection': 'data',
      'value-path': 'deployment',
      'value-title': 'deployment',
    });
    const list = ops.get('ListDeployments')!;
    expect(`${list.method} ${list.path}`).toBe('get /api/models');
    expect(deref(swagger(), list.op.responses['200'].schema).properties.data.items).toBeDefined();
    const body = generate.parameters.find((p: Doc) => p.in === 'body');
    expect(body.schema['x-ms-dynamic-schema']).toEqual({
      operationId: 'GetDeploymentSchema',
      parameters: { deployment: { parameter: 'deployment' } },
      'value-path': 'schema',
    });
    const schema = ops.get('GetDeploymentSchema')!;
    expect(`${schema.method} ${schema.path}`).toBe('get /api/models/{deployment}/schema');
    expect(schema.op.responses['200'].schema.properties).toHaveProperty('schema');
  });

  it('has a "when an image is ready" webhook trigger the platform can subscribe and unsubscribe', () => {
    const ops = operations(swagger());
    const trigger = ops.get('WhenAnImageIsReady')!;
    expect(trigger.op['x-ms-trigger']).toBe('single');
    // As Microsoft's connectors do: the callback URL is a body property the platform fills, never a header.
    expect(trigger.op.parameters.filter((p: Doc) => p.in !== 'body')).toEqual([]);
    const body = trigger.op.parameters.find((p: Doc) => p.in === 'body');
    expect(body.required).toBe(true);
    expect(body.schema.required).toEqual(['callback_url']);
    expect(body.schema.properties.callback_url).toMatchObject({
      type: 'string',
      'x-ms-notification-url': true,
      'x-ms-visibility': 'internal',
    });
    expect(Object.keys(body.schema.properties).sort()).toEqual(['callback_url', 'model', 'status']);
    expect(trigger.op.responses['201'].headers).toHaveProperty('Location');
    // What it delivers sits on the path item, beside post, not inside the operation.
    expect(trigger.op).not.toHaveProperty('x-ms-notification-content');
    expect(swagger().paths[trigger.path]['x-ms-notification-content'].schema).toEqual({
      $ref: '#/definitions/JobEvent',
    });
    // The Location names a subscription; DELETE on it is an operation of the connector.
    const unsubscribe = ops.get('DeleteImageTrigger')!;
    expect(`${unsubscribe.method} ${unsubscribe.path}`).toBe('delete /api/images/subscriptions/{id}');
  });

  it('has an action that returns the image file itself', () => {
    const file = operations(swagger()).get('GetImageFile')!;
    expect(file.op.responses['200'].schema).toMatchObject({ type: 'string', format: 'binary' });
    expect(file.op.produces).toEqual(expect.arrayContaining(['image/png', 'image/jpeg']));
  });
});

describe('certification rules', () => {
  const doc = swagger();
  const ops = [...operations(doc).values()].map((o) => o.op);

  it('operation ids are PascalCase and unique; summaries at most 80 characters, with no final period', () => {
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of ops) {
      expect(op.operationId).toMatch(/^[A-Z][a-zA-Z0-9]+$/);
      expect(op.summary.length, op.operationId).toBeLessThanOrEqual(80);
      expect(op.summary, op.operationId).not.toMatch(/\.$/);
    }
  });

  it('every operation, parameter and property has a description that ends with a period, and a title', () => {
    for (const op of ops) {
      expect(op.description, op.operationId).toMatch(/\.$/);
      for (const p of op.parameters ?? []) {
        expect(p.description, `${op.operationId} ${p.name}`).toMatch(/\.$/);
        expect(p['x-ms-summary'], `${op.operationId} ${p.name}`).toMatch(/\S/);
      }
      for (const [status, response] of Object.entries<Doc>(op.responses))
        expect(response.description, `${op.operationId} ${status}`).toMatch(/\.$/);
    }
    const properties = allProperties(doc).filter(([, property]) => property.$ref === undefined);
    expect(properties.length).toBeGreaterThan(50);
    for (const [where, property] of properties) {
      expect(property.description, where).toMatch(/\.$/);
      expect(property['x-ms-summary'], where).toMatch(/\S/);
    }
  });

  it('has no default response with a schema; documents 401, 409, 429 and 503, those that say when to come back with Retry-After', () => {
    for (const op of ops) expect(op.responses.default?.schema, op.operationId).toBeUndefined();
    for (const id of ['GenerateImages', 'GenerateImagesAndWait']) {
      const op = operations(doc).get(id)!.op;
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '409', '429', '503']));
      for (const status of ['409', '429', '503'])
        expect(op.responses[status].headers, `${id} ${status}`).toHaveProperty('Retry-After');
      expect(op.responses['200'].examples['application/json'].data[0].url).toMatch(/^https:/);
    }
  });

  it('has a short title, tags, contact, the metadata makers and reviewers read, and a brand colour of its own', () => {
    expect(doc.info.title.length).toBeLessThanOrEqual(30);
    expect(doc.info.contact).toMatchObject({ name: expect.any(String), url: expect.stringMatching(/^https:/) });
    const tags = doc.tags.map((t: Doc) => t.name);
    for (const op of ops) {
      expect(op.tags.length, op.operationId).toBeGreaterThan(0);
      for (const tag of op.tags) expect(tags).toContain(tag);
    }
    const metadata = Object.fromEntries(
      doc['x-ms-connector-metadata'].map((m: Doc) => [m.propertyName, m.propertyValue]),
    );
    expect(metadata.Website).toMatch(/^https:/);
    expect(metadata['Privacy policy']).toMatch(/^https:/);
    expect(metadata.Categories.split(';')).toEqual(expect.arrayContaining(['AI', 'Content and Files']));
    const color = (connectorProperties() as Doc).properties.iconBrandColor;
    expect(color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(color.toLowerCase()).not.toBe('#007ee5');
  });

  it('asks, when connecting, for the app’s host and its key, and routes every call to that host', () => {
    const properties = (connectorProperties() as Doc).properties;
    expect(Object.keys(properties.connectionParameters).sort()).toEqual(['api_key', 'hostName']);
    expect(properties.connectionParameters.api_key).toMatchObject({
      type: 'securestring',
      uiDefinition: { constraints: { required: 'true', clearText: false } },
    });
    const [policy] = properties.policyTemplateInstances;
    expect(policy.templateId).toBe('dynamichosturl');
    expect(policy.parameters['x-ms-apimTemplateParameter.urlTemplate']).toBe(
      "https://@connectionParameters('hostName')",
    );
    // The policy drops basePath: the paths carry /api themselves.
    expect(doc.basePath).toBe('/');
    for (const path of Object.keys(doc.paths)) expect(path).toMatch(/^\/api\//);
    expect(doc.securityDefinitions).toEqual({ api_key: { type: 'apiKey', in: 'header', name: 'x-functions-key' } });
    expect(operations(doc).get('PollImageJob')!.op.security).toEqual([]);
    expect(connectorDefinition({ host: 'func-api-x.azurewebsites.net' }).host).toBe('func-api-x.azurewebsites.net');
  });
});

describe('schema conversion', () => {
  it('turns nullable into x-nullable and const into a one-value enum, and refuses what Swagger 2.0 lacks', () => {
    expect(swaggerSchema({ type: 'string', nullable: true })).toEqual({ type: 'string', 'x-nullable': true });
    expect(swaggerSchema({ type: 'string', const: 'x' })).toEqual({ type: 'string', enum: ['x'] });
    expect(() => swaggerSchema({ oneOf: [{ type: 'string' }, { type: 'integer' }] })).toThrow(/oneOf and anyOf/);
  });

  it('rewrites $ref to #/definitions and titles properties', () => {
    expect(swaggerSchema({ $ref: '#/components/schemas/Job', description: 'ignored beside $ref' })).toEqual({
      $ref: '#/definitions/Job',
    });
    const converted = swaggerSchema({
      type: 'object',
      properties: { revised_prompt: { type: 'string' }, n: { type: 'integer' } },
    });
    expect(converted.properties).toEqual({
      revised_prompt: { type: 'string', 'x-ms-summary': 'Revised prompt' },
      n: { type: 'integer', 'x-ms-summary': 'Number of images' },
    });
  });
});
