// One actor's limited requests (a courier's scans and events, a parcel station's verifications) take
// turns in this process: each has written the attempt the limits count before the next one reads them.
// Otherwise a burst of parallel requests all pass the checks before any is counted whenever a write waits
// (another process holding the SQLite file's write lock, a round trip to PostgreSQL): a per-minute limit
// of 30 let 60 scans through. A handheld or a counter sends one request at a time, so only a burst waits.
// Each process (a `serve` worker, an instance on PostgreSQL) holds its own turns.

const turns = new Map<string, Promise<unknown>>();

/** Runs `work` once the actor's requests before it in this process have ended; `waited` says whether there were any. */
export function inTurn<T>(actor: string, work: (waited: boolean) => Promise<T>): Promise<T> {
  const before = turns.get(actor);
  const mine = before ? before.then(() => work(true)) : work(false);
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  turns.set(actor, settled);
  // An idle actor's chain is dropped: the map holds only actors with requests under way.
  void settled.then(() => {
    if (turns.get(actor) === settled) turns.delete(actor);
  });
  return mine;
}
