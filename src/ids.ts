// Ids of the records made by the thousand (waybills, their relay bindings, webhook events): UUIDv7, whose
// leading 48 bits are the time in milliseconds, so the rows a print adds go to the end of each index on
// their ids instead of to pages all over it. A random (v4) id made a large print's save touch a page of
// the whole index per row, while holding the store's write lock. After the time come a counter that starts
// from a random value each millisecond (so ids of one millisecond stay in order) and 42 random bits; an id
// grants nothing by itself: every lookup by id is checked against its caller's client.

import { v7 } from 'uuid';

export const recordId = (): string => v7();
