// Long work hands the event loop back so that the process's other requests (a courier's scan) get in.

import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Returns once the event loop has polled for I/O, so requests that arrived meanwhile have been read.
 * One setImmediate is not enough when called from an I/O callback (a stream's drain, a worker's message,
 * a socket's data): it runs later in the same loop iteration, before the loop polls again. The second
 * one runs after the next poll.
 */
export async function letRequestsIn(): Promise<void> {
  await nextTurn();
  await nextTurn();
}
