import { randomBytes, randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { CALLER_KEY_PREFIX, RESERVED_CALLER_NAMES, type Caller } from '../core/caller.js';
import { fromZodIssues } from '../core/errors.js';
import { isUuid, sha256 } from '../core/json.js';
import { CURRENT_MODELS, type ModelName } from '../core/models.js';
import { ensureTable, unless404, usingStorage } from '../platform/storage.js';
import { TtlCache } from '../platform/ttlCache.js';

// Caller keys, like API Management's subscription keys: each names a caller, with an optional daily
// budget and optional allowed models. The key is shown once, when it is created; the table keeps
// only its SHA-256. Lookups are cached per instance for AUTH_CACHE_TTL_SECONDS (at most a minute),
// so a revocation holds on every instance within it.

const PARTITION = 'callerkey';

export const callerKeyRequest = z.strictObject({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/,
      'must be 1 to 64 letters, digits, ., _, @ or -, starting with a letter or digit',
    )
    .refine((name) => !RESERVED_CALLER_NAMES.includes(name), `must not be one of ${RESERVED_CALLER_NAMES.join(', ')}`)
    .describe('Who spends with this key: usage and budgets go by this name. Several keys may share a name (rotation).'),
  daily_budget_usd: z
    .number()
    .min(0)
    .optional()
    .describe('USD this caller may spend per UTC day; CALLER_DAILY_BUDGET_USD when absent.'),
  models: z
    .array(z.enum(CURRENT_MODELS as [ModelName, ...ModelName[]]))
    .min(1)
    .optional()
    .describe('The models requests with this key may be served by; any when absent.'),
});

export const callerKeyInfo = z.object({
  id: z.string().describe('Names the key for revocation; not the key.'),
  ...callerKeyRequest.shape,
  created: z.string().describe('ISO 8601.'),
  revoked: z.string().optional().describe('ISO 8601: when it stopped working.'),
});

export type CallerKeyInfo = z.infer<typeof callerKeyInfo>;

interface Entity extends Omit<CallerKeyInfo, 'models'> {
  partitionKey: string;
  rowKey: string;
  /** JSON: a table holds no arrays. */
  models?: string;
}

export class CallerKeyStore {
  private readonly cache: TtlCache<Caller | undefined>;

  constructor(
    private readonly table: TableClient,
    ttlMs: number,
  ) {
    this.cache = new TtlCache(ttlMs);
  }

  /** Issues a key; the answer is the only place it ever appears. */
  async create(body: unknown): Promise<CallerKeyInfo & { key: string }> {
    const parsed = callerKeyRequest.safeParse(body);
    if (!parsed.success) throw fromZodIssues(parsed.error.issues);
    const key = `${CALLER_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const info: CallerKeyInfo = { id: randomUUID(), ...parsed.data, created: new Date().toISOString() };
    await usingStorage('Creating the caller key', async () => {
      await ensureTable(this.table);
      await this.table.createEntity(toEntity(sha256(key), info));
    });
    return { ...info, key };
  }

  list(): Promise<CallerKeyInfo[]> {
    return usingStorage('Listing the caller keys', async () => {
      await ensureTable(this.table);
      const keys: CallerKeyInfo[] = [];
      for await (const entity of this.table.listEntities<Entity>({
        queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` },
      }))
        keys.push(fromEntity(entity));
      return keys.sort((a, b) => a.created.localeCompare(b.created));
    });
  }

  /** Revokes a key by its id; undefined when there is no such key. */
  async revoke(id: string): Promise<CallerKeyInfo | undefined> {
    if (!isUuid(id)) return undefined;
    return usingStorage('Revoking the caller key', async () => {
      await ensureTable(this.table);
      for await (const entity of this.table.listEntities<Entity>({
        queryOptions: { filter: odata`PartitionKey eq ${PARTITION} and id eq ${id}` },
      })) {
        const revoked = entity.revoked ?? new Date().toISOString();
        await this.table.updateEntity({ partitionKey: PARTITION, rowKey: entity.rowKey, revoked }, 'Merge');
        this.cache.delete(entity.rowKey);
        return fromEntity({ ...entity, revoked });
      }
      return undefined;
    });
  }

  /** The caller a key names; undefined when it is unknown or revoked. */
  find(key: string): Promise<Caller | undefined> {
    const hash = sha256(key);
    return this.cache.get(hash, () =>
      usingStorage('Reading the caller key', async () => {
        // No table yet is no key yet.
        const entity = await unless404(() => this.table.getEntity<Entity>(PARTITION, hash));
        if (!entity || entity.revoked) return undefined;
        const { name, daily_budget_usd, models } = fromEntity(entity);
        return {
          name,
          kind: 'key' as const,
          ...(daily_budget_usd !== undefined && { daily_budget_usd }),
          ...(models && { models: models }),
        };
      }),
    );
  }
}

function toEntity(hash: string, { models, ...info }: CallerKeyInfo): Entity {
  return { partitionKey: PARTITION, rowKey: hash, ...info, ...(models && { models: JSON.stringify(models) }) };
}

function fromEntity(entity: Entity): CallerKeyInfo {
  const { id, name, daily_budget_usd, models, created, revoked } = entity;
  return {
    id,
    name,
    ...(typeof daily_budget_usd === 'number' && { daily_budget_usd }),
    ...(typeof models === 'string' && { models: JSON.parse(models) as CallerKeyInfo['models'] }),
    created,
    ...(typeof revoked === 'string' && { revoked }),
  };
}
