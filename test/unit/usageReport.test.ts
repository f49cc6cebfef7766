import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/lib/core/errors.js';
import { usageCsv, usageQuery } from '../../src/lib/http/usageReport.js';

// GET /api/usage's edge: the query string read into a ledger query (defaults, bounds, the 400 that
// names the parameter), and rows written as CSV. The route itself: test/system/callers.test.ts.

const NOW = Date.parse('2026-12-02T15:00:00Z');
const query = (params: Record<string, string>) => usageQuery((name) => params[name], NOW);
const refusal = (params: Record<string, string>) => {
  try {
    query(params);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return { message: (err as InvalidRequestError).message, param: (err as InvalidRequestError).param };
  }
  throw new Error('no refusal');
};

describe('the usage query', () => {
  it('is today, every dimension, every caller by default; from defaults to to', () => {
    expect(query({})).toEqual({ from: '2026-12-02', to: '2026-12-02', groupBy: ['day', 'caller', 'model'] });
    expect(query({ to: '2026-11-30' })).toEqual({
      from: '2026-11-30',
      to: '2026-11-30',
      groupBy: ['day', 'caller', 'model'],
    });
  });

  it('takes days, a caller and the dimensions it names (trimmed; empty: one total); an empty caller is none', () => {
    expect(query({ from: '2026-11-01', to: '2026-11-30', caller: 'ann', groupBy: ' model , day,' })).toEqual({
      from: '2026-11-01',
      to: '2026-11-30',
      caller: 'ann',
      groupBy: ['model', 'day'],
    });
    expect(query({ groupBy: '', caller: '' })).toEqual({ from: '2026-12-02', to: '2026-12-02', groupBy: [] });
  });

  it('366 days at most, both ends included: 367 are refused', () => {
    expect(query({ from: '2025-12-01', to: '2026-12-01' }).from).toBe('2025-12-01');
    expect(refusal({ from: '2025-11-30', to: '2026-12-01' })).toEqual({
      message: "Invalid value for 'from': at most 366 days can be asked at once.",
      param: 'from',
    });
  });

  it.each([
    [{ to: '2026-2-01' }, "Invalid value for 'to': expected a day as YYYY-MM-DD.", 'to'],
    [{ to: '2026-02-30' }, "Invalid value for 'to': expected a day as YYYY-MM-DD.", 'to'],
    [{ from: 'yesterday' }, "Invalid value for 'from': expected a day as YYYY-MM-DD.", 'from'],
    [
      { to: 'soon', from: 'yesterday', groupBy: 'colour' },
      "Invalid value for 'to': expected a day as YYYY-MM-DD.",
      'to',
    ],
    [{ from: '2026-12-03' }, "Invalid value for 'from': it is after 'to'.", 'from'],
    [{ groupBy: 'day,colour' }, "Invalid value for 'groupBy': 'colour' is not one of day, caller, model.", 'groupBy'],
    [{ groupBy: 'day,model,day' }, "Invalid value for 'groupBy': a dimension is named twice.", 'groupBy'],
  ])('%o is refused, naming the parameter', (params, message, param) => {
    expect(refusal(params)).toEqual({ message, param });
  });
});

describe('the usage CSV', () => {
  it('has the grouped columns then the totals, CRLF lines, quoted where needed, formulas defused', () => {
    const rows = [
      { caller: 'ann, the first', model: 'gpt-image-2', requests: 2, images: 3, usd: 0.5, unpriced_images: 0 },
      { caller: '=HYPERLINK("x")', model: 'gpt-image-2', requests: 1, images: 1, usd: 0.25, unpriced_images: 1 },
    ];
    expect(usageCsv(rows, ['caller', 'model'])).toBe(
      'caller,model,requests,images,usd,unpriced_images\r\n"ann, the first",gpt-image-2,2,3,0.5,0\r\n"\'=HYPERLINK(""x"")",gpt-image-2,1,1,0.25,1\r\n',
    );
  });
});
