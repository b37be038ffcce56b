// A problem answer lists the first 1,000 invalid fields and says how many there were: a batch of 10,000
// empty orders has some 50,000, megabytes for a client to read for one mistake made 10,000 times.

import type { AddressInfo } from 'node:net';
import express from 'express';
import { sendProblem } from '../../src/http/problem';
import { createServer } from '../../src/http/server';

test('lists at most 1,000 of its errors, with their total', async () => {
  const app = express();
  app.get('/:n', (req, res) => {
    const issues = Array.from({ length: Number(req.params.n) }, (_, index) => ({ index, path: ['recipient', 'phone'], message: 'required' }));
    res.locals.requestId = 'r-1';
    sendProblem(res, 'invalid_input', 'some orders are invalid', { issues });
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const get = async (n: number) => (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/${n}`)).json() as Promise<{ errors: { index: number }[]; errorsTotal?: number }>;
  try {
    const many = await get(50_000);
    expect([many.errors.length, many.errors[999]!.index, many.errorsTotal]).toEqual([1000, 999, 50_000]);
    const few = await get(1000);
    expect([few.errors.length, few.errorsTotal]).toEqual([1000, undefined]);
  } finally {
    server.close();
  }
});
