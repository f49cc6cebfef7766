import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { QUEUES } from '../../src/lib/queues.js';
import { HOST_SETTING_NAMES, loadSettings, SETTING_NAMES, settingsSchema } from '../../src/lib/settings.js';

// infra/ checked without a Bicep compiler: tree-sitter-bicep parses every file, and the checks
// read the trees. It holds the deployment to what the code reads (settings, queues, containers)
// and to the security the README promises.

const root = join(__dirname, '..', '..');
const infraDir = join(root, 'infra');

// ---- Parsing and tree helpers, shared by every check ---------------------------------------

interface BicepFile {
  /** Path under infra/, e.g. modules/storage.bicep. */
  name: string;
  root: Node;
}

let parser: Parser;
let files: BicepFile[];

const parse = (source: string): Node => parser.parse(source)!.rootNode;

function bicepPaths(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return bicepPaths(path);
    return entry.name.endsWith('.bicep') ? [path] : [];
  });
}

function file(name: string): BicepFile {
  const found = files.find((f) => f.name === name);
  if (!found) throw new Error(`infra/${name} is missing`);
  return found;
}

const isComment = (node: Node) => node.type === 'comment' || node.type === 'diagnostic_comment';

/** Named children without comments. */
const kids = (node: Node): Node[] => node.namedChildren.filter((c) => !isComment(c));

/** The declared name of a param, var, resource, module or output. */
const declName = (decl: Node): string => kids(decl)[0]!.text;

/** Text of a string literal; undefined for an interpolated string or any other expression. */
function stringValue(node: Node | undefined): string | undefined {
  if (node?.type !== 'string') return undefined;
  const parts = kids(node);
  if (parts.some((p) => p.type !== 'string_content' && p.type !== 'escape_sequence')) return undefined;
  return parts.map((p) => (p.type === 'escape_sequence' ? p.text.slice(1) : p.text)).join('');
}

/** A literal's value: a string, boolean or number; undefined for an expression. */
function literal(node: Node | undefined): string | boolean | number | undefined {
  if (node?.type === 'boolean') return node.text === 'true';
  if (node?.type === 'number') return Number(node.text);
  return stringValue(node);
}

/** An object's properties by key (identifier or quoted key). */
function properties(object: Node | undefined): Map<string, Node> {
  const map = new Map<string, Node>();
  if (object?.type !== 'object') return map;
  for (const prop of kids(object).filter((c) => c.type === 'object_property')) {
    const [key, value] = kids(prop);
    map.set(stringValue(key) ?? key!.text, value!);
  }
  return map;
}

/** The value at a dotted path of properties, e.g. 'properties.siteConfig.ftpsState'. */
function at(object: Node | undefined, path: string): Node | undefined {
  let node = object;
  for (const key of path.split('.')) node = properties(node).get(key);
  return node;
}

/** The body object of a resource or module, through `if (...)` and `[for ...: ...]`. */
function body(decl: Node): Node | undefined {
  let node: Node | undefined = kids(decl).at(-1);
  while (node && node.type !== 'object') {
    node = node.type === 'if_statement' || node.type === 'for_statement' || node.type === 'array' ? kids(node).at(-1) : undefined;
  }
  return node;
}

/** The decorators on a declaration (they precede it as a sibling), by name: `@allowed([...])` → allowed. */
function decoratorCalls(decl: Node): Map<string, Node> {
  let prev = decl.previousNamedSibling;
  while (prev && isComment(prev)) prev = prev.previousNamedSibling;
  if (prev?.type !== 'decorators') return new Map();
  return new Map(prev.descendantsOfType('decorator').map((d) => [kids(kids(d)[0]!)[0]!.text, d]));
}

const decorators = (decl: Node): string[] => [...decoratorCalls(decl).keys()];

const declarations = (f: BicepFile, type: string): Node[] => kids(f.root).filter((n) => n.type === type);

function declaration(f: BicepFile, type: string, name: string): Node {
  const found = declarations(f, type).find((d) => declName(d) === name);
  if (!found) throw new Error(`infra/${f.name} has no ${type} ${name}`);
  return found;
}

interface Resource {
  file: BicepFile;
  decl: Node;
  /** e.g. Microsoft.Storage/storageAccounts */
  type: string;
  apiVersion: string | undefined;
  existing: boolean;
  body: Node | undefined;
}

