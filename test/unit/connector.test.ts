import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { connectorDefinition, connectorFiles, connectorProperties, swaggerSchema } from '../../dev/connector.js';
import { openApiDocument } from '../../src/lib/openapi.js';

// The Power Automate custom connector (connector/) against the OpenAPI document it is derived from:
// committed in step with the schemas, valid Swagger 2.0, the same operations and fields, and the
// Power Platform extensions the designer needs.

type Doc = any;

const CONNECTOR_DIR = join(__dirname, '..', '..', 'connector');
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
const VISIBILITIES = new Set(['important', 'advanced', 'internal', '']);

const openapi = (): Doc => JSON.parse(JSON.stringify(openApiDocument()));
const swagger = (): Doc => connectorDefinition();

function operations(doc: Doc, prefix: string): Map<string, { method: string; path: string; op: Doc }> {
  const found = new Map<string, { method: string; path: string; op: Doc }>();
  for (const [path, item] of Object.entries<Doc>(doc.paths)) {
    for (const [method, op] of Object.entries<Doc>(item)) {
      if (METHODS.has(method)) found.set(op.operationId, { method, path: `${prefix}${path}`, op });
    }
  }
  return found;
}

const openapiOperations = (doc: Doc) => operations(doc, doc.servers?.[0]?.url ?? '');
const swaggerOperations = (doc: Doc) => operations(doc, doc.basePath ?? '');

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
  if (s.properties) out.properties = Object.fromEntries(Object.entries<Doc>(s.properties).map(([k, v]) => [k, shape(doc, v)]));
  if (s.items) out.items = shape(doc, s.items);
  return out;
}

const requestSchema = {
  openapi: (op: Doc) => op.requestBody?.content?.['application/json']?.schema,
  swagger: (op: Doc) => (op.parameters ?? []).find((p: Doc) => p.in === 'body')?.schema,
};

const responseSchemas = {
  openapi: (op: Doc) => Object.fromEntries(Object.entries<Doc>(op.responses).map(([status, r]) => [status, r.content?.['application/json']?.schema])),
  swagger: (op: Doc) => Object.fromEntries(Object.entries<Doc>(op.responses).map(([status, r]) => [status, r.schema])),
};

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

/** Every value of `key` in the document, with where it is. */
function allValues(node: Doc, key: string, where = '#'): [string, unknown][] {
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries<Doc>(node).flatMap(([k, v]) => [...(k === key ? [[`${where}/${k}`, v] as [string, unknown]] : []), ...allValues(v, key, `${where}/${k}`)]);
}

describe('connector files', () => {
  it('are committed exactly as `npm run connector` generates them', () => {
    const files = connectorFiles();
    expect(Object.keys(files).sort()).toEqual(['apiDefinition.swagger.json', 'apiProperties.json']);
    for (const [name, text] of Object.entries(files)) {
      const committed = readFileSync(join(CONNECTOR_DIR, name), 'utf8');
      expect(committed, `connector/${name} is stale: run npm run connector`).toBe(text);
    }
  });

  it('keep the host placeholder; a host can be given', () => {
    expect(swagger().host).toBe('<your-function-app>.azurewebsites.net');
    expect(connectorDefinition({ host: 'images.azurewebsites.net' }).host).toBe('images.azurewebsites.net');
  });
});

