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

/**
 * A sweep's rows per statement. On SQLite a statement runs on the event loop and holds the file's write
 * lock: shredding 100,000 expired relay bindings in one took 0.3 s, during which that process answered
 * nothing and every other writer waited. A chunk of this size takes a few milliseconds.
 */
export const SWEEP_CHUNK = 1_000;

/**
 * Runs `step` (which handles at most `chunk` rows and says how many it did) until one handles fewer, or
 * `upTo` rows are done (the rest waits for the next sweep), letting requests in between steps; returns
 * how many rows all the steps handled.
 */
export async function inChunks(step: (limit: number) => Promise<number>, chunk = SWEEP_CHUNK, upTo = Infinity): Promise<number> {
  let done = 0;
  for (;;) {
    const n = await step(chunk);
    done += n;
    if (n < chunk || done >= upTo) return done;
    await letRequestsIn();
  }
}