function resources(f: BicepFile): Resource[] {
  return declarations(f, 'resource_declaration').map((decl) => {
    const [type, apiVersion] = (stringValue(kids(decl)[1]) ?? '').split('@');
    return { file: f, decl, type: type!, apiVersion, existing: decl.children.some((c) => c.type === 'existing'), body: body(decl) };
  });
}

const allResources = () => files.flatMap(resources);

/** The resources of a type that this deployment creates (not `existing` references). */
function created(type: string): Resource[] {
  const found = allResources().filter((r) => r.type === type && !r.existing);
  expect(found, `a ${type}`).not.toHaveLength(0);
  return found;
}

function ancestor(node: Node, type: string): Node | undefined {
  let parent = node.parent;
  while (parent && parent.type !== type) parent = parent.parent;
  return parent ?? undefined;
}

/** Identifiers used as values (not the declared name, not an object key). */
function identifierUses(node: Node): string[] {
  return node.descendantsOfType('identifier').filter((id) => {
    const parent = id.parent!;
    if (parent.type === 'object_property' && kids(parent)[0]!.equals(id)) return false;
    return !(parent.type.endsWith('_declaration') && kids(parent)[0]!.equals(id));
  }).map((id) => id.text);
}

/** The string literals anywhere under a node. */
const strings = (node: Node | undefined): string[] =>
  node ? node.descendantsOfType('string').map(stringValue).filter((s): s is string => s !== undefined) : [];

/** A value that is a literal, or an identifier naming a var whose value is a literal. */
function resolve(f: BicepFile, node: Node | undefined): string | boolean | number | undefined {
  if (node?.type === 'identifier') {
    const variable = declarations(f, 'variable_declaration').find((d) => declName(d) === node.text);
    return variable && literal(kids(variable).at(-1));
  }
  return literal(node);
}

beforeAll(async () => {
  await Parser.init();
  const wasm = createRequire(__filename).resolve('tree-sitter-bicep/tree-sitter-bicep.wasm');
  parser = new Parser();
  parser.setLanguage(await Language.load(wasm));
  files = bicepPaths(infraDir).map((path) => ({ name: relative(infraDir, path).split('\\').join('/'), root: parse(readFileSync(path, 'utf8')) }));
});

// ---- Checks ---------------------------------------------------------------------------------

describe('infra: syntax', () => {
  it('finds a syntax error (self-test)', () => {
    expect(parse("param ok string = 'x'\n").hasError).toBe(false);
    expect(parse("resource broken 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n  properties: {\n}\n").hasError).toBe(true);
  });

  it('parses every .bicep file without error', () => {
    expect(files.map((f) => f.name)).toContain('main.bicep');
    for (const f of files) expect(f.root.hasError, `infra/${f.name}`).toBe(false);
  });

  it('gives every resource type an api version', () => {
    for (const r of allResources()) {
      expect(r.type, `${r.file.name} ${declName(r.decl)}`).toMatch(/^Microsoft\.\w+(\/\w+)+$/);
      expect(r.apiVersion, `${r.file.name} ${declName(r.decl)}`).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
    }
  });

  it('uses only local modules, each passed exactly the params it declares', () => {
    for (const f of files) {
      for (const mod of declarations(f, 'module_declaration')) {
        const path = stringValue(kids(mod)[1]);
        expect(path, `${f.name} module ${declName(mod)}`).toMatch(/^[\w./-]+\.bicep$/);
        const target = file(join(dirname(f.name), path!).split('\\').join('/'));
        const params = declarations(target, 'parameter_declaration');
        const required = params.filter((p) => kids(p).length === 2).map(declName);
        const passed = [...properties(at(body(mod), 'params')).keys()];
        expect(passed, `${f.name} module ${declName(mod)}`).toEqual(expect.arrayContaining(required));
        for (const name of passed) expect(params.map(declName), `${target.name} param ${name}`).toContain(name);
      }
    }
  });

  it('uses every parameter, and describes it', () => {
    for (const f of files) {
      const uses = new Set(identifierUses(f.root));
      for (const param of declarations(f, 'parameter_declaration')) {
        expect(uses.has(declName(param)), `${f.name} param ${declName(param)} is used`).toBe(true);
        expect(decorators(param), `${f.name} param ${declName(param)}`).toContain('description');
      }
    }
  });
});

