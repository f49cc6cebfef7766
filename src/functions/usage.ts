import type { HttpRequest } from '@azure/functions';
import { NotFoundError } from '../lib/core/errors.js';
import { usageCsv, usageQuery } from '../lib/http/usageReport.js';
import { runtime } from '../lib/runtime.js';
import { byHost, json, route } from '../lib/http/answering.js';

// GET /api/usage?caller=&from=&to=&groupBy= (function key): totals from the usage ledger, as JSON or,
// with Accept: text/csv, as CSV.

async function usage(request: HttpRequest) {
  const rt = runtime();
  const query = usageQuery((name) => request.query.get(name) ?? undefined);
  if (!rt.ledger) throw new NotFoundError('No usage is kept: LEDGER_ENABLED is off.');
  const rows = await rt.ledger.totals(query);
  if (/\btext\/csv\b/i.test(request.headers.get('accept') ?? '')) {
    return { status: 200, body: usageCsv(rows, query.groupBy), headers: { 'content-type': 'text/csv; charset=utf-8' } };
  }
  return json(200, {
    from: query.from,
    to: query.to,
    ...(query.caller !== undefined && { caller: query.caller }),
    group_by: query.groupBy,
    data: rows,
  });
}

route('getUsage', 'GET', 'usage', byHost(usage));
