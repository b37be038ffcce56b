// The one way a zod failure becomes our issues: every edge that validates with zod reports through
// here, so no zod default message that echoes input reaches a user, a log or an HTTP body. zod 4's
// defaults name types, bounds, patterns and the allowed options, never the value, except where the
// input is a property name: `unrecognized_keys` lists the unknown keys and `invalid_key` puts the bad key
// in the path. A key can itself be personal data ({"欧阳晓岚13962584017": …}), so both are reported at
// their object's path without the key.
//
// Not covered: a record's or map's VALUE issues carry the key in their path (zod has no other way to
// say where). Our input schemas are strict objects, whose keys are ours; a record of user-chosen keys
// fed to this function would need its own handling.

import type { z } from 'zod';
import type { Issue } from '../errors';
import './zodMessages'; // our messages for zod's own checks, before any schema parses

export function issuesFromZod(error: { readonly issues: readonly z.core.$ZodIssue[] }): Issue[] {
  return error.issues.map((issue): Issue => {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    switch (issue.code) {
      case 'unrecognized_keys':
        // One issue per object; neither the key names nor their count.
        return { path, message: 'unknown property' };
      case 'invalid_key':
        return { path: path.slice(0, -1), message: 'invalid property name' };
      default:
        return { path, message: issue.message };
    }
  });
}
