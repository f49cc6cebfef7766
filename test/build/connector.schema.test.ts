import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';

// The connector files against Microsoft's published schemas (../shared/power-platform/, beside the
// repository; CI puts a copy there): a connector that fails them is refused at import.

const ROOT = join(__dirname, '..', '..');
const SCHEMAS = join(ROOT, '..', 'shared', 'power-platform');
const present =
  existsSync(join(SCHEMAS, 'apiDefinition.swagger.schema.json')) &&
  existsSync(join(SCHEMAS, 'paconn-apiProperties.schema.json'));
// In CI the schemas must be there: a missing copy fails rather than passes unseen.
const skip = !present && process.env.CI !== 'true';
if (skip)
  console.warn(
    `connector.schema.test: skipped, Power Platform schemas not found at ${SCHEMAS} (CI=true makes this a failure).`,
  );

/** Microsoft's schema files carry `//` comments: JSON with them taken out, strings left whole. */
function readJsonc(path: string): Record<string, unknown> {
  const text = readFileSync(path, 'utf8').replace(
    /("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (_match, string?: string) => string ?? '',
  );
  return JSON.parse(text) as Record<string, unknown>;
}

const connectorFile = (name: string): unknown => JSON.parse(readFileSync(join(ROOT, 'connector', name), 'utf8'));

function errorsOf(ajv: Ajv, schema: Record<string, unknown>, document: unknown): string[] {
  const validate = ajv.compile(schema);
  return validate(document)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

describe.skipIf(skip)("Microsoft's Power Platform connector schemas", () => {
  it('are found beside the repository', () => {
    expect(present, `Power Platform schemas not found at ${SCHEMAS}`).toBe(true);
  });

  it('accept apiDefinition.swagger.json (Swagger 2.0 with x-ms extensions, draft-04)', () => {
    const ajv = new Ajv04({ allErrors: true, strict: false, logger: false });
    addFormats(ajv);
    expect(
      errorsOf(
        ajv,
        readJsonc(join(SCHEMAS, 'apiDefinition.swagger.schema.json')),
        connectorFile('apiDefinition.swagger.json'),
      ),
    ).toEqual([]);
  });

  it('accept apiProperties.json (paconn, draft-07)', () => {
    // The schema names itself with draft-04's `id`, which draft-07 does not know: it becomes `$id`.
    const { id, ...schema } = readJsonc(join(SCHEMAS, 'paconn-apiProperties.schema.json'));
    const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
    addFormats(ajv);
    expect(errorsOf(ajv, { $id: id, ...schema }, connectorFile('apiProperties.json'))).toEqual([]);
  });
});
