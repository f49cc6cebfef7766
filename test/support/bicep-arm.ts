import { createHash } from 'node:crypto';

// What Azure receives, evaluated offline: infra/main.json (the compiled Bicep) with a set of
// parameter values, the way Resource Manager expands it before it creates anything. Template
// expressions that only Azure can answer (reference(), resourceId(), uniqueString(), deployer()...)
// stay unresolved as `Unresolved` values that keep the call, so a check can still tell which
// resource an id names or which output a setting reads; a check may decide some of them (`known`).
// uniqueString() and guid() are computed, deterministic but not with Azure's hash. Covers the part of the template language
// that Bicep emits for this project; anything else fails loudly rather than guessing.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A value only Azure knows: the call that makes it, with its arguments evaluated where they could be. */
export class Unresolved {
  constructor(
    readonly fn: string,
    readonly args: unknown[],
    readonly path: string[] = [],
  ) {}

  get text(): string {
    const args = this.args
      .map((a) => (typeof a === 'string' ? `'${a}'` : a instanceof Unresolved ? a.text : JSON.stringify(a)))
      .join(', ');
    return `${this.fn}(${args})${this.path.map((p) => `.${p}`).join('')}`;
  }

  toString(): string {
    return `⟨${this.text}⟩`;
  }
}

export const isUnresolved = (value: unknown): value is Unresolved => value instanceof Unresolved;

// ---- Expressions -------------------------------------------------------------------------

type Node =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'member'; target: Node; name: string }
  | { kind: 'index'; target: Node; index: Node };

export function parseExpression(text: string): Node {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`template expression: ${what} at ${i} in [${text}]`);
  };
  const skip = () => {
    while (text[i] === ' ') i++;
  };
  const expect = (char: string) => {
    skip();
    if (text[i] !== char) fail(`expected '${char}'`);
    i++;
  };
  const primary = (): Node => {
    skip();
    if (text[i] === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated string');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          return { kind: 'string', value };
        }
        value += text[i++];
      }
    }
    const number = /^-?\d+/.exec(text.slice(i));
    if (number) {
      i += number[0].length;
      return { kind: 'number', value: Number(number[0]) };
    }
    const name = /^[A-Za-z_][\w]*/.exec(text.slice(i))?.[0] ?? fail('expected a function name');
    i += name.length;
    expect('(');
    const args: Node[] = [];
    skip();
    if (text[i] === ')') i++;
    else {
      for (;;) {
        args.push(expression());
        skip();
        if (text[i] === ',') i++;
        else if (text[i] === ')') {
          i++;
          break;
        } else fail("expected ',' or ')'");
      }
    }
    return { kind: 'call', name, args };
  };
  const expression = (): Node => {
    let node = primary();
    for (;;) {
      skip();
      if (text[i] === '.') {
        i++;
        const name = /^[\w$#]+/.exec(text.slice(i))?.[0] ?? fail('expected a property name');
        i += name.length;
        node = { kind: 'member', target: node, name };
      } else if (text[i] === '[') {
        i++;
        const index = expression();
        expect(']');
        node = { kind: 'index', target: node, index };
      } else return node;
    }
  };
  const node = expression();
  skip();
  if (i !== text.length) fail('unexpected text');
  return node;
}

/** `[expr]` is an expression, `[[...` a literal starting with `[`. */
const expressionOf = (value: string): string | undefined =>
  value.startsWith('[') && !value.startsWith('[[') && value.endsWith(']') ? value.slice(1, -1) : undefined;

interface Scope {
  parameters: Record<string, unknown>;
  variable: (name: string) => unknown;
  copyIndex?: Record<string, number>;
  lambdas?: Record<string, unknown>;
  /** Values a check decides for what only Azure knows, by the text of the call, e.g. deployer().objectId. */
  known: Record<string, unknown>;
}

const resolveKnown = (value: Unresolved, scope: Scope): unknown =>
  Object.hasOwn(scope.known, value.text) ? scope.known[value.text] : value;

/** Functions whose answer depends on Azure: evaluated to an Unresolved that keeps the call. */
const AZURE_FUNCTIONS = new Set([
  'reference',
  'resourceId',
  'subscriptionResourceId',
  'extensionResourceId',
  'tenantResourceId',
  'resourceGroup',
  'subscription',
  'tenant',
  'deployer',
  'deployment',
  'environment',
  'utcNow',
  'newGuid',
  'managementGroup',
]);

const truthy = (value: unknown) => value === true;

