// Group commit (src/groupCommit.ts): what one turn of the event loop adds is committed together, each
// caller answered with its own result only after its commit, and a bad item fails alone.

import { groupCommit } from '../src/groupCommit';

/** A commit that records each group it was given, and refuses any group holding a negative number. */
function recorder() {
  const groups: number[][] = [];
  const commit = async (items: number[]) => {
    await new Promise((resolve) => setImmediate(resolve)); // a commit takes a while: more items arrive meanwhile
    if (items.some((n) => n < 0)) throw new Error('refused');
    groups.push(items);
    return items.map((n) => n * 10);
  };
  return { groups, commit };
}

describe('group commit', () => {
  it('commits the items of one turn together, in order, and answers each with its own result', async () => {
    const { groups, commit } = recorder();
    const add = groupCommit(commit, 100);
    expect(await Promise.all([1, 2, 3].map(add))).toEqual([10, 20, 30]);
    expect(groups).toEqual([[1, 2, 3]]);
  });

  it('commits what arrives while a commit is under way in the next group, at most `max` at a time', async () => {
    const { groups, commit } = recorder();
    const add = groupCommit(commit, 2);
    const first = add(1);
    await new Promise((resolve) => setImmediate(resolve)); // the first group's commit has started
    const later = [2, 3, 4].map(add);
    expect(await Promise.all([first, ...later])).toEqual([10, 20, 30, 40]);
    expect(groups).toEqual([[1], [2, 3], [4]]);
  });

  it('answers no one before their commit', async () => {
    const { groups, commit } = recorder();
    const add = groupCommit(commit, 100);
    const answered: number[] = [];
    await Promise.all([1, 2].map((n) => add(n).then(() => answered.push(groups.flat().includes(n) ? n : -n))));
    expect(answered).toEqual([1, 2]);
  });

  it('commits a refused group again one item at a time, so only the bad item fails', async () => {
    const { groups, commit } = recorder();
    const add = groupCommit(commit, 100);
    const results = await Promise.allSettled([1, -2, 3].map(add));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(groups).toEqual([[1], [3]]);
  });
});