describe('connector definition', () => {
  it('is valid Swagger 2.0', async () => {
    const doc = swagger();
    expect(doc.swagger).toBe('2.0');
    // Validation dereferences in place: a deep clone; no external $ref may be fetched.
    await expect(SwaggerParser.validate(structuredClone(doc), { resolve: { external: false } })).resolves.toBeTruthy();
  });

  it('keeps no OpenAPI-3-only keyword', () => {
    const text = JSON.stringify(swagger());
    for (const keyword of ['"nullable"', '"oneOf"', '"anyOf"', '"requestBody"', '"components"', '"openapi"', '"content"', '#/components/']) {
      expect(text, keyword).not.toContain(keyword);
    }
  });

  it('has every OpenAPI operation at the same method and path, and nothing else', () => {
    const expected = [...openapiOperations(openapi())].map(([id, { method, path }]) => `${id} ${method.toUpperCase()} ${path}`).sort();
    const actual = [...swaggerOperations(swagger())].map(([id, { method, path }]) => `${id} ${method.toUpperCase()} ${path}`).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(actual).toEqual(expected);
  });

  it('has the same parameters (name, place, required) as the OpenAPI operations, and the body', () => {
    const source = openapiOperations(openapi());
    const doc = swagger();
    for (const [id, { op }] of swaggerOperations(doc)) {
      const theirs = source.get(id)!.op;
      const expected = (theirs.parameters ?? []).map((p: Doc) => `${p.in} ${p.name}`);
      if (theirs.requestBody) expected.push('body body');
      const actual = (op.parameters ?? []).map((p: Doc) => `${p.in} ${p.name}`);
      expect(actual.sort(), id).toEqual(expected.sort());
      for (const p of theirs.parameters ?? []) {
        const mine = op.parameters.find((q: Doc) => q.name === p.name && q.in === p.in);
        // An internal parameter is sent with its default, so it is required there.
        if (mine['x-ms-visibility'] !== 'internal') expect(mine.required, `${id} ${p.name}`).toBe(p.required === true);
        else expect(mine.default, `${id} ${p.name}`).toBeDefined();
      }
      const body = (op.parameters ?? []).find((p: Doc) => p.in === 'body');
      if (theirs.requestBody) expect(body.required, `${id} body`).toBe(theirs.requestBody.required === true);
    }
  });

  it('takes the same request body fields as the OpenAPI schema', () => {
    const source = openapi();
    const doc = swagger();
    const theirs = openapiOperations(source);
    for (const [id, { op }] of swaggerOperations(doc)) {
      const expected = requestSchema.openapi(theirs.get(id)!.op);
      const actual = requestSchema.swagger(op);
      if (expected === undefined) {
        expect(actual, id).toBeUndefined();
        continue;
      }
      expect(shape(doc, actual), id).toEqual(shape(source, expected));
    }
    const generate = swaggerOperations(doc).get('GenerateImages')!.op;
    const fields = Object.keys(deref(doc, requestSchema.swagger(generate)).properties);
    expect(fields).toEqual(Object.keys(source.components.schemas.ImageGenerationRequest.properties));
    expect(fields).toContain('prompt');
  });

  it('answers the same statuses with the same response fields as the OpenAPI operations', () => {
    const source = openapi();
    const doc = swagger();
    const theirs = openapiOperations(source);
    for (const [id, { op }] of swaggerOperations(doc)) {
      const expected = responseSchemas.openapi(theirs.get(id)!.op);
      const actual = responseSchemas.swagger(op);
      expect(Object.keys(actual).sort(), id).toEqual(Object.keys(expected).sort());
      for (const status of Object.keys(expected)) {
        expect(shape(doc, actual[status]), `${id} ${status}`).toEqual(shape(source, expected[status]));
      }
    }
    const generate = swaggerOperations(doc).get('GenerateImages')!.op;
    expect(Object.keys(deref(doc, generate.responses['200'].schema).properties)).toEqual(['created', 'data', 'usage']);
    expect(Object.keys(generate.responses['202'].headers).sort()).toEqual(['Location', 'Retry-After']);
  });

  it('titles every parameter and every schema property with x-ms-summary', () => {
    const doc = swagger();
    const parameters = [...swaggerOperations(doc).values()].flatMap(({ op }) => op.parameters ?? []);
    expect(parameters.map((p: Doc) => p.in)).toEqual(expect.arrayContaining(['body', 'header', 'path', 'query']));
    for (const p of parameters) expect(p['x-ms-summary'], `parameter ${p.in} ${p.name}`).toMatch(/\S/);
    const properties = allProperties(doc).filter(([, property]) => property.$ref === undefined);
    expect(properties.map(([where]) => where)).toContain('#/definitions/ImageGenerationRequest/properties/prompt');
    for (const [where, property] of properties) expect(property['x-ms-summary'], where).toMatch(/\S/);
  });

  it('uses only known x-ms-visibility values, with the prompt important', () => {
    const doc = swagger();
    const values = allValues(doc, 'x-ms-visibility');
    expect(values.length).toBeGreaterThan(0);
    for (const [where, value] of values) expect(VISIBILITIES.has(value as string), `${where}: ${String(value)}`).toBe(true);
    expect(doc.definitions.ImageGenerationRequest.properties.prompt['x-ms-visibility']).toBe('important');
    expect(swaggerOperations(doc).get('GetHealth')!.op['x-ms-visibility']).toBe('internal');
  });

  it('authenticates with the function key as api_key in the x-functions-key header', () => {
    const doc = swagger();
    const scheme = openapi().components.securitySchemes.functionKey;
    expect(doc.securityDefinitions).toEqual({ api_key: { type: 'apiKey', in: 'header', name: 'x-functions-key' } });
    expect(doc.securityDefinitions.api_key.name).toBe(scheme.name);
    expect(doc.security).toEqual([{ api_key: [] }]);
    // Anonymous operations stay anonymous.
    expect(swaggerOperations(doc).get('GetHealth')!.op.security).toEqual([]);
    const properties = connectorProperties() as Doc;
    expect(properties.properties.connectionParameters.api_key.type).toBe('securestring');
    expect(properties.properties.connectionParameters.api_key.uiDefinition.constraints).toMatchObject({ required: 'true', clearText: false });
    expect(Object.keys(properties.properties.connectionParameters)).toEqual(Object.keys(doc.securityDefinitions));
  });
});

describe('schema conversion', () => {
  it('turns nullable into x-nullable and const into a one-value enum', () => {
    expect(swaggerSchema({ type: 'string', nullable: true })).toEqual({ type: 'string', 'x-nullable': true });
    expect(swaggerSchema({ type: 'string', const: 'x' })).toEqual({ type: 'string', enum: ['x'] });
  });

  it('collapses oneOf / anyOf, which Swagger 2.0 does not have', () => {
    // One alternative besides null: that alternative, nullable.
    expect(swaggerSchema({ description: 'd', anyOf: [{ type: 'integer' }, { type: 'null' }] })).toEqual({ type: 'integer', 'x-nullable': true, description: 'd' });
    // Enums of one primitive type: the merged enum.
    expect(swaggerSchema({ oneOf: [{ type: 'string', enum: ['a'] }, { type: 'string', enum: ['b', 'a'] }] })).toEqual({ type: 'string', enum: ['a', 'b'] });
    // Anything else: untyped (any JSON value).
    expect(swaggerSchema({ oneOf: [{ type: 'string' }, { type: 'object', properties: { a: { type: 'string' } } }] })).toEqual({});
  });

  it('rewrites $ref to #/definitions and titles properties', () => {
    expect(swaggerSchema({ $ref: '#/components/schemas/Job', description: 'ignored beside $ref' })).toEqual({ $ref: '#/definitions/Job' });
    const converted = swaggerSchema({ type: 'object', properties: { revised_prompt: { type: 'string' }, items: { type: 'array', items: { $ref: '#/components/schemas/Job' } } } });
    expect(converted.properties).toEqual({
      revised_prompt: { type: 'string', 'x-ms-summary': 'Revised prompt' },
      items: { type: 'array', items: { $ref: '#/definitions/Job' }, 'x-ms-summary': 'Items' },
    });
  });
});
