import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { fromZodIssues, InvalidRequestError } from '../core/errors.js';
import { isJsonObject } from '../core/json.js';
import { MODEL_NAMES } from '../core/models.js';
import type { ImageRecord } from '../images/record.js';
import { ensureTable, usingStorage } from '../platform/storage.js';

// An index of the kept images in Table Storage, one entity per image, so that the gallery lists and
// filters without reading every record. The record blob stays the source of truth: the index is
// written after it, may lag or miss an entry (its write failing does not lose the image), and the
// backfill (npm run backfill) rebuilds it from the records.
//
// One partition per images container; the row key is the time the image was kept, inverted, so the
// table's own order (row keys ascending) is newest first, and a date range is a row-key range. Pages
// are keyset pages: the continuation is the last row key the caller was answered, so a page can end
// anywhere, even in the middle of one of the table's own pages.

/** Images a page holds. */
export const PAGE_SIZE = 50;
/** The prompt as the index keeps it: enough to show and to search; the record has it whole. */
export const INDEXED_PROMPT_LENGTH = 2000;
/** A prompt search reads the table's pages and matches here (Table Storage has no substring filter): at most this many entities a page, then it answers what it found with a continuation. */
export const SEARCH_SCAN_LIMIT = 5000;
const SEARCH_TIME_LIMIT_MS = 2_000;
/** The largest page the table answers. */
const TABLE_PAGE_MAX = 1000;

/** Milliseconds since 1970 fit in 13 digits until the year 2286. */
const TIME_DIGITS = 13;
const MAX_TIME = 10 ** TIME_DIGITS - 1;

/** An image blob's name: 2026/11/26/003145123-<uuid>-0.png (ImageStore.blobName). */
const BLOB_NAME = /^(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})(\d{2})(\d{2})(\d{3})-([0-9a-f-]{36}-\d+)\.\w+$/;

/** A blob name's time and what makes it unique at that time (uuid and index); undefined for a name the app does not give. */
function parseBlobName(blob: string): { time: number; unique: string } | undefined {
  const m = BLOB_NAME.exec(blob);
  return m ? { time: Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]), unique: m[8] } : undefined;
}

/** When an image was kept, from its blob name; undefined for a name the app does not give. */
export function keptAt(blob: string): Date | undefined {
  const parsed = parseBlobName(blob);
  return parsed && new Date(parsed.time);
}

const invertedTime = (ms: number) => String(MAX_TIME - ms).padStart(TIME_DIGITS, '0');

/** The row key of an image: newest first, unique, and the same every time it is worked out (the backfill overwrites, never duplicates). */
export function rowKeyOf(blob: string): string {
  const parsed = parseBlobName(blob);
  if (!parsed) throw new RangeError(`Not an image blob name: ${blob}`);
  return `${invertedTime(parsed.time)}-${parsed.unique}`;
}

/** One image as the gallery lists it. */
export const galleryItem = z
  .object({
    blob: z.string().describe("The image blob's name in the images container."),
    record: z.string().describe('The blob name of its JSON record.'),
    thumbnail: z
      .string()
      .optional()
      .describe(
        'The blob name of its WebP thumbnail; absent until one is made (npm run backfill makes the missing ones).',
      ),
    content_type: z.string().describe('The image file type.'),
    prompt: z.string().describe(`The prompt; its first ${INDEXED_PROMPT_LENGTH} characters.`),
    caller: z
      .string()
      .optional()
      .describe('Who spent it: a caller key name, a signed-in principal, anonymous or queue.'),
    requested_model: z.string().describe('The model the request named.'),
    served_model: z.string().describe('The model that made it.'),
    deployment: z.string().describe('The deployment that made it.'),
    size: z.string().optional().describe('Its size, as the service says it made it (or as asked).'),
    quality: z.string().optional().describe('Its quality, as the service says it made it (or as asked).'),
    output_format: z.string().optional().describe('The file format asked for.'),
    created: z.string().describe('When it was kept (ISO 8601).'),
    cost_usd: z.number().optional().describe('What it cost in USD; absent when unpriced.'),
  })
  .describe('A kept image, as the index lists it.');

export type GalleryItem = z.infer<typeof galleryItem>;

