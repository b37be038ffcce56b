// Long work hands the event loop back so that the process's other requests (a courier's scan) get in.

import { setImmediate } from 'node:timers/promises';

/**
 * One turn: resumes after the callbacks already due. Enough between the steps of a loop, whose every
 * step after the first resumes where the loop has polled for I/O in between.
 */
export const nextTurn = (): Promise<void> => setImmediate();

/**
 * Returns once the event loop has polled for I/O, so requests that arrived meanwhile have been read.
 * One turn is not enough when called from an I/O callback (a stream's drain, a worker's message, a
 * socket's data): it resumes later in the same loop iteration, before the loop polls again. The second
 * one resumes after the next poll.
 */
export async function letRequestsIn(): Promise<void> {
  await nextTurn();
  await nextTurn();
}
