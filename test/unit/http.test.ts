import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { eventStream, jsonBytes } from '../../src/lib/http/answering.js';
import { ServiceFailedError } from '../../src/lib/core/errors.js';
import type { StreamFrame } from '../../src/lib/images/pipeline.js';
import { untilHolds } from '../support/until.js';

// Answers are written as bytes with each b64_json spliced in (src/lib/http/answering.ts).

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
    const parsed = JSON.parse(jsonBytes({ data: [{ b64_json: hostile, url: 'u' }] }).toString()) as {
      data: Record<string, unknown>[];
    };
    expect(parsed.data[0]).toEqual({ b64_json: Buffer.from(hostile, 'base64').toString('base64'), url: 'u' });
    expect(parsed.data[0]).not.toHaveProperty('injected');
  });

  it('leaves a field called b64_json that holds no string to JSON.stringify', () => {
    const body = { b64_json: { nested: 'b64_json' }, other: 'b64:' };
    expect(jsonBytes(body).toString()).toBe(JSON.stringify(body));
  });
});

describe('eventStream', () => {
  /** Four frames, a turn of the event loop apart, counting how many were read; `fail` throws in place of the third. */
  function source(fail = false) {
    const read = { frames: 0 };
    async function* frames(): AsyncIterable<StreamFrame> {
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setImmediate(r));
        if (fail && i === 2) throw new ServiceFailedError('The service went away.', 'UpstreamError', true);
        read.frames++;
        yield { event: 'image_generation.partial_image', data: { i } };
      }
    }
    return { frames: frames(), read };
  }
  const logged = () => {
    const lines: string[] = [];
    const context = new InvocationContext({
      functionName: 'test',
      logHandler: (level, ...args) => lines.push(`${level}: ${args.join(' ')}`),
    });
    return { context, lines };
  };

  it('a reader who leaves after the first frame: the rest is still read, `done` runs once, nothing is logged as a failure', async () => {
    const { frames, read } = source();
    const { context, lines } = logged();
    let done = 0;
    const answer = eventStream(frames, {}, context, () => done++);
    let chunks = 0;
    // A consumer that goes away after one frame, as a closed socket does.
    const leaving = new Writable({
      write: (_chunk, _encoding, callback) => callback(++chunks === 1 ? undefined : new Error('socket closed')),
    });
    await expect(pipeline(answer.body as Readable, leaving)).rejects.toThrow();
    await untilHolds(() => read.frames === 4 && done > 0);
    expect(read.frames).toBe(4);
    expect(done).toBe(1);
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);
    expect(lines.join('\n')).toMatch(/The caller left the stream/);
  });

  it('a reader who leaves before the first frame: the source is read to its end all the same', async () => {
    const { frames, read } = source();
    let done = 0;
    const answer = eventStream(frames, {}, logged().context, () => done++);
    (answer.body as Readable).destroy();
    await untilHolds(() => read.frames === 4 && done > 0);
    expect(read.frames).toBe(4);
    expect(done).toBe(1);
  });

  it("the source's own failure is an error event, logged, and ends the stream", async () => {
    const { frames } = source(true);
    const { context, lines } = logged();
    let done = 0;
    const text = (await (eventStream(frames, {}, context, () => done++).body as Readable).toArray())
      .map(String)
      .join('');
    expect(text.match(/^event: /gm)).toHaveLength(3);
    expect(text).toMatch(/event: error\ndata: {"error":{"code":"UpstreamError"/);
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([
      expect.stringMatching(/Failed with 502 UpstreamError/),
    ]);
    expect(done).toBe(1);
  });
});