function call(name: string, args: Node[], scope: Scope): unknown {
  const lower = name.toLowerCase();
  // Lazy ones first: only the branch that is taken is evaluated, as in Azure.
  if (lower === 'if') {
    const condition = evaluateNode(args[0], scope);
    if (isUnresolved(condition)) return new Unresolved('if', [condition]);
    return evaluateNode(args[truthy(condition) ? 1 : 2], scope);
  }
  if (lower === 'lambda') {
    const params = args.slice(0, -1).map((a) => evaluateNode(a, scope) as string);
    const body = args.at(-1)!;
    return (...values: unknown[]) =>
      evaluateNode(body, {
        ...scope,
        lambdas: { ...scope.lambdas, ...Object.fromEntries(params.map((p, k) => [p, values[k]])) },
      });
  }
  const values = args.map((a) => evaluateNode(a, scope));
  if (lower.startsWith('list')) return new Unresolved(name, values);
  if (AZURE_FUNCTIONS.has(name)) return resolveKnown(new Unresolved(name, values), scope);
  const unresolved = values.find(isUnresolved);
  const fn = FUNCTIONS[lower];
  if (!fn) throw new Error(`template function ${name}() is not known to test/support/bicep-arm.ts`);
  // A function of something only Azure knows is only known to Azure, except the few that never look inside.
  if (
    unresolved &&
    ![
      'createarray',
      'createobject',
      'parameters',
      'variables',
      'copyindex',
      'lambdavariables',
      'if',
      'coalesce',
    ].includes(lower)
  ) {
    return new Unresolved(name, values);
  }
  return fn(values, scope);
}

/** Deterministic, like Azure's, but not Azure's own hash: the same inputs give the same name here. */
const hash = (args: unknown[]) => createHash('sha256').update(JSON.stringify(args)).digest();

const FUNCTIONS: Record<string, (args: unknown[], scope: Scope) => unknown> = {
  uniquestring: (args) =>
    [...hash(args).subarray(0, 13)].map((b) => 'abcdefghijklmnopqrstuvwxyz234567'[b % 32]).join(''),
  guid: (args) => {
    const hex = hash(args).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  },
  parameters: ([name], scope) => {
    if (!Object.hasOwn(scope.parameters, name as string)) throw new Error(`no parameter ${String(name)}`);
    return scope.parameters[name as string];
  },
  variables: ([name], scope) => scope.variable(name as string),
  copyindex: ([a, b], scope) => {
    const [loop, offset] = typeof a === 'string' ? [a, Number(b ?? 0)] : [undefined, Number(a ?? 0)];
    const indexes = Object.values(scope.copyIndex ?? {});
    const index = loop ? scope.copyIndex?.[loop] : indexes.at(-1);
    if (index === undefined) throw new Error(`copyIndex(${loop ?? ''}) outside its loop`);
    return index + offset;
  },
  lambdavariables: ([name], scope) => scope.lambdas?.[name as string],
  createarray: (args) => args,
  createobject: (args) =>
    Object.fromEntries(Array.from({ length: args.length / 2 }, (_, k) => [args[2 * k] as string, args[2 * k + 1]])),
  true: () => true,
  false: () => false,
  null: () => null,
  equals: ([a, b]) => JSON.stringify(a) === JSON.stringify(b),
  not: ([a]) => !truthy(a),
  and: (args) => args.every(truthy),
  or: (args) => args.some(truthy),
  greater: ([a, b]) => (a as number) > (b as number),
  greaterorequals: ([a, b]) => (a as number) >= (b as number),
  less: ([a, b]) => (a as number) < (b as number),
  lessorequals: ([a, b]) => (a as number) <= (b as number),
  empty: ([a]) =>
    a === null ||
    a === '' ||
    (Array.isArray(a) ? a.length === 0 : typeof a === 'object' && Object.keys(a).length === 0),
  length: ([a]) => (typeof a === 'string' || Array.isArray(a) ? a.length : Object.keys(a as object).length),
  coalesce: (args) => args.find((a) => a !== null && a !== undefined) ?? null,
  concat: (args) => (args.every(Array.isArray) ? (args as unknown[][]).flat() : args.map(String).join('')),
  flatten: ([a]) => (a as unknown[][]).flat(),
  union: (args) =>
    args.every(Array.isArray) ? [...new Set((args as unknown[][]).flat())] : Object.assign({}, ...(args as object[])),
  shallowmerge: ([a]) => Object.assign({}, ...(a as object[])),
  contains: ([a, b]) =>
    typeof a === 'string'
      ? a.includes(b as string)
      : Array.isArray(a)
        ? a.some((x) => JSON.stringify(x) === JSON.stringify(b))
        : Object.hasOwn(a as object, b as string),
  format: ([pattern, ...args]) => (pattern as string).replace(/\{(\d+)\}/g, (_, k: string) => String(args[Number(k)])),
  tolower: ([a]) => (a as string).toLowerCase(),
  toupper: ([a]) => (a as string).toUpperCase(),
  string: ([a]) => (typeof a === 'string' ? a : JSON.stringify(a)),
  int: ([a]) => Math.trunc(Number(a)),
  bool: ([a]) => a === true || a === 'true',
  join: ([a, separator]) => (a as unknown[]).join(separator as string),
  map: ([a, fn]) => (a as unknown[]).map((x, k) => (fn as (...v: unknown[]) => unknown)(x, k)),
  filter: ([a, fn]) => (a as unknown[]).filter((x, k) => truthy((fn as (...v: unknown[]) => unknown)(x, k))),
  items: ([a]) => Object.entries(a as object).map(([key, value]) => ({ key, value })),
  range: ([start, count]) => Array.from({ length: count as number }, (_, k) => (start as number) + k),
  split: ([a, separator]) => (a as string).split(separator as string),
  last: ([a]) => (a as unknown[]).at(-1),
  first: ([a]) => (a as unknown[])[0],
};