describe('infra: resources', () => {
  it('deploys at resource group scope, names from abbreviations.json plus a uniqueString token', () => {
    const main = file('main.bicep');
    const scope = declarations(main, 'target_scope_assignment')[0];
    expect(stringValue(scope && kids(scope).at(-1))).toBe('resourceGroup');
    const abbrs = JSON.parse(readFileSync(join(infraDir, 'abbreviations.json'), 'utf8')) as Record<string, string>;
    const used = main.root.descendantsOfType('member_expression').filter((m) => kids(m)[0]!.text === 'abbrs').map((m) => kids(m)[1]!.text);
    expect(used.length).toBeGreaterThan(5);
    for (const key of used) expect(Object.keys(abbrs), `abbrs.${key}`).toContain(key);
    expect(declaration(main, 'variable_declaration', 'resourceToken').text).toContain('uniqueString(');
  });

  it('has Azure OpenAI with dall-e-3 and an optional gpt-image-1, deployed one at a time', () => {
    const [account] = created('Microsoft.CognitiveServices/accounts');
    expect(literal(at(account!.body, 'kind'))).toBe('OpenAI');
    expect(at(account!.body, 'properties.customSubDomainName')).toBeDefined();
    expect(at(account!.body, 'properties.disableLocalAuth')?.text).toMatch(/entra/);

    const [deployments] = created('Microsoft.CognitiveServices/accounts/deployments');
    expect(decoratorCalls(deployments!.decl).get('batchSize')?.text).toBe('@batchSize(1)');
    const openai = file('modules/openai.bicep');
    const models = declarations(openai, 'variable_declaration').map((v) => kids(v).at(-1)!).filter((v) => at(v, 'model.name'));
    const model = (name: string) => models.find((m) => literal(at(m, 'model.name')) === name);
    expect(literal(at(model('dall-e-3'), 'model.version'))).toBe('3.0');
    expect(literal(at(model('dall-e-3'), 'model.format'))).toBe('OpenAI');
    expect(literal(at(model('gpt-image-1'), 'model.version'))).toBe('2025-04-15');
    expect(literal(at(model('gpt-image-1'), 'sku.name'))).toBe('GlobalStandard');
    const gptSwitch = declaration(file('main.bicep'), 'parameter_declaration', 'deployGptImage1');
    expect(kids(gptSwitch)[1]!.text).toBe('bool');
  });

  it('has a Key Vault with RBAC, soft delete and purge protection, and the key written only in key mode', () => {
    const [vault] = created('Microsoft.KeyVault/vaults');
    expect(at(vault!.body, 'properties.enableSoftDelete')?.text).toBe('true');
    const [secret] = created('Microsoft.KeyVault/vaults/secrets');
    expect(at(secret!.body, 'properties.value')?.text).toMatch(/\.listKeys\(\)\.key1$/);
    const secretModule = file('main.bicep').root.descendantsOfType('module_declaration').find((m) => m.text.includes(secret!.file.name));
    expect(secretModule?.descendantsOfType('if_statement')[0]?.text).toMatch(/^if \(keyMode\)/);
  });

  it('has storage with the containers and queues the code uses', () => {
    created('Microsoft.Storage/storageAccounts');
    created('Microsoft.Storage/storageAccounts/blobServices/containers');
    created('Microsoft.Storage/storageAccounts/queueServices/queues');
    const main = file('main.bicep');
    const params = at(body(declaration(main, 'module_declaration', 'storage')), 'params');
    const containers = kids(properties(params).get('containerNames')!).map((c) => resolve(main, c) ?? c.text);
    expect(containers).toEqual(expect.arrayContaining(['images', 'jobs', 'deploymentContainerName']));
    const appParams = at(body(declaration(main, 'module_declaration', 'functionApp')), 'params');
    expect(properties(appParams).get('deploymentContainerName')?.text).toBe('deploymentContainerName');
    expect(strings(properties(params).get('queueNames')).sort()).toEqual(Object.values(QUEUES).sort());
  });

  it('has workspace-based Application Insights and a user-assigned identity', () => {
    created('Microsoft.OperationalInsights/workspaces');
    const [appInsights] = created('Microsoft.Insights/components');
    expect(at(appInsights!.body, 'properties.WorkspaceResourceId')).toBeDefined();
    created('Microsoft.ManagedIdentity/userAssignedIdentities');
  });

  it('runs the app on Flex Consumption with the identity and the deployment container', () => {
    const [plan] = created('Microsoft.Web/serverfarms');
    expect(literal(at(plan!.body, 'sku.name'))).toBe('FC1');
    expect(literal(at(plan!.body, 'sku.tier'))).toBe('FlexConsumption');
    expect(literal(at(plan!.body, 'properties.reserved'))).toBe(true);

    const [site] = created('Microsoft.Web/sites');
    expect(site!.apiVersion! >= '2024-04-01').toBe(true);
    expect(literal(at(site!.body, 'kind'))).toBe('functionapp,linux');
    expect(literal(at(site!.body, 'identity.type'))).toBe('UserAssigned');
    const config = at(site!.body, 'properties.functionAppConfig');
    expect(literal(at(config, 'deployment.storage.type'))).toBe('blobContainer');
    expect(literal(at(config, 'deployment.storage.authentication.type'))).toBe('UserAssignedIdentity');
    expect(at(config, 'scaleAndConcurrency.instanceMemoryMB')).toBeDefined();
    expect(at(config, 'scaleAndConcurrency.maximumInstanceCount')).toBeDefined();
    expect(literal(at(config, 'runtime.name'))).toBe('node');
    const tags = site!.decl.descendantsOfType('object_property').find((p) => stringValue(kids(p)[0]) === 'azd-service-name');
    expect(literal(tags && kids(tags)[1])).toBe('api');
    const nodeVersion = declaration(file('main.bicep'), 'parameter_declaration', 'nodeVersion');
    expect(literal(kids(nodeVersion).at(-1))).toBe('22');
  });
});