/** What the index keeps of a record (the record has been written beside the image by then). */
export function itemOf(record: ImageRecord & { blob: string; content_type?: string }, thumbnail?: string): GalleryItem {
  const usd = isJsonObject(record.cost) && typeof record.cost.usd === 'number' ? record.cost.usd : undefined;
  const size = record.output?.size ?? record.served?.size;
  const quality = record.output?.quality ?? record.served?.quality;
  return {
    blob: record.blob,
    record: `${record.blob}.json`,
    ...(thumbnail !== undefined && { thumbnail }),
    content_type: record.content_type ?? 'application/octet-stream',
    prompt: record.prompt.slice(0, INDEXED_PROMPT_LENGTH),
    ...(record.caller && { caller: record.caller.name }),
    requested_model: record.requested_model,
    served_model: record.served_model,
    deployment: record.deployment,
    ...(size !== undefined && { size }),
    ...(quality !== undefined && { quality }),
    ...(record.served?.output_format !== undefined && { output_format: record.served.output_format }),
    created: (keptAt(record.blob) ?? new Date(record.created * 1000)).toISOString(),
    ...(usd !== undefined && { cost_usd: usd }),
  };
}

const day = /^\d{4}-\d{2}-\d{2}$/;
/** A day's first moment, or the moment itself. */
const startOf = (v: string) => Date.parse(day.test(v) ? `${v}T00:00:00Z` : v);
/** A UTC day (YYYY-MM-DD) or an ISO 8601 moment. */
const moment = z
  .string()
  .refine(
    (v) => (day.test(v) || /^\d{4}-\d{2}-\d{2}T/.test(v)) && !Number.isNaN(startOf(v)),
    'must be a UTC day (YYYY-MM-DD) or an ISO 8601 time',
  );

/** The gallery's query string: filters, a search and where the page starts. */
export const galleryQuery = z
  .strictObject({
    caller: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe(
        "Only this caller's images: a caller key's name, `<provider>:<name>`, `anonymous` or `queue`. A caller key sees only its own images.",
      ),
    model: z
      .enum(MODEL_NAMES)
      .optional()
      .describe('Only images this model made or that asked for it (served or requested model).'),
    from: moment.optional().describe('Only images kept at or after this UTC day (YYYY-MM-DD) or time (ISO 8601).'),
    to: moment.optional().describe('Only images kept at or before this UTC day (the whole day) or time.'),
    q: z.string().min(1).max(200).optional().describe('Only images whose prompt holds this text, in any case.'),
    continuation: z
      .string()
      .regex(/^\d{13}-[0-9a-f-]{36}-\d+$/, 'must be the continuation a previous page answered')
      .optional()
      .describe('Where the page starts: the continuation the previous page answered.'),
  })
  .describe('Filters of the gallery.');

export type GalleryQuery = z.infer<typeof galleryQuery>;

export const galleryPage = z
  .object({
    data: z.array(galleryItem).describe(`The images, newest first; at most ${PAGE_SIZE}.`),
    continuation: z
      .string()
      .optional()
      .describe('Pass it back as continuation for the next page; absent on the last page.'),
    scanned: z.int().optional().describe('With q: how many images were read to find these.'),
  })
  .describe('A page of the gallery.');

export type GalleryPage = z.infer<typeof galleryPage>;

/** Parses the gallery's query string; a bad value is a 400 naming its parameter. */
export function parseGalleryQuery(param: (name: string) => string | undefined, names: Iterable<string>): GalleryQuery {
  const raw = Object.fromEntries([...names].map((name) => [name, param(name)]));
  const parsed = galleryQuery.safeParse(raw);
  if (!parsed.success) throw fromZodIssues(parsed.error.issues);
  const { from, to } = parsed.data;
  if (from !== undefined && to !== undefined && startOf(from) > endOf(to))
    throw new InvalidRequestError(`Invalid value for 'to': ${to} is before from (${from}).`, 'to');
  return parsed.data;
}

/** `to` as a day means the whole day. */
const endOf = (v: string) => (day.test(v) ? Date.parse(`${v}T00:00:00Z`) + 86_400_000 - 1 : Date.parse(v));

