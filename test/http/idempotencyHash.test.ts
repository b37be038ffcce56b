// What the idempotency table keeps of a request for a day: a hash under a key held outside the database,
// never a plain hash against which someone holding the table could test a guess (which phone was it?).

import { createHash } from 'node:crypto';
import { requestHash } from '../../src/http/idempotency';

it('keys the kept hash of a request: the same request and key give the same hash, another key another, and no plain SHA-256', () => {
  const parts = ['pdf', 'cn-4copy', { recipient: { phone: '+8613900000000' } }];
  const hash = requestHash(Buffer.alloc(32, 1), parts);
  expect(hash).toBe(requestHash(Buffer.alloc(32, 1), structuredClone(parts)));
  expect(hash).not.toBe(requestHash(Buffer.alloc(32, 2), parts));
  expect(hash).not.toBe(createHash('sha256').update(JSON.stringify(parts)).digest('hex'));
});
