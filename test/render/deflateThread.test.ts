import { randomBytes } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { deflateInThread } from '../../src/render/deflateThread';

describe('the deflate thread', () => {
  it('answers every request, each with its own streams in order, however many are in flight', async () => {
    // Small streams (slices of node's shared buffer pool, copied) and large ones (handed over).
    const texts = Array.from({ length: 40 }, (_, i) => Array.from({ length: 1 + (i % 5) }, (_, j) => `${i}:${j} `.repeat(i % 2 ? 2000 : 100) + randomBytes(64).toString('hex')));
    const answers = await Promise.all(texts.map((streams) => deflateInThread(streams.map((t) => Buffer.from(t, 'latin1')))));
    answers.forEach((streams, i) => {
      expect(streams).toHaveLength(texts[i]!.length);
      streams.forEach((s, j) => expect(inflateSync(s).toString('latin1')).toBe(texts[i]![j]));
    });
  });
});
