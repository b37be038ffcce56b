// "Did you mean …?" for a mistyped name: a command, an option, a setting.

import { closest, distance } from 'fastest-levenshtein';

/** " (did you mean X?)" when one of `known` is a likely typo of `given`, else "". */
export function suggestion(given: string, known: readonly string[]): string {
  if (!known.length) return '';
  const best = closest(given, [...known]);
  return distance(given, best) <= Math.max(2, Math.floor(best.length / 3)) ? ` (did you mean ${best}?)` : '';
}
