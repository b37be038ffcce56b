// Our wording for zod's built-in checks, set once for the process: "recipient.name: required" instead of
// "Invalid input: expected string, received undefined". A message a schema gives itself still wins.
// Messages name types, bounds and our own options, never the input.

import { z } from 'zod';

const TYPE_NAMES: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  bigint: 'a whole number',
  date: 'a date',
};

const UNITS: Record<string, string> = { string: 'characters', array: 'items', set: 'items', file: 'bytes' };

type RawIssue = z.core.$ZodRawIssue;

function bound(word: 'least' | 'most', origin: string, limit: number | bigint | Date, inclusive: boolean | undefined): string {
  const unit = UNITS[origin];
  if (unit) return limit === 1 && word === 'least' ? 'must not be empty' : `must be at ${word} ${String(limit)} ${unit}`;
  if (inclusive === false) return `must be ${word === 'least' ? 'above' : 'below'} ${String(limit)}`;
  return `must be at ${word} ${String(limit)}`;
}

/** Our message for a zod issue, or undefined to keep zod's (for codes whose default quotes nothing and reads well). */
export function zodMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return bound('least', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return bound('most', issue.origin, issue.maximum, issue.inclusive);
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${String(issue.values[0])}` : `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return 'is not in the expected format';
    case 'invalid_union':
      return 'matches none of the accepted forms';
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return undefined;
  }
}

z.config({ customError: zodMessage });