function evaluateNode(node: Node, scope: Scope): unknown {
  switch (node.kind) {
    case 'string':
    case 'number':
      return node.value;
    case 'call':
      return call(node.name, node.args, scope);
    case 'member': {
      const target = evaluateNode(node.target, scope);
      if (isUnresolved(target))
        return resolveKnown(new Unresolved(target.fn, target.args, [...target.path, node.name]), scope);
      if (target === null || typeof target !== 'object') throw new Error(`.${node.name} of ${JSON.stringify(target)}`);
      return (target as Record<string, unknown>)[node.name];
    }
    case 'index': {
      const target = evaluateNode(node.target, scope);
      const index = evaluateNode(node.index, scope);
      if (isUnresolved(target) || isUnresolved(index)) return new Unresolved('index', [target, index]);
      return (target as Record<string, unknown>)[index as string];
    }
  }
}

/** A property (or variable) loop: `copy: [{ name, count, input }]` makes each `name` an array of `input`, copyIndex(name) its index. */
interface CopyLoop {
  name: string;
  count: Json;
  input: Json;
}

function expandCopy(loop: CopyLoop, scope: Scope): unknown[] {
  const count = evaluateDeep(loop.count, scope) as number;
  return Array.from({ length: count }, (_, k) =>
    evaluateDeep(loop.input, { ...scope, copyIndex: { ...scope.copyIndex, [loop.name]: k } }),
  );
}

/** Evaluates every expression inside a JSON value. */
function evaluateDeep(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') {
    const expression = expressionOf(value);
    if (expression !== undefined) return evaluateNode(parseExpression(expression), scope);
    return value.startsWith('[[') ? value.slice(1) : value;
  }
  if (Array.isArray(value)) return value.map((v) => evaluateDeep(v, scope));
  if (value && typeof value === 'object' && !isUnresolved(value)) {
    const { copy, ...rest } = value as { copy?: unknown };
    const evaluated = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, evaluateDeep(v, scope)]));
    if (Array.isArray(copy)) for (const loop of copy as CopyLoop[]) evaluated[loop.name] = expandCopy(loop, scope);
    else if (copy !== undefined) evaluated.copy = evaluateDeep(copy, scope);
    return evaluated;
  }
  return value;
}

// ---- Templates ---------------------------------------------------------------------------

export interface Template {
  parameters?: Record<
    string,
    {
      type: string;
      defaultValue?: Json;
      allowedValues?: Json[];
      minValue?: number;
      maxValue?: number;
      metadata?: Record<string, Json>;
    }
  >;
  variables?: Record<string, Json>;
  resources: Record<string, TemplateResource> | TemplateResource[];
  outputs?: Record<string, { type: string; value: Json }>;
  definitions?: Record<string, Json>;
}

export interface TemplateResource {
  type: string;
  apiVersion: string;
  name: string;
  existing?: boolean;
  condition?: Json;
  copy?: { name: string; count: Json; mode?: string; batchSize?: number };
  properties?: Record<string, Json>;
  [key: string]: unknown;
}

/** One resource as Azure would create it, its expressions evaluated. */
export interface Deployed {
  /** Module path and symbolic name, e.g. app-roles/storageAssignments[0]. */
  id: string;
  /** The module (deployment) names that lead to it, outermost first. */
  modules: string[];
  symbol: string;
  type: string;
  apiVersion: string;
  name: unknown;
  /** Its whole body, evaluated. */
  body: Record<string, unknown>;
  /** The unevaluated body from the template. */
  raw: TemplateResource;
  /** The template it is declared in. */
  template: Template;
  copy?: TemplateResource['copy'];
  /** A module's parameter values, as it receives them. */
  parameters?: Record<string, unknown>;
}

