// Group commit, for small writes that many concurrent requests make (audit records, scan attempts): one
// transaction for all of them instead of one each. Under `serve --workers` on the embedded store every
// commit writes its pages to the shared log and costs the other worker its page cache.

/**
 * Returns `add`: the items added in one turn of the event loop, and those added while a commit is under
 * way, are handed to `commit` together, in order, at most `max` at a time. Each promise settles only once
 * the transaction holding its item has committed, with `commit`'s result at the item's index. A group that
 * fails is committed again one item at a time, so one bad item fails alone.
 */
export function groupCommit<T, R>(commit: (items: T[]) => Promise<R[]>, max: number): (item: T) => Promise<R> {
  type Waiting = { item: T; resolve: (result: R) => void; reject: (error: unknown) => void };
  const waiting: Waiting[] = [];
  let committing = false;

  const commitGroup = async (group: Waiting[]): Promise<void> => {
    let results: R[];
    try {
      results = await commit(group.map((w) => w.item));
    } catch (e) {
      if (group.length === 1) return group[0]!.reject(e);
      for (const one of group) await commitGroup([one]);
      return;
    }
    group.forEach((w, i) => w.resolve(results[i]!));
  };
  const commitWaiting = async (): Promise<void> => {
    committing = true;
    try {
      while (waiting.length) await commitGroup(waiting.splice(0, max));
    } finally {
      committing = false;
    }
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (waiting.length === 1 && !committing) setImmediate(() => void commitWaiting());
    });
}