describe('infra: security', () => {
  const required: [type: string, path: string, value: string | boolean][] = [
    ['Microsoft.Storage/storageAccounts', 'properties.allowBlobPublicAccess', false],
    ['Microsoft.Storage/storageAccounts', 'properties.minimumTlsVersion', 'TLS1_2'],
    ['Microsoft.Storage/storageAccounts', 'properties.supportsHttpsTrafficOnly', true],
    ['Microsoft.Storage/storageAccounts', 'properties.allowSharedKeyAccess', false],
    ['Microsoft.KeyVault/vaults', 'properties.enableRbacAuthorization', true],
    ['Microsoft.KeyVault/vaults', 'properties.enablePurgeProtection', true],
    ['Microsoft.Web/sites', 'properties.httpsOnly', true],
    ['Microsoft.Web/sites', 'properties.siteConfig.ftpsState', 'Disabled'],
    ['Microsoft.Web/sites', 'properties.siteConfig.minTlsVersion', '1.2'],
  ];

  it.each(required)('%s sets %s to %s', (type, path, value) => {
    for (const r of created(type)) expect(literal(at(r.body, path)), `${r.file.name} ${declName(r.decl)}`).toBe(value);
  });

  it('lists keys only into a Key Vault secret', () => {
    const listCalls = files.flatMap((f) => f.root.descendantsOfType('call_expression').filter((c) => /(^|\.)list\w*$/.test(kids(c)[0]!.text)));
    expect(listCalls).not.toHaveLength(0);
    for (const call of listCalls) {
      const owner = allResources().find((r) => ancestor(call, 'resource_declaration')?.equals(r.decl));
      expect(owner?.type, call.text).toBe('Microsoft.KeyVault/vaults/secrets');
    }
  });

  it('puts no secret in any output', () => {
    const bad = /(^|\.)list\w*\(|\.properties\.value\b|AccountKey=|SharedAccessKey=|password/i;
    for (const f of files) {
      for (const output of declarations(f, 'output_declaration')) {
        expect(decorators(output), `${f.name} output ${declName(output)}`).not.toContain('secure');
        expect(kids(output).at(-1)!.text, `${f.name} output ${declName(output)}`).not.toMatch(bad);
      }
    }
  });

  it('runs the self-test of the output check', () => {
    const output = kids(parse("output k string = account.listKeys().key1\n")).find((n) => n.type === 'output_declaration')!;
    expect(kids(output).at(-1)!.text).toMatch(/(^|\.)list\w*\(/);
  });
});

describe('infra: roles', () => {
  // Built-in role definition IDs: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
  const ROLES: Record<string, string> = {
    'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
    'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
    'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
    'Cognitive Services OpenAI User': '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd',
    'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
  };
  const roleModule = () => file('modules/roles.bicep');
  const roleParams = (name: string) => at(body(declaration(file('main.bicep'), 'module_declaration', name)), 'params');

  it('names each role by its built-in GUID, and uses no other GUID', () => {
    const table = properties(kids(declaration(roleModule(), 'variable_declaration', 'roleIds')).at(-1));
    expect(table.size).toBeGreaterThan(0);
    for (const [name, guid] of table) expect(literal(guid), name).toBe(ROLES[name]);
    for (const f of files) {
      for (const guid of strings(f.root).filter((s) => /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(s))) expect(Object.values(ROLES), `${f.name}: ${guid}`).toContain(guid);
    }
  });

  it('assigns each role on one resource, named by guid(scope, principal, role)', () => {
    const assignments = created('Microsoft.Authorization/roleAssignments');
    const existing = new Set(allResources().filter((r) => r.existing).map((r) => `${r.file.name}:${declName(r.decl)}`));
    for (const a of assignments) {
      const scope = at(a.body, 'scope');
      expect(scope?.type, declName(a.decl)).toBe('identifier');
      expect(existing.has(`${a.file.name}:${scope!.text}`), `${declName(a.decl)} scope ${scope!.text}`).toBe(true);
      expect(at(a.body, 'name')?.text).toMatch(new RegExp(`^guid\\(${scope!.text}\\.id, principalId, `));
      expect(at(a.body, 'properties.principalType')).toBeDefined();
    }
  });

  it('gives the app identity the roles it needs, and OpenAI User only when keyless', () => {
    const app = roleParams('appRoles');
    expect(literal(properties(app).get('principalType'))).toBe('ServicePrincipal');
    const roles = (param: string) => strings(properties(app).get(param));
    expect(roles('storageRoles')).toEqual(expect.arrayContaining(['Storage Blob Data Owner', 'Storage Queue Data Contributor', 'Storage Table Data Contributor']));
    expect(roles('keyVaultRoles')).toEqual(['Key Vault Secrets User']);
    expect(roles('appInsightsRoles')).toEqual(['Monitoring Metrics Publisher']);
    expect(roles('openAiRoles')).toEqual(['Cognitive Services OpenAI User']);
    expect(properties(app).get('openAiRoles')!.text).toMatch(/^keyMode \? \[\] :/);
    expect(properties(app).get('keyVaultRoles')!.text).toMatch(/^keyMode \? \[/);
    for (const param of ['storageRoles', 'keyVaultRoles', 'openAiRoles', 'appInsightsRoles']) {
      for (const role of roles(param)) expect(Object.keys(ROLES), role).toContain(role);
    }
  });

  it('gives the developer data-plane roles only when principalId is set', () => {
    const developer = declaration(file('main.bicep'), 'module_declaration', 'developerRoles');
    expect(developer.descendantsOfType('if_statement')[0]?.text).toMatch(/^if \(!empty\(principalId\)\)/);
    const granted = strings(roleParams('developerRoles'));
    for (const role of ['Storage Blob Data Owner', 'Storage Queue Data Contributor', 'Key Vault Secrets Officer', 'Cognitive Services OpenAI User']) {
      expect(granted).toContain(role);
    }
  });
});

describe('infra: app settings', () => {
  const appSettings = () => kids(declaration(file('main.bicep'), 'variable_declaration', 'appSettings')).at(-1)!;
  const NEVER_IN_AZURE = ['AZURE_OPENAI_API_KEY', 'AzureWebJobsStorage'];

  it('sets exactly the settings the code and the host read', () => {
    const names = [...properties(appSettings()).keys()];
    const host: readonly string[] = HOST_SETTING_NAMES;
    const expected = [...SETTING_NAMES.filter((n) => !NEVER_IN_AZURE.includes(n)), ...host.filter((n) => names.includes(n))];
    expect([...names].sort()).toEqual([...expected].sort());
    for (const name of names) expect([...SETTING_NAMES, ...host], name).toContain(name);
    // Identity-based host storage and Entra-authenticated telemetry need these.
    expect(names).toEqual(expect.arrayContaining(['AzureWebJobsStorage__credential', 'AzureWebJobsStorage__clientId', 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING']));
  });

  it('gives values the code accepts', () => {
    const main = file('main.bicep');
    // Expressions resolve in Azure; these stand in for them.
    const sample: Record<string, string> = {
      AZURE_OPENAI_ENDPOINT: 'https://cog-x.openai.azure.com/',
      AZURE_OPENAI_DEPLOYMENTS: 'dall-e-3=dall-e-3,gpt-image-1=gpt-image-1',
      AZURE_OPENAI_AUTH: 'key',
      KEY_VAULT_URI: 'https://kv-x.vault.azure.net/',
      AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000000',
      AzureWebJobsStorage__blobServiceUri: 'https://stx.blob.core.windows.net/',
      AzureWebJobsStorage__queueServiceUri: 'https://stx.queue.core.windows.net/',
    };
    const env = Object.fromEntries(
      [...properties(appSettings())].map(([name, value]) => [name, String(resolve(main, value) ?? sample[name] ?? '')]),
    );
    const settings = loadSettings(env);
    expect(settings.IMAGES_CONTAINER).toBe('images');
    expect(settings.defaultDeployment).toBe('dall-e-3');
    expect(loadSettings({ ...env, AZURE_OPENAI_AUTH: 'entra', KEY_VAULT_URI: '' }).AZURE_OPENAI_AUTH).toBe('entra');
  });

  it('offers the auth modes the code knows, and derives the deployment list from the model switch', () => {
    const main = file('main.bicep');
    const authParam = declaration(main, 'parameter_declaration', 'openAiAuthMode');
    const allowed = strings(decoratorCalls(authParam).get('allowed'));
    expect(allowed.sort()).toEqual([...settingsSchema.shape.AZURE_OPENAI_AUTH.unwrap().options].sort());
    expect(properties(appSettings()).get('AZURE_OPENAI_AUTH')!.text).toBe('openAiAuthMode');
    const output = declaration(file('modules/openai.bicep'), 'output_declaration', 'deploymentsSetting');
    expect(identifierUses(output)).toContain('modelDeployments');
  });

  it('hands the settings to the function app, with no Flex-deprecated setting anywhere', () => {
    const params = at(body(declaration(file('main.bicep'), 'module_declaration', 'functionApp')), 'params');
    expect(properties(params).get('appSettings')?.text).toBe('appSettings');
    const [config] = created('Microsoft.Web/sites/config');
    expect(literal(at(config!.body, 'name'))).toBe('appsettings');
    expect(at(config!.body, 'properties')?.text).toBe('appSettings');
    for (const f of files) {
      expect(strings(f.root).filter((s) => /^(FUNCTIONS_WORKER_RUNTIME|FUNCTIONS_EXTENSION_VERSION|WEBSITE_RUN_FROM_PACKAGE|WEBSITE_CONTENTSHARE)$/.test(s)), f.name).toEqual([]);
      expect(f.root.descendantsOfType('property_identifier').concat(f.root.descendantsOfType('identifier')).map((n) => n.text), f.name).not.toContain('FUNCTIONS_WORKER_RUNTIME');
    }
  });
});

describe('infra: azd', () => {
  it('fills main.parameters.json from the azd environment, with params main.bicep declares', () => {
    const json = JSON.parse(readFileSync(join(infraDir, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, { value: unknown }> };
    const params = declarations(file('main.bicep'), 'parameter_declaration');
    const names = params.map(declName);
    for (const name of Object.keys(json.parameters)) expect(names, `main.parameters.json ${name}`).toContain(name);
    for (const required of params.filter((p) => kids(p).length === 2).map(declName)) expect(Object.keys(json.parameters)).toContain(required);
    const values = Object.values(json.parameters).map((p) => String(p.value));
    for (const value of values) expect(value).toMatch(/^\$\{[A-Z0-9_]+(=[^}]*)?\}$/);
    for (const variable of ['AZURE_ENV_NAME', 'AZURE_LOCATION', 'AZURE_PRINCIPAL_ID']) expect(values).toContain(`\${${variable}}`);
  });

  it('declares service api as a TypeScript function app built before packaging', () => {
    const yaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    const service = /^services:\n {2}api:\n((?: {4}.*\n|\s*\n)+)/m.exec(yaml)?.[1] ?? '';
    const field = (key: string) => new RegExp(`^ {4}${key}: *(.+)$`, 'm').exec(service)?.[1]?.trim();
    expect(field('host')).toBe('function');
    expect(field('language')).toBe('ts');
    expect(field('project')).toBe('.');
    expect(service).toMatch(/run: npm run build/);
    expect(yaml).toMatch(/^ {2}path: infra$/m);
  });
});