export interface Evaluation {
  /** Every resource the deployment creates (not `existing` references, not those whose condition is false). */
  resources: Deployed[];
  /** Every template, the main one first, with the module path that uses it. */
  templates: { modules: string[]; template: Template }[];
  parameters: Record<string, unknown>;
}

const resourceList = (template: Template): [string, TemplateResource][] =>
  Array.isArray(template.resources)
    ? template.resources.map((r, k) => [`#${k}`, r])
    : Object.entries(template.resources);

/** Deploys a template on paper with the given parameter values (the others take their defaults). */
export function evaluateTemplate(
  template: Template,
  given: Record<string, unknown>,
  known: Record<string, unknown> = {},
  modules: string[] = [],
): Evaluation {
  const declared = template.parameters ?? {};
  for (const name of Object.keys(given))
    if (!Object.hasOwn(declared, name)) throw new Error(`${modules.join('/') || 'main'}: no parameter ${name}`);
  const parameters: Record<string, unknown> = {};
  const cache = new Map<string, unknown>();
  const scope: Scope = {
    parameters,
    known,
    variable: (name) => {
      if (!cache.has(name)) {
        const loop = (template.variables?.copy as CopyLoop[] | undefined)?.find((l) => l.name === name);
        if (loop) cache.set(name, expandCopy(loop, scope));
        else if (name !== 'copy' && Object.hasOwn(template.variables ?? {}, name))
          cache.set(name, evaluateDeep(template.variables![name], scope));
        else throw new Error(`no variable ${name}`);
      }
      return cache.get(name);
    },
  };
  for (const [name, declaration] of Object.entries(declared)) {
    if (Object.hasOwn(given, name)) parameters[name] = given[name];
    else if ('defaultValue' in declaration) parameters[name] = evaluateDeep(declaration.defaultValue, scope);
    else throw new Error(`${modules.join('/') || 'main'}: parameter ${name} needs a value`);
  }
  const evaluation: Evaluation = { resources: [], templates: [{ modules, template }], parameters };
  for (const [symbol, raw] of resourceList(template)) {
    if (raw.existing) continue;
    const condition = raw.condition === undefined ? true : evaluateDeep(raw.condition, scope);
    if (isUnresolved(condition)) throw new Error(`${symbol}: its condition depends on Azure (${condition.text})`);
    if (condition !== true) continue;
    const count = raw.copy ? (evaluateDeep(raw.copy.count, scope) as number) : undefined;
    for (const index of count === undefined ? [undefined] : Array.from({ length: count }, (_, k) => k)) {
      const itemScope: Scope =
        index === undefined ? scope : { ...scope, copyIndex: { ...scope.copyIndex, [raw.copy!.name]: index } };
      const { properties, copy, ...rest } = raw;
      const isModule = raw.type === 'Microsoft.Resources/deployments' && properties?.template !== undefined;
      const body = evaluateDeep(rest, itemScope) as Record<string, unknown>;
      const id = `${[...modules, `${symbol}${index === undefined ? '' : `[${index}]`}`].join('/')}`;
      if (isModule) {
        const {
          template: inner,
          parameters: passed = {},
          ...others
        } = properties as unknown as { template: Template; parameters?: Record<string, Json> };
        body.properties = evaluateDeep(others, itemScope);
        // Each module parameter is { value } or an expression that makes one.
        const values = Object.fromEntries(
          Object.entries(passed).map(([name, p]) => {
            const evaluated = evaluateDeep(p, itemScope) as { value: unknown };
            return [name, evaluated.value];
          }),
        );
        evaluation.resources.push({
          id,
          modules,
          symbol,
          type: raw.type,
          apiVersion: raw.apiVersion,
          name: body.name,
          body,
          raw,
          template,
          copy,
          parameters: values,
        });
        const nested = evaluateTemplate(inner, values, known, [...modules, String(body.name)]);
        evaluation.resources.push(...nested.resources);
        evaluation.templates.push(...nested.templates);
      } else {
        if (properties !== undefined) body.properties = evaluateDeep(properties, itemScope);
        evaluation.resources.push({
          id,
          modules,
          symbol,
          type: raw.type,
          apiVersion: raw.apiVersion,
          name: body.name,
          body,
          raw,
          template,
          copy,
        });
      }
    }
  }
  return evaluation;
}

/** The value at a dotted path, e.g. properties.siteConfig.minTlsVersion. */
export function at(value: unknown, path: string): unknown {
  let node = value;
  for (const key of path.split('.'))
    node = node && typeof node === 'object' && !isUnresolved(node) ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

/** Every string (expression text included) anywhere in a JSON value, with its path. */
export function strings(value: unknown, path = ''): { path: string; value: string }[] {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v, k) => strings(v, `${path}[${k}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => strings(v, path ? `${path}.${k}` : k));
  return [];
}
