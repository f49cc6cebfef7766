import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jsonBytes } from '../../src/functions/shared/http.js';

// Answers are written as bytes with each b64_json spliced in (src/functions/shared/http.ts).

describe('jsonBytes', () => {
  const image = (size: number) => randomBytes(size).toString('base64');

  it('writes exactly what JSON.stringify would, for every image of an answer and every other field', () => {
    const body = {
      created: 1,
      data: [
        { url: 'https://st/images/a.png?sig=x"y', b64_json: image(70_000), storage: { blob: 'a.png' } },
        { url: 'https://st/images/b.png', b64_json: image(3), revised: 'a "quoted" \\ prompt\n' },
        { url: 'https://st/images/c.png' },
      ],
      usage: { total_tokens: 9 },
    };
    expect(jsonBytes(body).toString()).toBe(JSON.stringify(body));
    expect(jsonBytes({ b64_json: '' }).toString()).toBe('{"b64_json":""}');
    expect(jsonBytes([1, 'two', null]).toString()).toBe('[1,"two",null]');
  });

  it('never lets a b64_json that is not plain base64 break out of its string', () => {
    const hostile = `${image(30)}","injected":true,"x":"`;
    const parsed = JSON.parse(jsonBytes({ data: [{ b64_json: hostile, url: 'u' }] }).toString()) as { data: Record<string, unknown>[] };
    expect(parsed.data[0]).toEqual({ b64_json: Buffer.from(hostile, 'base64').toString('base64'), url: 'u' });
    expect(parsed.data[0]).not.toHaveProperty('injected');
  });

  it('leaves a field called b64_json that holds no string to JSON.stringify', () => {
    const body = { b64_json: { nested: 'b64_json' }, other: 'b64:' };
    expect(jsonBytes(body).toString()).toBe(JSON.stringify(body));
  });
});