/** The table filter a query asks for (a prompt search is matched here, not by the table). */
export function tableFilter(partition: string, query: Omit<GalleryQuery, 'q'>): string {
  const parts = [odata`PartitionKey eq ${partition}`];
  if (query.continuation !== undefined) parts.push(odata`RowKey gt ${query.continuation}`);
  // Newer images have smaller row keys: `to` bounds from below, `from` from above.
  if (query.to !== undefined) parts.push(odata`RowKey ge ${invertedTime(Math.min(MAX_TIME, endOf(query.to)))}`);
  if (query.from !== undefined) parts.push(odata`RowKey lt ${invertedTime(Math.max(0, startOf(query.from)) - 1)}`);
  if (query.caller !== undefined) parts.push(odata`caller eq ${query.caller}`);
  if (query.model !== undefined)
    parts.push(odata`(served_model eq ${query.model} or requested_model eq ${query.model})`);
  return parts.join(' and ');
}

/** Whether an item's prompt holds the search text, in any case. */
export const matchesSearch = (item: Pick<GalleryItem, 'prompt'>, q: string): boolean =>
  item.prompt.toLowerCase().includes(q.toLowerCase());

type Entity = GalleryItem & { partitionKey: string; rowKey: string };

/** An image's entity in the index table: in its container's partition, at its row key. */
export const indexEntity = (partition: string, item: GalleryItem): Entity => ({
  partitionKey: partition,
  rowKey: rowKeyOf(item.blob),
  ...item,
});

const ITEM_FIELDS = Object.keys(galleryItem.shape) as (keyof GalleryItem)[];

function toItem(entity: Record<string, unknown>): GalleryItem {
  return Object.fromEntries(
    ITEM_FIELDS.flatMap((field) =>
      entity[field] === undefined || entity[field] === null ? [] : [[field, entity[field]]],
    ),
  ) as GalleryItem;
}

export class ImageIndex {
  constructor(
    private readonly table: TableClient,
    /** The images container: the partition its images are indexed in. */
    private readonly partition: string,
  ) {}

  /**
   * Writes (or rewrites) an image's entry. `Merge` leaves what the entry already has and the item
   * does not say: the entry written when an image is kept never takes away a thumbnail the queue
   * named first.
   */
  async put(item: GalleryItem, mode: 'Replace' | 'Merge' = 'Replace'): Promise<void> {
    const entity = indexEntity(this.partition, item);
    await usingStorage('Indexing the image', async () => {
      await ensureTable(this.table);
      await this.table.upsertEntity(entity, mode);
    });
  }

  /**
   * A page of images, newest first. Filters but the prompt search are the table's; the search reads
   * pages of the filtered rows and matches here, at most SEARCH_SCAN_LIMIT rows (or 2 s) a page: a
   * rare text answers fewer than PAGE_SIZE with a continuation, and the next page reads on.
   */
  async list(query: GalleryQuery, limits: { scan?: number; timeMs?: number } = {}): Promise<GalleryPage> {
    const { q, ...filters } = query;
    const scanLimit = limits.scan ?? SEARCH_SCAN_LIMIT;
    const deadline = Date.now() + (limits.timeMs ?? SEARCH_TIME_LIMIT_MS);
    return usingStorage('Listing the images', async () => {
      await ensureTable(this.table);
      const pages = this.table
        .listEntities<Record<string, unknown>>({
          queryOptions: { filter: tableFilter(this.partition, filters), select: ['RowKey', ...ITEM_FIELDS] },
        })
        .byPage({ maxPageSize: q === undefined ? PAGE_SIZE : TABLE_PAGE_MAX });
      const data: GalleryItem[] = [];
      let scanned = 0;
      let last: string | undefined;
      for await (const page of pages) {
        for (const entity of page) {
          scanned++;
          last = entity.rowKey;
          const item = toItem(entity);
          if (q === undefined || matchesSearch(item, q)) data.push(item);
          if (data.length === PAGE_SIZE || (q !== undefined && (scanned >= scanLimit || Date.now() > deadline))) {
            return { data, continuation: last, ...(q !== undefined && { scanned }) };
          }
        }
      }
      return { data, ...(q !== undefined && { scanned }) };
    });
  }
}
