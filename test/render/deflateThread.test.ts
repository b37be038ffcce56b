import { randomBytes } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { deflateInThread } from '../../src/render/deflateThread';

describe('the deflate thread', () => {
  it('answers every request, each with its own streams in order, however many are in flight', async () => {
    const requests = Array.from({ length: 40 }, (_, i) => Array.from({ length: 1 + (i % 5) }, (_, j) => Buffer.from(`${i}:${j} `.repeat(200 + i) + randomBytes(64).toString('hex'))));
    const answers = await Promise.all(requests.map((streams) => deflateInThread(streams)));
    answers.forEach((streams, i) => {
      expect(streams).toHaveLength(requests[i]!.length);
      streams.forEach((s, j) => expect(inflateSync(s).equals(requests[i]![j]!)).toBe(true));
    });
  });
});
