import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODELS, isModelName } from '../../src/lib/core/models.js';
import { QUEUES } from '../../src/lib/jobs/queues.js';
import { HOST_SETTING_NAMES, loadSettings, SETTING_NAMES, settingsSchema } from '../../src/lib/platform/settings.js';
import { BICEP_VERSION } from '../../dev/build/bicep.js';
import {
  at,
  evaluateTemplate,
  isUnresolved,
  strings,
  type Deployed,
  type Evaluation,
  type Template,
  Unresolved,
} from '../support/bicep-arm.js';

// The project's rules, checked on what Azure receives: infra/main.json, the compiled form of
// infra/main.bicep (test/build/infra.bicep.test.ts proves it is the current build and that the
// Bicep linter passes), expanded with parameter values the way Resource Manager expands it.
// What the compiler and linter check (types, property names, API versions, unused parameters,
// secrets in outputs) is theirs; what is here is this app's own policy.

const root = join(__dirname, '..', '..');
const template = JSON.parse(readFileSync(join(root, 'infra', 'main.json'), 'utf8')) as Template;
/** A parameter's @description. */
const descriptionOf = (parameter: string) =>
  (template.parameters![parameter].metadata?.description as string | undefined) ?? '';

/** Required parameters only; everything else takes its default. */
const REQUIRED = { environmentName: 'imagegen', openAiLocation: 'swedencentral' };
/** Who deploys: deployer() always has an object ID. */
const DEPLOYER = '99999999-8888-7777-6666-555555555555';
const deploy = (parameters: Record<string, unknown> = {}): Evaluation =>
  evaluateTemplate(
    template,
    { ...REQUIRED, ...parameters },
    {
      'deployer().objectId': DEPLOYER,
      'resourceGroup().id': '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-imagegen',
      'resourceGroup().location': 'westeurope',
      'resourceGroup().name': 'rg-imagegen',
    },
  );

/** Three Azure OpenAI regions: the first at priority 1, two behind it. */
const REGIONS = [
  { location: 'swedencentral', priority: 1 },
  { location: 'eastus2', priority: 2 },
  { location: 'westus3', priority: 2 },
];

const SCENARIOS: [string, Record<string, unknown>][] = [
  ['defaults (key mode)', {}],
  ['keyless (entra mode)', { openAiAuthMode: 'entra' }],
  ['three regions (key mode)', { openAiRegions: REGIONS }],
  ['three regions, keyless', { openAiRegions: REGIONS, openAiAuthMode: 'entra' }],
  [
    'every model, images to Cool, alert e-mail',
    { deployGptImage15: true, deployGptImage1Mini: true, imagesCoolAfterDays: 30, alertEmail: 'ops@example.com' },
  ],
  ['no developer principal', { principalId: '' }],
];

const ofType = (evaluation: Evaluation, type: string): Deployed[] =>
  evaluation.resources.filter((r) => r.type.toLowerCase() === type.toLowerCase());

/** The vault secret that signs webhook deliveries (WEBHOOK_SIGNING_SECRET_NAME); every other secret is an Azure OpenAI key. */
const WEBHOOK_SECRET = 'webhook-signing-key';
const isWebhookSecret = (secret: Deployed) => String(secret.name).split('/').at(-1) === WEBHOOK_SECRET;
const keySecrets = (evaluation: Evaluation) =>
  ofType(evaluation, 'Microsoft.KeyVault/vaults/secrets').filter((s) => !isWebhookSecret(s));

function one(evaluation: Evaluation, type: string): Deployed {
  const found = ofType(evaluation, type);
  expect(
    found.map((r) => r.id),
    type,
  ).toHaveLength(1);
  return found[0];
}

/** The app settings the function app gets. */
function appSettings(evaluation: Evaluation): Record<string, unknown> {
  const config = ofType(evaluation, 'Microsoft.Web/sites/config').find((r) => String(r.name).endsWith('/appsettings'));
  expect(config, 'a Microsoft.Web/sites/config appsettings').toBeDefined();
  return config!.body.properties as Record<string, unknown>;
}

/** The resource type and name an id names: resourceId('Microsoft.X/y', name...) . */
function idOf(value: unknown): { type: string; names: unknown[] } | undefined {
  if (!isUnresolved(value) || value.fn !== 'resourceId') return undefined;
  const [type, ...names] = value.args;
  return { type: String(type), names };
}

