import { z } from 'zod';
import { fromZodIssues, InvalidRequestError } from '../core/errors.js';
import { utcDay, type UsageDimension, type UsageQuery, type UsageRow } from '../cost/ledger.js';

// GET /api/usage at the edge: its query string read into a ledger query (a zod schema, like the
// gallery's), and the ledger's rows written as CSV. The totals themselves are cost/ledger.ts's.

const DIMENSIONS: readonly [UsageDimension, ...UsageDimension[]] = ['day', 'caller', 'model'];
/** A year and a day: a query reads one partition per day. */
const MAX_DAYS = 366;

/** A real UTC day, as YYYY-MM-DD. */
const day = z
  .string()
  .refine(
    (value) =>
      /^\d{4}-\d{2}-\d{2}$/.test(value) &&
      !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) &&
      new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) === value,
    'expected a day as YYYY-MM-DD',
  );

/** The query string before its defaults, which depend on the day. `to` comes first: a bad one is named first. */
const usageQueryString = z.object({
  to: day.optional(),
  from: day.optional(),
  /** A comma-separated list of dimensions; all three when absent, one total when empty. */
  groupBy: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return [...DIMENSIONS];
      const named = text
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean);
      const unknown = named.find((d) => !(DIMENSIONS as readonly string[]).includes(d));
      if (unknown !== undefined)
        ctx.addIssue({ code: 'custom', message: `'${unknown}' is not one of ${DIMENSIONS.join(', ')}` });
      else if (new Set(named).size !== named.length)
        ctx.addIssue({ code: 'custom', message: 'a dimension is named twice' });
      return named as UsageDimension[];
    }),
  caller: z.string().optional(),
});

/**
 * GET /api/usage's query: `from` and `to` (YYYY-MM-DD, UTC, both included; today by default),
 * `caller`, and `groupBy` (a comma-separated list of day, caller and model; all three by default,
 * empty for one total). A bad one is an InvalidRequestError naming it.
 */
export function usageQuery(param: (name: string) => string | undefined, now = Date.now()): UsageQuery {
  const raw = Object.fromEntries(Object.keys(usageQueryString.shape).map((name) => [name, param(name)]));
  const parsed = usageQueryString.safeParse(raw);
  // The first fault only, as each parameter was checked in turn.
  if (!parsed.success) throw fromZodIssues(parsed.error.issues.slice(0, 1));
  const to = parsed.data.to ?? utcDay(now);
  const from = parsed.data.from ?? to;
  if (from > to) throw new InvalidRequestError("Invalid value for 'from': it is after 'to'.", 'from');
  if ((Date.parse(to) - Date.parse(from)) / 86_400_000 >= MAX_DAYS)
    throw new InvalidRequestError(`Invalid value for 'from': at most ${MAX_DAYS} days can be asked at once.`, 'from');
  const { groupBy, caller } = parsed.data;
  return { from, to, groupBy, ...(caller !== undefined && caller !== '' && { caller }) };
}

/** Usage rows as CSV (RFC 4180): the grouped dimensions, then the totals. */
export function usageCsv(rows: UsageRow[], groupBy: UsageDimension[]): string {
  const columns: (keyof UsageRow)[] = [...groupBy, 'requests', 'images', 'usd', 'unpriced_images'];
  const cell = (value: string | number | undefined) => {
    const text = String(value ?? '');
    // A spreadsheet runs a cell that starts like a formula: caller names come from outside.
    const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  return [columns.join(','), ...rows.map((row) => columns.map((c) => cell(row[c])).join(','))].join('\r\n') + '\r\n';
}
