// Ids of the records made by the thousand (waybills, their relay bindings, webhook events): UUIDv7, whose
// leading 48 bits are the time in milliseconds, so the rows a print adds go to the end of each index on
// their ids instead of to pages all over it. A random (v4) id made a large print's save touch a page of
// the whole index per row, while holding the store's write lock. The other 74 bits stay random, and an id
// grants nothing by itself: every lookup by id is checked against its caller's client.

import { v7 } from 'uuid';

export const recordId = (): string => v7();
