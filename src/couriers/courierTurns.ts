// One courier's scans and events take turns in this process: each has written the attempt that the limits
// count before the next one reads them. Otherwise a burst of parallel requests all pass the checks before
// any is counted whenever a write waits (another process holding the SQLite file's write lock, a round trip
// to PostgreSQL): a per-minute limit of 30 let 60 scans through. A handheld sends one request at a time,
// so only a burst waits. Instances sharing PostgreSQL are not ordered by this; each holds its own turns.

const turns = new Map<string, Promise<unknown>>();

/** Runs `work` after the courier's requests before it in this process have ended; `waited` says whether there were any. */
export function inCourierTurn<T>(courierId: string, work: (waited: boolean) => Promise<T>): Promise<T> {
  const before = turns.get(courierId);
  const mine = before ? before.then(() => work(true)) : work(false);
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  turns.set(courierId, settled);
  // An idle courier's chain is dropped: the map holds only couriers with requests under way.
  void settled.then(() => {
    if (turns.get(courierId) === settled) turns.delete(courierId);
  });
  return mine;
}