describe('infra/main.json: security', () => {
  it.each(SCENARIOS)('%s: storage refuses shared keys and public blobs, and speaks TLS 1.2 only', (_, parameters) => {
    const evaluation = deploy(parameters);
    const storage = one(evaluation, 'Microsoft.Storage/storageAccounts');
    expect(at(storage.body, 'properties.allowSharedKeyAccess')).toBe(false);
    expect(at(storage.body, 'properties.allowBlobPublicAccess')).toBe(false);
    expect(at(storage.body, 'properties.minimumTlsVersion')).toBe('TLS1_2');
    expect(at(storage.body, 'properties.supportsHttpsTrafficOnly')).toBe(true);
    for (const container of ofType(evaluation, 'Microsoft.Storage/storageAccounts/blobServices/containers')) {
      expect(at(container.body, 'properties.publicAccess'), container.id).toBe('None');
    }
  });

  it.each(SCENARIOS)('%s: Key Vault is RBAC-only with soft delete and purge protection', (_, parameters) => {
    const vault = one(deploy(parameters), 'Microsoft.KeyVault/vaults');
    expect(at(vault.body, 'properties.enableRbacAuthorization')).toBe(true);
    expect(at(vault.body, 'properties.enableSoftDelete')).toBe(true);
    expect(at(vault.body, 'properties.enablePurgeProtection')).toBe(true);
  });

  it.each(SCENARIOS)('%s: Application Insights takes Entra ID-authenticated telemetry only', (_, parameters) => {
    const evaluation = deploy(parameters);
    expect(at(one(evaluation, 'Microsoft.Insights/components').body, 'properties.DisableLocalAuth')).toBe(true);
    const auth = appSettings(evaluation).APPLICATIONINSIGHTS_AUTHENTICATION_STRING;
    expect(isUnresolved(auth) && auth.fn === 'format' && auth.args[0]).toBe('Authorization=AAD;ClientId={0}');
  });

  it.each(SCENARIOS)(
    '%s: the function app is HTTPS-only, TLS 1.2, no FTP, no basic publishing credentials',
    (_, parameters) => {
      const evaluation = deploy(parameters);
      const site = one(evaluation, 'Microsoft.Web/sites');
      expect(at(site.body, 'properties.httpsOnly')).toBe(true);
      expect(at(site.body, 'properties.siteConfig.ftpsState')).toBe('Disabled');
      expect(at(site.body, 'properties.siteConfig.minTlsVersion')).toBe('1.2');
      const policies = ofType(evaluation, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
      expect(policies.map((p) => String(p.name).split('/').at(-1)).sort()).toEqual(['ftp', 'scm']);
      for (const p of policies) expect(at(p.body, 'properties.allow'), p.id).toBe(false);
    },
  );

  it('turns off keys on every Azure OpenAI account exactly in entra mode, and writes each key to a secret of its own exactly in key mode', () => {
    for (const [mode, keyless] of [
      ['key', false],
      ['entra', true],
    ] as const) {
      for (const regions of [undefined, REGIONS]) {
        const evaluation = deploy({ openAiAuthMode: mode, ...(regions && { openAiRegions: regions }) });
        const accounts = ofType(evaluation, 'Microsoft.CognitiveServices/accounts');
        expect(accounts, mode).toHaveLength(regions?.length ?? 1);
        for (const account of accounts)
          expect(at(account.body, 'properties.disableLocalAuth'), `${mode} ${account.id}`).toBe(keyless);
        const secrets = keySecrets(evaluation);
        expect(secrets, mode).toHaveLength(keyless ? 0 : accounts.length);
        // One secret per account, named apart, each filled from the key of the account its module names.
        expect(new Set(secrets.map((secret) => String(secret.name))).size).toBe(secrets.length);
        const readFrom = secrets.map((secret) => (at(secret.body, 'properties.value') as Unresolved).text);
        expect(
          readFrom.map((text) => /resourceId\('Microsoft\.CognitiveServices\/accounts', '([^']+)'\)/.exec(text)?.[1]),
        ).toEqual(keyless ? [] : accounts.map((a) => a.name));
      }
    }
  });

  it('lists keys only into a Key Vault secret: no key in any output, parameter or app setting', () => {
    // Over the whole template text: every list*() call, wherever it is, is the value of a Key Vault
    // secret: the Azure OpenAI key, and the storage key the default webhook signing key is made from.
    const listCalls = strings(template).filter((s) => /\blist\w*\(/i.test(s.value));
    expect(listCalls, 'two list*() calls in the whole template').toHaveLength(2);
    for (const call of listCalls) {
      expect(call.path).toMatch(/\.properties\.value$/);
      const owner = at(template, call.path.replace(/\.properties\.value$/, '').replace(/\[(\d+)\]/g, '.$1')) as {
        type?: string;
      };
      expect(owner.type, call.path).toBe('Microsoft.KeyVault/vaults/secrets');
    }
    const [secret] = keySecrets(deploy());
    const value = at(secret.body, 'properties.value');
    expect(isUnresolved(value) && value.fn).toBe('listKeys');
    // Outputs (of every template) and parameters: no secure types (but the webhook signing key's, below), nothing read from a key.
    for (const { modules, template: t } of deploy().templates) {
      for (const [name, output] of Object.entries(t.outputs ?? {})) {
        expect(output.type.toLowerCase(), `${modules.join('/')} output ${name}`).not.toMatch(/^secure/);
        expect(JSON.stringify(output.value), `${modules.join('/')} output ${name}`).not.toMatch(
          /list\w*\(|\.properties\.value|AccountKey=|SharedAccessKey=|password|webhookSigningKey/i,
        );
      }
      for (const [name, parameter] of Object.entries(t.parameters ?? {})) {
        if (name === 'webhookSigningKey') continue;
        expect(parameter.type.toLowerCase(), `${modules.join('/')} param ${name}`).not.toMatch(/^secure/);
        expect(name, `${modules.join('/')} param ${name}`).not.toMatch(
          /(api|account|access)Key$|password|connectionString/i,
        );
      }
    }
    for (const [mode, evaluation] of [
      ['key', deploy()],
      ['entra', deploy({ openAiAuthMode: 'entra' })],
    ] as const) {
      const settings = appSettings(evaluation);
      expect(Object.keys(settings), mode).not.toContain('AZURE_OPENAI_API_KEY');
      expect(Object.keys(settings), mode).not.toContain('AzureWebJobsStorage');
      for (const [name, value] of Object.entries(settings)) {
        const text = isUnresolved(value) ? value.text : String(value);
        expect(text, `${mode}: ${name}`).not.toMatch(/list\w*\(|AccountKey=|SharedAccessKey=|key1|key2/i);
      }
    }
  });
});

describe('infra/main.json: the webhook signing key', () => {
  /** The value the webhook secret gets, as text: the same text on two deployments is the same key. */
  const webhookValue = (evaluation: Evaluation) => {
    const [secret] = ofType(evaluation, 'Microsoft.KeyVault/vaults/secrets').filter(isWebhookSecret);
    const value = at(secret.body, 'properties.value');
    return isUnresolved(value) ? value.text : value;
  };

  it('keeps its value on a redeploy from the portal or the CLI: derived from a key Azure keeps, never a new random default', () => {
    // A portal or CLI deployment passes nothing: the default must give the same key every time.
    expect(template.parameters!.webhookSigningKey).toMatchObject({ type: 'securestring', defaultValue: '' });
    for (const mode of ['key', 'entra']) {
      const first = webhookValue(deploy({ openAiAuthMode: mode }));
      expect(first, mode).toEqual(webhookValue(deploy({ openAiAuthMode: mode, alertEmail: 'ops@example.com' })));
      // Two name-based GUIDs of key1 of the storage account this deployment creates: secret, and stable.
      const storage = one(deploy(), 'Microsoft.Storage/storageAccounts').name as string;
      expect(first).toBe(
        [1, 2]
          .map(
            (n) =>
              `guid(index(listKeys(resourceId('Microsoft.Storage/storageAccounts', '${storage}'), '2025-06-01').keys, 0).value, 'webhook-signing-key', '${n}')`,
          )
          .reduce((a, b) => `format('{0}{1}', ${a}, ${b})`),
      );
    }
    // Nothing in the template makes a new value per deployment.
    for (const s of strings(template)) expect(s.value, s.path).not.toMatch(/newGuid\(|utcNow\(/i);
  });

  it('is a secure parameter that goes into the vault in both modes and nowhere else', () => {
    for (const mode of ['key', 'entra']) {
      const evaluation = deploy({ openAiAuthMode: mode, webhookSigningKey: 'the-signing-key-of-this-test' });
      const secrets = ofType(evaluation, 'Microsoft.KeyVault/vaults/secrets').filter(isWebhookSecret);
      expect(secrets, mode).toHaveLength(1);
      expect(at(secrets[0].body, 'properties.value'), mode).toBe('the-signing-key-of-this-test');
      const settings = appSettings(evaluation);
      expect(settings.WEBHOOK_SIGNING_SECRET_NAME, mode).toBe(WEBHOOK_SECRET);
      expect(settings.KEY_VAULT_URI, mode).toEqual(
        new Unresolved('reference', ['keyVault'], ['outputs', 'uri', 'value']),
      );
      // The value itself: in the secret only, never in a setting, an output or a tag.
      const elsewhere = JSON.stringify(
        evaluation.resources
          .filter((r) => !isWebhookSecret(r) && r.type !== 'Microsoft.Resources/deployments')
          .map((r) => r.body),
      );
      expect(elsewhere, mode).not.toContain('the-signing-key-of-this-test');
    }
    // Only the keyvault module takes it, and only to write that secret.
    const uses = strings(template).filter((s) => s.value.includes('webhookSigningKey'));
    for (const use of uses)
      expect(
        use.value === "[parameters('webhookSigningKey')]" ||
          /^\[if\(empty\(parameters\('webhookSigningKey'\)\), .*, parameters\('webhookSigningKey'\)\)\]$/.test(
            use.value,
          ),
        use.path,
      ).toBe(true);
    expect(uses.filter((u) => u.path.endsWith('.properties.value'))).toHaveLength(1);
  });
});

describe('infra/main.json: roles', () => {
  // Built-in role definition IDs: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
  // Each role, and the one kind of resource it may be assigned on.
  const ROLES: Record<string, { id: string; scope: string }> = {
    'Storage Blob Data Owner': {
      id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
      scope: 'Microsoft.Storage/storageAccounts',
    },
    'Storage Queue Data Contributor': {
      id: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
      scope: 'Microsoft.Storage/storageAccounts',
    },
    'Storage Table Data Contributor': {
      id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
      scope: 'Microsoft.Storage/storageAccounts',
    },
    // Only on the secrets the app reads, one by one: never the whole vault.
    'Key Vault Secrets User': {
      id: '4633458b-17de-408a-b874-0445c86b69e6',
      scope: 'Microsoft.KeyVault/vaults/secrets',
    },
    'Key Vault Secrets Officer': { id: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7', scope: 'Microsoft.KeyVault/vaults' },
    'Cognitive Services OpenAI User': {
      id: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd',
      scope: 'Microsoft.CognitiveServices/accounts',
    },
    'Monitoring Metrics Publisher': {
      id: '3913510d-42f4-4e42-8a64-420c390055eb',
      scope: 'Microsoft.Insights/components',
    },
  };
  const roleName = (id: string) => Object.entries(ROLES).find(([, r]) => r.id === id)?.[0];

  interface Grant {
    principal: string;
    role: string;
    scope: string;
    /** The name of the resource it is on. */
    resource: unknown;
  }

  /** Every role assignment: who (the app's identity or the developer's principalId), which role, on what. */
  function grants(evaluation: Evaluation): Grant[] {
    return ofType(evaluation, 'Microsoft.Authorization/roleAssignments').map((a) => {
      const definition = at(a.body, 'properties.roleDefinitionId');
      expect(isUnresolved(definition) && definition.fn, a.id).toBe('subscriptionResourceId');
      const [definitionType, guid] = (definition as Unresolved).args;
      expect(definitionType).toBe('Microsoft.Authorization/roleDefinitions');
      const role = roleName(String(guid));
      expect(role, `${a.id}: role ${String(guid)} is not one of the roles this app may hold`).toBeDefined();
      // On one resource: an id of a resource, never the resource group or the subscription.
      const scope = idOf(a.body.scope);
      expect(scope, `${a.id} is scoped to one resource`).toBeDefined();
      const principalId = at(a.body, 'properties.principalId');
      const principal =
        isUnresolved(principalId) && principalId.text === "reference('identity').outputs.principalId.value"
          ? 'app'
          : `developer:${String(principalId)}`;
      expect(at(a.body, 'properties.principalType'), a.id).toBe(principal === 'app' ? 'ServicePrincipal' : 'User');
      // Named after what it grants, so that a second deployment finds it rather than adds one.
      expect(a.raw.name, a.id).toMatch(/^\[guid\(resourceId\(/);
      return { principal, role: role!, scope: scope!.type, resource: scope!.names.at(-1) };
    });
  }

  it.each(SCENARIOS)('%s: every role is a data-plane role on the one kind of resource it is for', (_, parameters) => {
    const all = grants(deploy(parameters));
    expect(all.length).toBeGreaterThan(3);
    for (const grant of all) expect(grant.scope, `${grant.principal} ${grant.role}`).toBe(ROLES[grant.role].scope);
  });

  it("gives the app identity what it needs and no more: the vault's secrets (the key in key mode, the webhook signing key always), the model in entra mode", () => {
    const forApp = (parameters: Record<string, unknown>) =>
      [
        ...new Set(
          grants(deploy(parameters))
            .filter((g) => g.principal === 'app')
            .map((g) => g.role),
        ),
      ].sort();
    const always = [
      'Storage Blob Data Owner',
      'Storage Queue Data Contributor',
      'Storage Table Data Contributor',
      'Monitoring Metrics Publisher',
    ];
    expect(forApp({})).toEqual([...always, 'Key Vault Secrets User'].sort());
    expect(forApp({ openAiAuthMode: 'entra' })).toEqual(
      [...always, 'Key Vault Secrets User', 'Cognitive Services OpenAI User'].sort(),
    );
    // Several regions: the model role on each account, and on nothing else; still the one vault role in key mode.
    expect(forApp({ openAiRegions: REGIONS })).toEqual([...always, 'Key Vault Secrets User'].sort());
    const evaluation = deploy({ openAiRegions: REGIONS, openAiAuthMode: 'entra' });
    const onModels = grants(evaluation).filter(
      (g) => g.principal === 'app' && g.role === 'Cognitive Services OpenAI User',
    );
    expect(onModels.map((g) => g.resource)).toEqual(
      ofType(evaluation, 'Microsoft.CognitiveServices/accounts').map((a) => a.name),
    );
  });

  it.each(SCENARIOS)(
    '%s: gives the app Key Vault Secrets User on exactly the secrets it reads, each one created by the deployment',
    (_, parameters) => {
      const evaluation = deploy(parameters);
      const onSecrets = grants(evaluation).filter((g) => g.role === 'Key Vault Secrets User');
      expect(new Set(onSecrets.map((g) => g.principal))).toEqual(new Set(['app']));
      // What the app reads: WEBHOOK_SIGNING_SECRET_NAME always, and each backend's keyVaultSecretName in key mode.
      const settings = appSettings(evaluation);
      const [backends] = ofType(evaluation, 'Microsoft.Resources/deployments').filter(
        (d) => d.name === 'backends-setting',
      );
      const keySecretNames = (backends.parameters!.backendsPerAccount as { keyVaultSecretName?: string }[][])
        .flat()
        .flatMap((b) => (b.keyVaultSecretName ? [b.keyVaultSecretName] : []));
      const reads = [...new Set([String(settings.WEBHOOK_SIGNING_SECRET_NAME), ...keySecretNames])].sort();
      expect(onSecrets.map((g) => String(g.resource)).sort()).toEqual(reads);
      const created = ofType(evaluation, 'Microsoft.KeyVault/vaults/secrets').map((secret) =>
        String(secret.name).split('/').at(-1),
      );
      for (const name of reads) expect(created, name).toContain(name);
    },
  );

  it('gives the developer (principalId, by default whoever deploys) data-plane roles, and nobody when it is empty or grantDeveloperRoles is off', () => {
    expect(template.parameters!.grantDeveloperRoles).toMatchObject({ type: 'bool', defaultValue: true });
    expect(template.parameters!.principalId.defaultValue).toBe('[deployer().objectId]');
    const developer = (parameters: Record<string, unknown>) =>
      grants(deploy(parameters)).filter((g) => g.principal !== 'app');
    expect(developer({ principalId: '' })).toEqual([]);
    expect(developer({ grantDeveloperRoles: false })).toEqual([]);
    expect(developer({ grantDeveloperRoles: false, principalId: '11111111-2222-3333-4444-555555555555' })).toEqual([]);
    const roles = developer({ principalId: '11111111-2222-3333-4444-555555555555' });
    expect(new Set(roles.map((g) => g.principal))).toEqual(new Set(['developer:11111111-2222-3333-4444-555555555555']));
    expect(roles.map((g) => g.role).sort()).toEqual([
      'Cognitive Services OpenAI User',
      'Key Vault Secrets Officer',
      'Storage Blob Data Owner',
      'Storage Queue Data Contributor',
      'Storage Table Data Contributor',
    ]);
    // By default the one who deploys.
    expect(new Set(developer({}).map((g) => g.principal))).toEqual(new Set([`developer:${DEPLOYER}`]));
  });

  it('matches the table of roles in docs/deploy.md: each row a role the template assigns, each role the template assigns a row', () => {
    const WHO: Record<string, string> = { app: "the app's identity", developer: 'the developer' };
    const ON: Record<string, string> = {
      'Microsoft.Storage/storageAccounts': 'the storage account',
      'Microsoft.Insights/components': 'Application Insights',
      'Microsoft.KeyVault/vaults/secrets': 'each secret it reads',
      'Microsoft.KeyVault/vaults': 'the vault',
      'Microsoft.CognitiveServices/accounts': 'each Azure OpenAI account',
    };
    const fromTemplate = new Set(
      SCENARIOS.flatMap(([, parameters]) => grants(deploy(parameters))).map(
        (g) => `${WHO[g.principal.split(':')[0]]} | ${g.role} | ${ON[g.scope]}`,
      ),
    );
    const doc = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
    const table = doc.slice(doc.indexOf('| who | role | on |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    expect(rows.length, "docs/deploy.md's table of roles").toBeGreaterThan(0);
    const fromReadme = new Set(
      rows.map((row) => {
        const [who, role, on] = row
          .split('|')
          .slice(1, 4)
          .map((cell) => cell.trim());
        const scope = Object.values(ON).find((phrase) => on.startsWith(phrase));
        return `${who} | ${role} | ${scope ?? on}`;
      }),
    );
    expect([...fromReadme].sort()).toEqual([...fromTemplate].sort());
  });
});

describe('infra/main.json: models', () => {
  const deployments = (evaluation: Evaluation) =>
    ofType(evaluation, 'Microsoft.CognitiveServices/accounts/deployments').map((d) => ({
      deployment: String(d.name).split('/').at(-1)!,
      model: at(d.body, 'properties.model.name') as string,
      version: at(d.body, 'properties.model.version') as string,
      format: at(d.body, 'properties.model.format'),
      sku: at(d.body, 'sku.name'),
      capacity: at(d.body, 'sku.capacity'),
    }));

  /** Every combination of the model switches. */
  const COMBINATIONS = [false, true].flatMap((deployGptImage15) =>
    [false, true].map((deployGptImage1Mini) => ({ deployGptImage15, deployGptImage1Mini })),
  );

  it.each(COMBINATIONS)('deploys only current models of src/lib/core/models.ts, at their versions: %o', (switches) => {
    const found = deployments(deploy(switches));
    expect(found.length).toBeGreaterThan(0);
    for (const d of found) {
      expect(isModelName(d.model), `${d.model} is in src/lib/core/models.ts`).toBe(true);
      const row = MODELS[d.model as keyof typeof MODELS];
      expect(d.version, `${d.model}'s version`).toBe(row.version);
      expect(row.lifecycle.stage, `${d.model} is not retired`).not.toBe('retired');
      expect(d.format).toBe('OpenAI');
      expect(d.sku).toBe('GlobalStandard');
    }
  });

  it('deploys gpt-image-2 by default, and gpt-image-1.5 and gpt-image-1-mini when asked, each with its capacity', () => {
    expect(deployments(deploy()).map((d) => [d.deployment, d.model, d.capacity])).toEqual([
      ['gpt-image-2', 'gpt-image-2', 2],
    ]);
    const all = deployments(
      deploy({
        deployGptImage15: true,
        deployGptImage1Mini: true,
        gptImage2Capacity: 6,
        gptImage15Capacity: 9,
        gptImage1MiniCapacity: 12,
      }),
    );
    expect(all.map((d) => [d.deployment, d.model, d.capacity])).toEqual([
      ['gpt-image-2', 'gpt-image-2', 6],
      ['gpt-image-1.5', 'gpt-image-1.5', 9],
      ['gpt-image-1-mini', 'gpt-image-1-mini', 12],
    ]);
    // One at a time: the account refuses concurrent changes to its deployments.
    const [first] = ofType(deploy(), 'Microsoft.CognitiveServices/accounts/deployments');
    expect(first.copy).toMatchObject({ mode: 'serial', batchSize: 1 });
  });

  it.each(COMBINATIONS)(
    'tells the app exactly what is deployed, with gpt-image-2 as default and successor: %o',
    (switches) => {
      const evaluation = deploy(switches);
      const settings = appSettings(evaluation);
      const pairs = deployments(evaluation).map((d) => `${d.deployment}=${d.model}`);
      expect(String(settings.AZURE_OPENAI_DEPLOYMENTS).split(',')).toEqual(pairs);
      expect(settings.AZURE_OPENAI_DEFAULT_DEPLOYMENT).toBe('gpt-image-2');
      expect(settings.AZURE_OPENAI_SUCCESSOR_DEPLOYMENT).toBe('gpt-image-2');
    },
  );

  it("deploys gpt-image-2 with a subscription's default quota, 2 units, and says the RPM it buys", () => {
    // Learn's quotas page: the image models' default quota is "2 capacity units (6 requests per minute)";
    // CONTRACT.md's 2026 Tier 1 table gives gpt-image-2 6 RPM. So a unit is 3 RPM.
    const RPM_PER_UNIT = 3;
    const capacity = template.parameters!.gptImage2Capacity;
    expect(capacity.defaultValue).toBe(2);
    expect(descriptionOf('gptImage2Capacity')).toContain(`${RPM_PER_UNIT} requests per minute`);
    expect(descriptionOf('gptImage2Capacity')).toContain(`${2 * RPM_PER_UNIT} RPM`);
  });

  /** Learn's how-to, 2026-04-17: "Registration is required to access gpt-image-1, gpt-image-1-mini, or gpt-image-1.5". */
  const NEEDS_ACCESS = 'needs an approved access application';
  const LIMITED = [
    { model: 'gpt-image-1.5', parameter: 'deployGptImage15' },
    { model: 'gpt-image-1-mini', parameter: 'deployGptImage1Mini' },
  ];

  it.each(LIMITED)(
    'labels $model "needs an approved access application" in the parameter, the form and docs/deploy.md, and leaves it off by default',
    ({ model, parameter }) => {
      const p = template.parameters![parameter];
      expect(p.defaultValue).toBe(false);
      expect(deployments(deploy()).map((d) => d.model)).not.toContain(model);
      expect(descriptionOf(parameter)).toMatch(new RegExp(`${NEEDS_ACCESS}.*\\(Learn, 2026-04-17\\)`, 'i'));
      const form = readFileSync(join(root, 'infra', 'createUiDefinition.json'), 'utf8');
      const control = (
        JSON.parse(form) as {
          parameters: {
            steps: { elements: { name: string; label: string; toolTip?: string; defaultValue?: unknown }[] }[];
          };
        }
      ).parameters.steps
        .flatMap((step) => step.elements)
        .find((e) => e.name === parameter);
      expect(control?.label, `the form's ${parameter}`).toContain(NEEDS_ACCESS);
      expect(control?.defaultValue ?? false).toBe(false);
      const doc = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${parameter}\` |`));
      expect(row, `docs/deploy.md's row of ${parameter}`).toContain(NEEDS_ACCESS);
    },
  );

  it('does not label gpt-image-2 as needing an access application (it needs none)', () => {
    expect(descriptionOf('gptImage2Capacity')).not.toContain(NEEDS_ACCESS);
  });

  it("asks azd for an Azure OpenAI region with gpt-image-2 quota, and for the app's region", () => {
    const parameters = template.parameters!;
    // azd lists only regions with quota for the default capacity.
    expect(parameters.openAiLocation.metadata?.azd).toEqual({
      type: 'location',
      usageName: [`OpenAI.GlobalStandard.gpt-image-2,${parameters.gptImage2Capacity.defaultValue as number}`],
    });
    expect(parameters.openAiLocation.defaultValue, 'no default: azd asks').toBeUndefined();
    expect(parameters.location.metadata?.azd).toEqual({ type: 'location' });
  });
});

describe('infra/main.json: app settings', () => {
  // AZURE_OPENAI_BACKENDS replaces AZURE_OPENAI_ENDPOINT in Azure: the code refuses the two together.
  // Secrets live in the vault: never a key in a setting.
  const NEVER_IN_AZURE = [
    'AZURE_OPENAI_API_KEY',
    'WEBHOOK_SIGNING_KEY',
    'AzureWebJobsStorage',
    'AZURE_OPENAI_ENDPOINT',
  ];
  /** Settings with a code default, or that only matter locally, may be left out. */
  const hasDefault = (name: string) => {
    const field = settingsSchema.in.shape[name as keyof typeof settingsSchema.in.shape];
    return field.safeParse(undefined).success && field.parse(undefined) !== undefined;
  };
  /** What only the deployment knows, whatever the code's default. */
  const DEPLOYMENT_DECIDES = [
    'AZURE_OPENAI_DEPLOYMENTS',
    'AZURE_OPENAI_AUTH',
    'KEY_VAULT_SECRET_NAME',
    'IMAGES_CONTAINER',
    'JOBS_CONTAINER',
    'WEBHOOK_SIGNING_SECRET_NAME',
    'BACKEND_STATE_TABLE',
    'CALLER_KEYS_TABLE',
    'USAGE_TABLE',
    'WEBHOOKS_TABLE',
    'IMAGE_INDEX_TABLE',
    'PRICE_TABLE',
  ];
  const REQUIRED_SETTINGS = [
    ...SETTING_NAMES.filter((n) => !NEVER_IN_AZURE.includes(n) && (!hasDefault(n) || DEPLOYMENT_DECIDES.includes(n))),
    // Identity-based host storage and Entra-authenticated telemetry.
    ...HOST_SETTING_NAMES,
  ];

  it('knows which settings have a code default (self-check of the rule below)', () => {
    expect(hasDefault('AZURE_OPENAI_TIMEOUT_SECONDS')).toBe(true);
    expect(hasDefault('AZURE_OPENAI_ENDPOINT')).toBe(false);
    expect(hasDefault('KEY_VAULT_URI')).toBe(false);
    expect(REQUIRED_SETTINGS).toEqual(
      expect.arrayContaining([
        'AZURE_OPENAI_BACKENDS',
        'AZURE_OPENAI_SUCCESSOR_DEPLOYMENT',
        'AzureWebJobsStorage__blobServiceUri',
        'AZURE_CLIENT_ID',
      ]),
    );
  });

  it.each(SCENARIOS)(
    '%s: sets every setting Azure needs, only names the code or the host reads, and no Flex-deprecated one',
    (_, parameters) => {
      const names = Object.keys(appSettings(deploy(parameters)));
      const known: readonly string[] = [...SETTING_NAMES, ...HOST_SETTING_NAMES];
      for (const name of names)
        expect(known, `${name} is read by src/lib/platform/settings.ts or the host`).toContain(name);
      for (const name of NEVER_IN_AZURE) expect(names).not.toContain(name);
      expect(names.sort()).toEqual(expect.arrayContaining(REQUIRED_SETTINGS));
      for (const s of strings(template))
        expect(s.value).not.toMatch(
          /^(FUNCTIONS_WORKER_RUNTIME|FUNCTIONS_EXTENSION_VERSION|WEBSITE_RUN_FROM_PACKAGE|WEBSITE_CONTENTSHARE)$/,
        );
    },
  );

  /** The account a backends entry's endpoint comes from: reference('openAi[i]').outputs.endpoint.value. */
  const accountOf = (endpoint: unknown) =>
    Number(/^reference\('openAi\[(\d+)\]'\)\.outputs\.endpoint\.value$/.exec((endpoint as Unresolved).text)?.[1]);
  const sampleEndpoint = (account: number) => `https://cog-x-${account}.openai.azure.com/`;

  /** AZURE_OPENAI_BACKENDS as Azure writes it: the backends-setting module's output, from what it is given. */
  function backendsSetting(evaluation: Evaluation): string {
    expect(appSettings(evaluation).AZURE_OPENAI_BACKENDS).toEqual(
      new Unresolved('reference', ['backends'], ['outputs', 'value', 'value']),
    );
    const [module] = ofType(evaluation, 'Microsoft.Resources/deployments').filter((d) => d.name === 'backends-setting');
    const output = (module.raw.properties as unknown as { template: Template }).template.outputs!.value.value;
    expect(output).toBe("[string(flatten(parameters('backendsPerAccount')))]");
    const entries = (module.parameters!.backendsPerAccount as Record<string, unknown>[][]).flat();
    return JSON.stringify(entries.map((entry) => ({ ...entry, endpoint: sampleEndpoint(accountOf(entry.endpoint)) })));
  }

  it.each([['key'], ['entra']])('%s mode: gives values the code accepts', (mode) => {
    const evaluation = deploy({ openAiAuthMode: mode });
    const settings = appSettings(evaluation);
    // What only Azure knows, by the output it comes from; everything else is the literal Azure receives.
    const SAMPLES: Record<string, string> = {
      "reference('backends').outputs.value.value": backendsSetting(evaluation),
      "reference('keyVault').outputs.uri.value": 'https://kv-x.vault.azure.net/',
      "reference('identity').outputs.clientId.value": '00000000-0000-0000-0000-000000000000',
      "reference('storage').outputs.blobEndpoint.value": 'https://stx.blob.core.windows.net/',
      "reference('storage').outputs.queueEndpoint.value": 'https://stx.queue.core.windows.net/',
      "reference('storage').outputs.tableEndpoint.value": 'https://stx.table.core.windows.net/',
      "reference('monitoring').outputs.connectionString.value":
        'InstrumentationKey=00000000-0000-0000-0000-000000000000',
      'environment().authentication.loginEndpoint': 'https://login.microsoftonline.com/',
    };
    const env = Object.fromEntries(
      Object.entries(settings).map(([name, value]) => {
        if (!isUnresolved(value)) return [name, String(value)];
        const sample =
          SAMPLES[value.text] ??
          (value.fn === 'format'
            ? (value.args[0] as string).replace('{0}', SAMPLES[(value.args[1] as Unresolved).text])
            : undefined);
        expect(sample, `a sample for ${name} = ${value.text}`).toBeDefined();
        return [name, sample];
      }),
    );
    const loaded = loadSettings(env);
    expect(loaded.AZURE_OPENAI_AUTH).toBe(mode);
    expect(loaded.AZURE_OPENAI_DEFAULT_DEPLOYMENT).toBe('gpt-image-2');
    // Both modes read the webhook signing key from the vault.
    expect(loaded.KEY_VAULT_URI).toBe('https://kv-x.vault.azure.net/');
    expect(loaded.WEBHOOK_SIGNING_KEY).toBeUndefined();
    expect([...loaded.AZURE_OPENAI_DEPLOYMENTS.keys()]).toContain(loaded.AZURE_OPENAI_SUCCESSOR_DEPLOYMENT);
    expect(loaded.AZURE_OPENAI_BACKENDS).toHaveLength(1);
  });

  it.each([['key'], ['entra']])(
    "%s mode, three regions: one backend per region and deployment, each region at its priority, with its account's endpoint and secret",
    (mode) => {
      const evaluation = deploy({ openAiAuthMode: mode, openAiRegions: REGIONS, deployGptImage1Mini: true });
      const modules = ofType(evaluation, 'Microsoft.Resources/deployments');
      const accounts = ofType(evaluation, 'Microsoft.CognitiveServices/accounts');
      const text = backendsSetting(evaluation);
      const loaded = loadSettings({
        AZURE_OPENAI_BACKENDS: text,
        AZURE_OPENAI_DEPLOYMENTS: String(appSettings(evaluation).AZURE_OPENAI_DEPLOYMENTS),
        AZURE_OPENAI_AUTH: mode,
        KEY_VAULT_URI: 'https://kv-x.vault.azure.net/',
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      });
      const backends = loaded.AZURE_OPENAI_BACKENDS!;
      expect(backends.map((b) => [b.region, b.deployment, b.priority])).toEqual(
        REGIONS.flatMap((r) => ['gpt-image-2', 'gpt-image-1-mini'].map((d) => [r.location, d, r.priority])),
      );
      const secrets = keySecrets(evaluation).map((s) => String(s.name).split('/').at(-1));
      for (const backend of backends) {
        // The endpoint of the account in the backend's region, from the openai module deployed there.
        const account = REGIONS.findIndex((r) => r.location === backend.region);
        expect(backend.endpoint).toBe(sampleEndpoint(account));
        const openAiModule = modules.find((m) => m.symbol === 'openAi' && m.id.endsWith(`[${account}]`))!;
        expect(openAiModule.parameters!.location).toBe(backend.region);
        expect(openAiModule.parameters!.name).toBe(accounts[account].name);
        expect(backend.auth).toBe(mode);
        if (mode === 'key') expect(secrets[account]).toBe(backend.keyVaultSecretName);
        else expect(backend.keyVaultSecretName).toBeUndefined();
      }
    },
  );

  it('offers exactly the auth modes the code knows', () => {
    expect([...(template.parameters!.openAiAuthMode.allowedValues as string[])].sort()).toEqual(
      [...settingsSchema.in.shape.AZURE_OPENAI_AUTH.unwrap().options].sort(),
    );
  });
});

describe('infra/main.json: storage, clean-up and cost', () => {
  it('creates the containers, queues and tables the code uses, and the deployment container the app pulls from', () => {
    const evaluation = deploy();
    const containers = ofType(evaluation, 'Microsoft.Storage/storageAccounts/blobServices/containers').map((c) =>
      at(c.body, 'name'),
    );
    const container = (n: unknown) => (isUnresolved(n) ? n : String(n).split('/').at(-1));
    const names = containers.map(container);
    const settings = appSettings(evaluation);
    expect(names).toEqual(expect.arrayContaining([settings.IMAGES_CONTAINER, settings.JOBS_CONTAINER]));
    const queues = ofType(evaluation, 'Microsoft.Storage/storageAccounts/queueServices/queues').map((q) =>
      String(q.name).split('/').at(-1),
    );
    expect(queues.sort()).toEqual(Object.values(QUEUES).sort());
    // Every table the code names (the *_TABLE settings; PRICE_TABLE is a price list, not a table) is set and created.
    const tableSettings = Object.keys(settingsSchema.in.shape).filter(
      (k) => k.endsWith('_TABLE') && k !== 'PRICE_TABLE',
    );
    expect(tableSettings.length).toBeGreaterThanOrEqual(4);
    const tables = ofType(evaluation, 'Microsoft.Storage/storageAccounts/tableServices/tables').map((t) =>
      String(t.name).split('/').at(-1),
    );
    expect(tables.sort()).toEqual(tableSettings.map((k) => settings[k]).sort());
    const site = one(evaluation, 'Microsoft.Web/sites');
    const packageUrl = at(site.body, 'properties.functionAppConfig.deployment.storage.value') as Unresolved;
    // format('{0}{1}', blobEndpoint, 'app-package-<token>'): a container this deployment creates.
    const deploymentContainer = packageUrl.args[2];
    expect(names.map((n) => (isUnresolved(n) ? n.text : n))).toContain(
      isUnresolved(deploymentContainer) ? deploymentContainer.text : deploymentContainer,
    );
    expect(at(site.body, 'properties.functionAppConfig.deployment.storage.authentication.type')).toBe(
      'UserAssignedIdentity',
    );
  });

  const rules = (evaluation: Evaluation) =>
    at(one(evaluation, 'Microsoft.Storage/storageAccounts/managementPolicies').body, 'properties.policy.rules') as {
      name: string;
      definition: {
        filters: { prefixMatch: string[] };
        actions: { baseBlob: Record<string, { daysAfterModificationGreaterThan: number }> };
      };
    }[];

  it('deletes job state and Idempotency-Key entries after jobRetentionDays, never before the code forgets them', () => {
    const evaluation = deploy({ jobRetentionDays: 3 });
    const jobs = appSettings(evaluation).JOBS_CONTAINER;
    const deletes = rules(evaluation).filter((r) => r.definition.actions.baseBlob.delete);
    expect(deletes).toHaveLength(1);
    expect(deletes[0].definition.filters.prefixMatch).toEqual([`${String(jobs)}/`]);
    expect(deletes[0].definition.actions.baseBlob.delete.daysAfterModificationGreaterThan).toBe(3);
    // The shortest retention the template allows still outlives an Idempotency-Key.
    const shortest = template.parameters!.jobRetentionDays.minValue!;
    expect(shortest * 24).toBeGreaterThanOrEqual(settingsSchema.in.shape.IDEMPOTENCY_TTL_HOURS.parse(undefined));
  });

  it('moves images to Cool after imagesCoolAfterDays, and keeps them Hot by default; the deployment package is never touched', () => {
    expect(rules(deploy()).filter((r) => r.definition.actions.baseBlob.tierToCool)).toEqual([]);
    const evaluation = deploy({ imagesCoolAfterDays: 30 });
    const cool = rules(evaluation).filter((r) => r.definition.actions.baseBlob.tierToCool);
    expect(cool).toHaveLength(1);
    expect(cool[0].definition.filters.prefixMatch).toEqual([`${String(appSettings(evaluation).IMAGES_CONTAINER)}/`]);
    expect(cool[0].definition.actions.baseBlob.tierToCool.daysAfterModificationGreaterThan).toBe(30);
    for (const rule of rules(evaluation))
      for (const prefix of rule.definition.filters.prefixMatch) expect(prefix).not.toMatch(/^app-package/);
  });

  it('with appServiceAuthClientId, tells the app which Entra ID tokens to take; never App Service authentication, which Flex Consumption lacks', () => {
    const off = deploy();
    expect([appSettings(off).ENTRA_TENANT_ID, appSettings(off).ENTRA_AUDIENCE]).toEqual(['', '']);
    const clientId = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
    const on = deploy({ appServiceAuthClientId: clientId });
    // Nothing may vouch for x-ms-client-principal: no authsettingsV2, on or off.
    for (const evaluation of [off, on])
      expect(
        ofType(evaluation, 'Microsoft.Web/sites/config').map((c) => String(c.name).split('/').at(-1)),
      ).not.toContain('authsettingsV2');
    expect(appSettings(on).ENTRA_AUDIENCE).toBe(`${clientId},api://${clientId}`);
    // The tenant and sign-in host of the cloud deployed to, never hard-coded ones.
    for (const [name, expression] of [
      ['ENTRA_TENANT_ID', /tenant\(\)\.tenantId/],
      ['ENTRA_AUTHORITY_HOST', /environment\(\)\.authentication\.loginEndpoint/],
    ] as const) {
      const value = appSettings(on)[name];
      expect(isUnresolved(value) ? value.text : value, name).toMatch(expression);
    }
    expect(appSettings(on)).not.toHaveProperty('PLATFORM_AUTH_ENABLED');
  });

  it('runs the app on Flex Consumption, which scales to zero: nothing always ready', () => {
    const evaluation = deploy();
    const plan = one(evaluation, 'Microsoft.Web/serverfarms');
    expect(at(plan.body, 'sku')).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    const site = one(evaluation, 'Microsoft.Web/sites');
    expect(at(site.body, 'kind')).toBe('functionapp,linux');
    expect(at(site.body, 'properties.functionAppConfig.runtime')).toEqual({ name: 'node', version: '22' });
    expect(at(site.body, 'properties.functionAppConfig.scaleAndConcurrency.alwaysReady')).toBeUndefined();
    expect(at(site.body, 'tags')).toMatchObject({ 'azd-service-name': 'api' });
  });
});

describe('infra/main.json: monitoring', () => {
  const evaluation = deploy({ alertEmail: 'ops@example.com' });
  const workspace = "reference('monitoring').outputs.logAnalyticsId.value";
  const diagnostics = ofType(evaluation, 'Microsoft.Insights/diagnosticSettings');
  const on = (type: string) => diagnostics.filter((d) => idOf(d.body.scope)?.type === type);
  const categories = (d: Deployed) =>
    (at(d.body, 'properties.logs') as { category?: string; categoryGroup?: string; enabled: boolean }[])
      .filter((l) => l.enabled)
      .map((l) => l.category ?? l.categoryGroup);

  it('sends the Key Vault audit log (who read the key), storage writes and deletes, and Azure OpenAI logs to Log Analytics', () => {
    const expected: [string, string[]][] = [
      ['Microsoft.KeyVault/vaults', ['audit']],
      ['Microsoft.Storage/storageAccounts/blobServices', ['StorageWrite', 'StorageDelete']],
      ['Microsoft.Storage/storageAccounts/queueServices', ['StorageWrite', 'StorageDelete']],
      ['Microsoft.CognitiveServices/accounts', ['allLogs']],
    ];
    for (const [type, logs] of expected) {
      const [setting, ...more] = on(type);
      expect(setting, type).toBeDefined();
      expect(more, type).toEqual([]);
      expect(categories(setting), type).toEqual(logs);
      expect((at(setting.body, 'properties.workspaceId') as Unresolved).text, type).toBe(workspace);
    }
  });

  const alertRules = () => [
    ...ofType(evaluation, 'Microsoft.Insights/metricAlerts'),
    ...ofType(evaluation, 'Microsoft.Insights/scheduledQueryRules'),
  ];
  const scopeOf = (rule: Deployed) => (at(rule.body, 'properties.scopes') as Unresolved[])[0].text;

  it('alerts on failed requests, on a run of 429s from Azure OpenAI, and on any message in the poison queue', () => {
    const metric = (name: string) =>
      ofType(evaluation, 'Microsoft.Insights/metricAlerts').find(
        (a) => (at(a.body, 'properties.criteria.allOf') as { metricName: string }[])[0].metricName === name,
      );
    const failed = metric('requests/failed');
    expect(failed && scopeOf(failed)).toBe("reference('monitoring').outputs.appInsightsId.value");
    const throttled = metric('AzureOpenAIRequests');
    expect(throttled && scopeOf(throttled)).toBe("reference('openAi[0]').outputs.id.value");
    const [poison] = ofType(evaluation, 'Microsoft.Insights/scheduledQueryRules');
    expect(scopeOf(poison)).toBe(workspace);
    const [criterion] = at(poison.body, 'properties.criteria.allOf') as {
      query: string;
      operator: string;
      threshold: number;
    }[];
    expect(criterion.query).toContain('StorageQueueLogs');
    expect(criterion.query).toContain('"PutMessage"');
    expect(criterion.query).toContain(`/${QUEUES.poison}/messages`);
    expect([criterion.operator, criterion.threshold]).toEqual(['GreaterThan', 0]);
  });

  it('does not page on one failed request: a threshold of more than one failure in the window', () => {
    const failed = ofType(evaluation, 'Microsoft.Insights/metricAlerts').filter(
      (a) => (at(a.body, 'properties.criteria.allOf') as { metricName: string }[])[0].metricName === 'requests/failed',
    );
    expect(failed).toHaveLength(1);
    const [criterion] = at(failed[0].body, 'properties.criteria.allOf') as {
      operator: string;
      threshold: number;
      timeAggregation: string;
    }[];
    expect([criterion.operator, criterion.timeAggregation]).toEqual(['GreaterThan', 'Count']);
    // GreaterThan 0 fires on the first failure; the rule must need a run of them.
    expect(criterion.threshold).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ['one region', {}],
    ['three regions', { openAiRegions: REGIONS }],
    ['three regions, keyless', { openAiRegions: REGIONS, openAiAuthMode: 'entra' }],
  ])(
    '%s: one 429 rule per Azure OpenAI account, on AzureOpenAIRequests where StatusCode is 429 (never the legacy BlockedCalls)',
    (_, parameters) => {
      const deployed = deploy(parameters);
      const accounts = ofType(deployed, 'Microsoft.CognitiveServices/accounts');
      const rules = ofType(deployed, 'Microsoft.Insights/metricAlerts').filter((a) =>
        scopeOf(a).startsWith("reference('openAi["),
      );
      expect(rules.map(scopeOf)).toEqual(accounts.map((_a, i) => `reference('openAi[${i}]').outputs.id.value`));
      expect(new Set(rules.map((r) => r.name)).size).toBe(accounts.length);
      for (const rule of rules) {
        const criteria = at(rule.body, 'properties.criteria.allOf') as {
          metricName: string;
          metricNamespace: string;
          dimensions?: { name: string; operator: string; values: string[] }[];
          timeAggregation: string;
        }[];
        expect(criteria, rule.id).toHaveLength(1);
        expect(criteria[0]).toMatchObject({
          metricName: 'AzureOpenAIRequests',
          metricNamespace: 'Microsoft.CognitiveServices/accounts',
          timeAggregation: 'Total',
        });
        expect(criteria[0].dimensions).toEqual([{ name: 'StatusCode', operator: 'Include', values: ['429'] }]);
      }
      for (const s of strings(template)) expect(s.value, s.path).not.toBe('BlockedCalls');
    },
  );

  it.each(SCENARIOS)(
    '%s: skips query validation on every log alert that reads the workspace this deployment creates (its tables do not exist yet on a first deployment)',
    (_, parameters) => {
      const deployed = deploy(parameters);
      const rules = ofType(deployed, 'Microsoft.Insights/scheduledQueryRules');
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        // The workspace is one this deployment creates: the monitoring module's output.
        expect(scopeOf(rule)).toBe(workspace);
        expect(at(rule.body, 'properties.skipQueryValidation'), rule.id).toBe(true);
      }
    },
  );

  it('notifies the alert e-mail through an action group when one is given, and creates none without', () => {
    const [group] = ofType(evaluation, 'Microsoft.Insights/actionGroups');
    expect(at(group.body, 'properties.emailReceivers')).toEqual([
      { name: 'email', emailAddress: 'ops@example.com', useCommonAlertSchema: true },
    ]);
    for (const rule of alertRules()) {
      const actions = rule.type.endsWith('metricAlerts')
        ? (at(rule.body, 'properties.actions') as { actionGroupId: unknown }[]).map((a) => a.actionGroupId)
        : (at(rule.body, 'properties.actions.actionGroups') as unknown[]);
      expect(
        actions.map((a) => idOf(a)?.type),
        rule.id,
      ).toEqual(['Microsoft.Insights/actionGroups']);
    }
    const quiet = deploy();
    expect(ofType(quiet, 'Microsoft.Insights/actionGroups')).toEqual([]);
    expect(
      ofType(quiet, 'Microsoft.Insights/metricAlerts').length +
        ofType(quiet, 'Microsoft.Insights/scheduledQueryRules').length,
    ).toBe(3);
    const regions = deploy({ openAiRegions: REGIONS, alertEmail: 'ops@example.com' });
    expect(
      ofType(regions, 'Microsoft.Insights/metricAlerts').length +
        ofType(regions, 'Microsoft.Insights/scheduledQueryRules').length,
    ).toBe(2 + REGIONS.length);
    for (const rule of ofType(regions, 'Microsoft.Insights/metricAlerts'))
      expect((at(rule.body, 'properties.actions') as unknown[]).length, rule.id).toBe(1);
  });
});

describe('infra: azd and the portal', () => {
  const parameters = template.parameters!;
  const required = Object.entries(parameters)
    .filter(([, p]) => !('defaultValue' in p))
    .map(([name]) => name);

  it('describes every parameter of every template', () => {
    for (const { modules, template: t } of deploy().templates) {
      for (const [name, p] of Object.entries(t.parameters ?? {}))
        expect(p.metadata?.description, `${modules.join('/') || 'main'} param ${name}`).toBeTruthy();
    }
  });

  it('fills main.parameters.json from the azd environment, with params main.bicep declares', () => {
    const json = JSON.parse(readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: unknown }>;
    };
    for (const name of Object.keys(json.parameters))
      expect(Object.keys(parameters), `main.parameters.json ${name}`).toContain(name);
    expect(Object.keys(json.parameters)).toEqual(expect.arrayContaining(required));
    const values = Object.values(json.parameters).map((p) => String(p.value));
    for (const value of values)
      expect(value).toMatch(
        /^\$\{[A-Z0-9_]+(=[^}]*)?\}$|^\$\(secretOrRandomPassword \$\{AZURE_KEY_VAULT_NAME\} [a-z-]+\)$/,
      );
    // azd keeps the webhook signing key the vault already has: a redeploy must not change it under the receivers.
    expect(json.parameters.webhookSigningKey.value).toBe(
      `$(secretOrRandomPassword \${AZURE_KEY_VAULT_NAME} ${WEBHOOK_SECRET})`,
    );
    for (const variable of ['AZURE_ENV_NAME', 'AZURE_LOCATION', 'AZURE_OPENAI_LOCATION', 'AZURE_PRINCIPAL_ID'])
      expect(values).toContain(`\${${variable}}`);
  });

  it('declares service api as a TypeScript function app that deploys dist/deploy as built, never rebuilt remotely', () => {
    const yaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    const service = /^services:\n {2}api:\n((?: {4}.*\n|\s*\n)+)/m.exec(yaml)?.[1] ?? '';
    const field = (key: string) => new RegExp(`^ {4}${key}: *(.+)$`, 'm').exec(service)?.[1]?.trim();
    expect(field('host')).toBe('function');
    expect(field('language')).toBe('ts');
    expect(field('project')).toBe('.');
    expect(field('remoteBuild')).toBe('false');
    expect(field('dist')).toBe('dist/deploy');
    expect(yaml).toMatch(/^ {2}path: infra$/m);
    // azd's npm steps: `npm run build`, then `npm run package`, which stages dist/deploy.
    const scripts = (
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.build).toMatch(/^npm run clean && /);
    expect(scripts.package).toBe('node dist/dev/build/package.js');
  });

  it("has a Deploy to Azure button in docs/deploy.md for this repository's infra/main.json and its form (package.json `repository`), and documents every parameter", () => {
    const doc = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
    const link =
      /\[!\[Deploy to Azure\]\([^)]+\)\]\((https:\/\/portal\.azure\.com\/#create\/Microsoft\.Template\/uri\/[^)]+)\)/.exec(
        doc,
      )?.[1];
    expect(link, 'a Deploy to Azure button').toBeDefined();
    const [, template, form] = /\/uri\/([^/]+)\/createUIDefinitionUri\/([^/]+)$/.exec(link!) ?? [];
    // The repository's address is package.json's `repository`: the one place a fork changes.
    const { repository } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      repository?: { type: string; url: string };
    };
    const slug = /^(?:git\+)?https:\/\/github\.com\/([\w.-]+\/[\w.-]+?)(?:\.git)?$/.exec(repository?.url ?? '')?.[1];
    expect(slug, 'package.json repository.url names a GitHub repository').toBeDefined();
    expect(slug).not.toMatch(/\bOWNER\b|\bREPO\b/);
    const raw = (file: string) => `https://raw.githubusercontent.com/${slug!}/main/infra/${file}`;
    const expected = `https://portal.azure.com/#create/Microsoft.Template/uri/${encodeURIComponent(raw('main.json'))}/createUIDefinitionUri/${encodeURIComponent(raw('createUiDefinition.json'))}`;
    expect(decodeURIComponent(template), `the button's template; the link is ${expected}`).toBe(raw('main.json'));
    expect(decodeURIComponent(form), `the button's form; the link is ${expected}`).toBe(raw('createUiDefinition.json'));
    expect(link).toBe(expected);
    const table = doc.slice(doc.indexOf('## Parameters'), doc.indexOf('## Clean-up'));
    for (const name of Object.keys(parameters))
      expect(table, `docs/deploy.md's parameter table names ${name}`).toContain(`| \`${name}\` |`);
  });

  it("runs the app on Node 22 or 24 (Node 20 left support on 2026-04-30), 22 by default, as package.json's engines say", () => {
    expect(parameters.nodeVersion.allowedValues).toEqual(['22', '24']);
    expect(parameters.nodeVersion.defaultValue).toBe('22');
    for (const version of ['22', '24']) {
      const site = one(deploy({ nodeVersion: version }), 'Microsoft.Web/sites');
      expect(at(site.body, 'properties.functionAppConfig.runtime')).toEqual({ name: 'node', version });
    }
    const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(engines.node).toBe('>=22');
  });

  /** Regions with Flex Consumption: the list of the azd Functions quickstart (Azure-Samples/functions-quickstart-typescript-azd, infra/main.bicep). */
  const FLEX_CONSUMPTION_REGIONS = [
    'australiaeast',
    'australiasoutheast',
    'brazilsouth',
    'canadacentral',
    'centralindia',
    'centralus',
    'eastasia',
    'eastus',
    'eastus2',
    'eastus2euap',
    'francecentral',
    'germanywestcentral',
    'italynorth',
    'japaneast',
    'koreacentral',
    'northcentralus',
    'northeurope',
    'norwayeast',
    'southafricanorth',
    'southcentralus',
    'southeastasia',
    'southindia',
    'spaincentral',
    'swedencentral',
    'uaenorth',
    'uksouth',
    'ukwest',
    'westcentralus',
    'westeurope',
    'westus',
    'westus2',
    'westus3',
  ];
  /** Regions that offer gpt-image-2 in Global Standard (Learn's region tables, 2026-04-30). */
  const GPT_IMAGE_2_REGIONS = ['eastus2', 'polandcentral', 'swedencentral', 'uaenorth', 'westus3'];

  it('allows only regions that offer Flex Consumption for the app, and only regions that offer gpt-image-2 for Azure OpenAI', () => {
    expect(parameters.location.allowedValues).toEqual(FLEX_CONSUMPTION_REGIONS);
    expect(parameters.openAiLocation.allowedValues).toEqual(GPT_IMAGE_2_REGIONS);
    // openAiRegions' locations too, through its type.
    const region = template.definitions!.openAiRegion as { properties: { location: { allowedValues: string[] } } };
    expect(region.properties.location.allowedValues).toEqual(GPT_IMAGE_2_REGIONS);
  });

  it('pins the azd release it was written against, and says how to make azd use the Bicep that builds infra/main.json', () => {
    const yaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(/^requiredVersions:\n {2}azd: '>= \d+\.\d+\.\d+'$/m);
    const azd = /^ {2}azd: '>= (\d+\.\d+\.\d+)'$/m.exec(yaml)![1];
    const doc = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
    const deploy = doc.slice(doc.indexOf('# Deploy'), doc.indexOf('## With azd'));
    expect(deploy, 'docs/deploy.md names the azd version').toContain(azd);
    // azd downloads a Bicep of its own; AZD_BICEP_TOOL_PATH replaces it (azure-dev cli/azd/pkg/tools/bicep).
    expect(deploy).toContain('AZD_BICEP_TOOL_PATH');
    expect(deploy).toContain(`Bicep ${BICEP_VERSION}`);
    expect(deploy).toContain(`--version v${BICEP_VERSION}`);
  });

  it('lets Key Vault be rebuilt after `azd down --purge`: purge protection stays, and a name suffix gives a new vault', () => {
    const p = parameters.keyVaultNameSuffix;
    expect(p.defaultValue).toBe('');
    // The trade-off is said where it is chosen.
    expect(descriptionOf('keyVaultNameSuffix')).toMatch(/purge protection/i);
    expect(descriptionOf('keyVaultNameSuffix')).toMatch(/azd down --purge/);
    const name = (suffix?: string) =>
      one(deploy(suffix === undefined ? {} : { keyVaultNameSuffix: suffix }), 'Microsoft.KeyVault/vaults')
        .name as string;
    const plain = name();
    expect(name('-2')).toBe(`${plain}-2`);
    // The longest suffix still gives a valid vault name: 3 to 24 letters, digits and hyphens.
    expect(`${plain}${'x'.repeat((p as { maxLength?: number }).maxLength ?? 0)}`).toMatch(
      /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/,
    );
    // Everything that names the vault follows it: the app's KEY_VAULT_URI comes from the vault itself.
    const secrets = ofType(deploy({ keyVaultNameSuffix: '-2' }), 'Microsoft.KeyVault/vaults/secrets');
    for (const secret of secrets) expect(String(secret.name).split('/')[0], secret.id).toBe(`${plain}-2`);
    expect(
      at(
        one(deploy({ keyVaultNameSuffix: '-2' }), 'Microsoft.KeyVault/vaults').body,
        'properties.enablePurgeProtection',
      ),
    ).toBe(true);
    const doc = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
    expect(doc).toContain('azd env set KEY_VAULT_NAME_SUFFIX');
  });

  describe('createUiDefinition.json (the Deploy to Azure form)', () => {
    const text = readFileSync(join(root, 'infra', 'createUiDefinition.json'), 'utf8');
    const ui = JSON.parse(text) as {
      $schema: string;
      handler: string;
      version: string;
      parameters: {
        config?: { basics?: { location?: { toolTip?: string; allowedValues?: string[] } } };
        basics: Control[];
        steps: { name: string; label: string; elements: Control[] }[];
        outputs: Record<string, string>;
      };
    };
    interface Control {
      name: string;
      type: string;
      label?: string;
      toolTip?: string;
      defaultValue?: unknown;
      constraints?: {
        allowedValues?: { label: string; value: unknown }[];
        required?: boolean;
        min?: number;
        max?: number;
        regex?: string;
        validationMessage?: string;
        validations?: Record<string, unknown>[];
      };
      elements?: Control[];
    }
    const controls = (list: Control[], path: string): [string, Control][] =>
      list.flatMap((c) => [
        [`${path}.${c.name}`, c] as [string, Control],
        ...controls(c.elements ?? [], `${path}.${c.name}`),
      ]);
    const all = new Map([
      ...controls(ui.parameters.basics, 'basics'),
      ...ui.parameters.steps.flatMap((s) => controls(s.elements, `steps('${s.name}')`)),
    ]);
    /** What an output reads, inside the int() or equals(..., true) that types it: basics('x') or steps('s').x.y. */
    const readOf = (output: string) =>
      /^\[(?:int\((.+)\)|equals\((.+), true\)|(.+))\]$/
        .exec(output)
        ?.slice(1)
        .find((x) => x !== undefined) ?? '';
    /** The control an output reads: [basics('x')] or [steps('s').x.y]. */
    const controlOf = (output: string) => {
      const read = readOf(output);
      const basics = /^basics\('(\w+)'\)$/.exec(read);
      if (basics) return all.get(`basics.${basics[1]}`);
      const step = /^steps\('(\w+)'\)((?:\.\w+)+)$/.exec(read);
      return step ? all.get(`steps('${step[1]}')${step[2]}`) : undefined;
    };

    /**
     * The form cannot know the signed-in user's object ID: the template's default, deployer(), is that user.
     * The form deploys one Azure OpenAI region (openAiLocation); several are for the CLI and azd.
     * The webhook signing key is the template's default: stable across redeploys (see its test above).
     */
    const LEFT_TO_THE_TEMPLATE = ['principalId', 'principalType', 'openAiRegions', 'webhookSigningKey'];

    it("is an Azure Resource Manager form whose outputs are the template's parameters", () => {
      expect(ui.handler).toBe('Microsoft.Azure.CreateUIDef');
      expect(Object.keys(ui.parameters.outputs).sort()).toEqual(
        Object.keys(parameters)
          .filter((n) => !LEFT_TO_THE_TEMPLATE.includes(n))
          .sort(),
      );
      for (const name of LEFT_TO_THE_TEMPLATE) expect(parameters[name].defaultValue, name).toBeDefined();
    });

    it('asks for each parameter with the values the template allows', () => {
      for (const [name, output] of Object.entries(ui.parameters.outputs)) {
        if (name === 'location' && output === '[location()]') continue;
        const control = controlOf(output);
        expect(control, `${name}: ${output} reads a control of the form`).toBeDefined();
        const p = parameters[name];
        if (p.allowedValues) {
          expect(control!.type, name).toBe('Microsoft.Common.DropDown');
          expect(
            control!.constraints!.allowedValues!.map((v) => v.value),
            name,
          ).toEqual(p.allowedValues);
        }
        if (p.type === 'bool') expect(control!.type, name).toBe('Microsoft.Common.CheckBox');
        if (p.type === 'int' && !p.allowedValues) {
          expect(control!.type, name).toBe('Microsoft.Common.Slider');
          expect([control!.constraints?.min, control!.constraints?.max], name).toEqual([
            p.minValue,
            p.maxValue ?? control!.constraints?.max,
          ]);
        }
        if (required.includes(name)) expect(control!.constraints?.required, `${name} is required`).toBe(true);
        if (
          'defaultValue' in p &&
          !(
            typeof p.defaultValue === 'object' ||
            (typeof p.defaultValue === 'string' && p.defaultValue.startsWith('['))
          ) &&
          control!.defaultValue !== undefined
        ) {
          // A drop-down's default is the label of one of its values.
          const shown = control!.defaultValue;
          const value = control!.constraints?.allowedValues?.find((v) => v.label === shown)?.value ?? shown;
          expect(value, `${name}'s default`).toEqual(p.defaultValue);
        }
      }
    });

    // The checks ARM-TTK (Azure/arm-ttk, arm-ttk/testcases/CreateUIDefinition) makes on a form, one test each.
    // Not applicable here, so not repeated: VM sizes, user names, password boxes and their confirmation
    // (the form asks for no VM, no user name and no secret), hideExisting (no resource selectors).
    describe('the checks ARM-TTK makes on it', () => {
      const elements = [...all.values()];

      it('CreateUIDefinition-Should-Have-Schema, Handler-Must-Be-Correct, CreateUIDefinition-Must-Have-Parameters', () => {
        expect(ui.$schema).toBe(
          'https://schema.management.azure.com/schemas/0.1.2-preview/CreateUIDefinition.MultiVm.json#',
        );
        expect(ui.version).toBe('0.1.2-preview');
        expect(ui.handler).toBe('Microsoft.Azure.CreateUIDef');
        expect(Object.keys(ui.parameters)).toEqual(expect.arrayContaining(['basics', 'steps', 'outputs']));
      });

      it('Tooltips-Should-Be-Present: every control but info boxes, sections and text blocks has a tool tip', () => {
        const NO_TOOLTIP = ['Microsoft.Common.InfoBox', 'Microsoft.Common.Section', 'Microsoft.Common.TextBlock'];
        for (const [path, control] of all) {
          if (!control.type.startsWith('Microsoft.') || NO_TOOLTIP.includes(control.type)) continue;
          expect(control.toolTip?.trim(), `${path} (${control.type}) has a toolTip`).toBeTruthy();
        }
        expect(ui.parameters.config?.basics?.location?.toolTip?.trim(), 'the region has a toolTip').toBeTruthy();
      });

      it('Textboxes-Are-Well-Formed: every text box has a regex that compiles and a validation message; an optional one takes nothing', () => {
        const boxes = elements.filter((c) => c.type === 'Microsoft.Common.TextBox');
        expect(boxes.length).toBeGreaterThan(3);
        for (const box of boxes) {
          expect(box.constraints?.regex, `${box.name}: constraints.regex`).toBeTruthy();
          expect(box.constraints?.validationMessage, `${box.name}: constraints.validationMessage`).toBeTruthy();
          const regex = new RegExp(box.constraints!.regex!);
          if (!box.constraints!.required)
            expect(regex.test(''), `${box.name} is optional: its regex takes an empty value`).toBe(true);
          // The template's default passes the form's own rule.
          const p = parameters[box.name];
          if (typeof p?.defaultValue === 'string' && !p.defaultValue.startsWith('['))
            expect(regex.test(p.defaultValue), `${box.name}'s default`).toBe(true);
        }
        // Spot checks that each regex refuses what the template would refuse.
        const regexOf = (name: string) => new RegExp(elements.find((c) => c.name === name)!.constraints!.regex!);
        expect(regexOf('environmentName').test('a'.repeat(65))).toBe(false);
        expect(regexOf('keyVaultNameSuffix').test('-toolong99')).toBe(false);
        expect(regexOf('keyVaultNameSuffix').test('-2')).toBe(true);
        expect(regexOf('priceTable').test('not json')).toBe(false);
        expect(regexOf('priceTable').test('{"models": {}}')).toBe(true);
      });

      it('Validations-Must-Have-Message: every validation has a message', () => {
        for (const control of elements)
          for (const validation of control.constraints?.validations ?? [])
            expect(validation.message, control.name).toBeTruthy();
      });

      it('Location-Should-Be-In-Outputs: outputs.location is [location()]', () => {
        expect(ui.parameters.outputs.location).toBe('[location()]');
      });

      it('Outputs-Must-Be-Present-In-Template-Parameters: each output is a parameter, and an int or bool one is typed by its first function', () => {
        const TYPED: Record<string, string[]> = {
          int: ['int', 'min', 'max', 'div', 'add', 'mod', 'mul', 'sub', 'copyIndex', 'length'],
          bool: [
            'equals',
            'less',
            'lessOrEquals',
            'greater',
            'greaterOrEquals',
            'and',
            'or',
            'not',
            'true',
            'false',
            'contains',
            'empty',
          ],
        };
        for (const [name, output] of Object.entries(ui.parameters.outputs)) {
          expect(parameters[name], `output ${name} is a template parameter`).toBeDefined();
          const allowed = TYPED[parameters[name].type.toLowerCase()];
          const first = /^\[\s*(\w+)\(/.exec(output)?.[1];
          if (allowed)
            expect(allowed, `output ${name} (${parameters[name].type}) begins with ${first}()`).toContain(first);
        }
      });

      it('Controls-In-Outputs-Must-Exist: every basics() and steps() an output reads is a control of the form', () => {
        for (const [name, output] of Object.entries(ui.parameters.outputs)) {
          for (const [, control] of output.matchAll(/basics\('([^']+)'\)/g))
            expect(all.has(`basics.${control}`), `${name}: basics('${control}')`).toBe(true);
          for (const [, step, element] of output.matchAll(/steps\('([^']+)'\)(?:\.(\w+))?/g)) {
            expect(
              ui.parameters.steps.map((s) => s.name),
              `${name}: step ${step}`,
            ).toContain(step);
            if (element)
              expect(all.has(`steps('${step}').${element}`), `${name}: steps('${step}').${element}`).toBe(true);
          }
        }
      });

      it('Parameters-Without-Default-Must-Exist-In-CreateUIDefinition', () => {
        for (const name of required) expect(Object.keys(ui.parameters.outputs), name).toContain(name);
      });

      it('Allowed-Values-Should-Actually-Be-Allowed: every value a drop-down (or the region) offers, and its default, the template allows', () => {
        for (const [name, output] of Object.entries(ui.parameters.outputs)) {
          const control = output === '[location()]' ? undefined : controlOf(output);
          const offered =
            output === '[location()]'
              ? ui.parameters.config?.basics?.location?.allowedValues
              : control?.constraints?.allowedValues?.map((v) => v.value);
          if (!offered) continue;
          const allowed = parameters[name].allowedValues;
          expect(allowed, `${name} has allowedValues in the template`).toBeDefined();
          for (const value of offered) expect(allowed, `${name}: ${String(value)}`).toContainEqual(value);
          if (control?.defaultValue !== undefined)
            expect(
              control.constraints!.allowedValues!.map((v) => v.label),
              `${name}'s default`,
            ).toContain(control.defaultValue);
        }
        // The region the form offers is exactly what the template allows.
        expect(ui.parameters.config?.basics?.location?.allowedValues).toEqual(parameters.location.allowedValues);
      });

      it('CreateUIDefinition-Must-Not-Have-Blanks: no empty object, array, string or null but in basics, steps and defaultValue', () => {
        const blanks = [...text.matchAll(/"([^"]+)"\s*:\s*(\{\s*\}|\[\s*\]|""|null)/g)].map((m) => m[1]);
        expect(blanks.filter((name) => !['basics', 'steps', 'defaultValue'].includes(name))).toEqual([]);
      });
    });
  });
});
