// A sweep over many rows runs as bounded steps with the process's requests let in between them, and
// still handles every row.

import { inChunks } from '../../src/eventLoop';

test('steps run until one handles fewer than a chunk, and the total is every row', async () => {
  let left = 7;
  const limits: number[] = [];
  const done = await inChunks(async (limit) => {
    limits.push(limit);
    const n = Math.min(limit, left);
    left -= n;
    return n;
  }, 3);
  expect(done).toBe(7);
  expect(limits).toEqual([3, 3, 3]);
});

test('a last chunk that is exactly full costs one more step, which finds nothing', async () => {
  const handled = [3, 3, 0];
  let steps = 0;
  expect(await inChunks(async () => handled[steps++]!, 3)).toBe(6);
  expect(steps).toBe(3);
});

test('work that arrives during a step runs before the next step', async () => {
  const order: string[] = [];
  let step = 0;
  await inChunks(async (limit) => {
    step++;
    order.push(`step ${step}`);
    if (step === 1) setImmediate(() => order.push('a request'));
    return step < 3 ? limit : 0;
  }, 10);
  expect(order).toEqual(['step 1', 'a request', 'step 2', 'step 3']);
});

test('a sweep stops once it has handled its share; the rest waits for the next sweep', async () => {
  let left = 10;
  const step = async (limit: number) => {
    const n = Math.min(limit, left);
    left -= n;
    return n;
  };
  expect(await inChunks(step, 3, 6)).toBe(6);
  expect(left).toBe(4);
  expect(await inChunks(step, 3, 6)).toBe(4);
});
