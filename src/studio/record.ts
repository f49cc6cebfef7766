import type { KeptRecord } from '../lib/images/store.js';
import { h } from './dom.js';

// A kept image's record, for people: requested against served model and parameters, what the
// content filter said, what it cost, which backend made it and how long it took. The record's type
// is the app's own (images/record.ts), imported as a type: nothing of the server reaches the page.

/** A record's parameters by name, whichever model's they are. */
const byName = (params: object | undefined): Record<string, unknown> => ({ ...params });

const show = (value: unknown) =>
  value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value);

export function costText(cost: KeptRecord['cost']): string {
  if (!cost) return '—';
  if (cost.unpriced) return `unpriced (${typeof cost.reason === 'string' ? cost.reason : 'no price'})`;
  const usd = typeof cost.usd === 'number' ? cost.usd.toFixed(4) : '?';
  return `$${usd}${cost.basis ? ` (${cost.basis === 'usage' ? "from the service's usage" : 'from the price table'})` : ''}`;
}

/** Each content filter category: filtered or not, and its severity. */
export function filterRows(results: unknown): [string, string][] {
  if (typeof results !== 'object' || results === null) return [];
  return Object.entries(results as Record<string, { filtered?: boolean; severity?: string; detected?: boolean }>)
    .filter(([, v]) => typeof v === 'object' && v !== null)
    .map(([category, v]) => [
      category,
      `${v.filtered ? 'filtered' : 'not filtered'}${v.severity ? `, severity ${v.severity}` : ''}${v.detected !== undefined ? `, ${v.detected ? 'detected' : 'not detected'}` : ''}`,
    ]);
}

export function filterTable(results: unknown, caption: string): HTMLTableElement | null {
  const rows = filterRows(results);
  if (rows.length === 0) return null;
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Category'), h('th', { scope: 'col' }, 'Result'))),
    h('tbody', {}, ...rows.map(([c, r]) => h('tr', {}, h('th', { scope: 'row' }, c), h('td', {}, r)))),
  );
}

export function renderRecord(record: KeptRecord): HTMLElement {
  const [requested, served, output] = [byName(record.requested), byName(record.served), byName(record.output)];
  const keys = [...new Set([...Object.keys(requested), ...Object.keys(served), ...Object.keys(output)])].sort();
  const row = (label: string, value: string) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'div',
    { class: 'record' },
    h(
      'dl',
      {},
      ...row('Prompt', record.prompt),
      ...row('Requested model', record.requested_model),
      ...row('Served by', `${record.served_model} (deployment ${record.deployment})`),
      ...row('Backend', record.backend ? `${record.backend.name} (${record.backend.region})` : 'the one account'),
      ...row('Cost', costText(record.cost)),
      ...row('Time taken', `${(record.duration_ms / 1000).toFixed(1)} s`),
      ...row('Created', new Date(record.created * 1000).toISOString()),
      ...row('Caller', record.caller ? `${record.caller.name} (${record.caller.kind})` : '—'),
    ),
    h(
      'table',
      {},
      h('caption', {}, 'Parameters: requested, served, made'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Parameter'),
          h('th', { scope: 'col' }, `Requested (${record.requested_model})`),
          h('th', { scope: 'col' }, `Served (${record.served_model})`),
          h('th', { scope: 'col' }, 'Made'),
        ),
      ),
      h(
        'tbody',
        {},
        ...keys.map((k) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, k),
            h('td', {}, show(requested[k])),
            h('td', {}, show(served[k])),
            h('td', {}, show(output[k])),
          ),
        ),
      ),
    ),
    filterTable(record.content_filter_results, 'Content filter: the image') ??
      h(
        'p',
        { class: 'message' },
        'Content filter: the service sent no results for this image (a streamed image carries none).',
      ),
  );
}
