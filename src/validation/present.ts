// Answers built through their schema: the API document is generated from the same zod schemas, so a
// presenter that adds, drops or renames a field fails here (in tests and development) instead of
// drifting from the document. Response schemas are strict objects for that reason.

import { z } from 'zod';

/** Checked unless NODE_ENV=production (there a drift must not turn a good answer into a 500). */
const CHECK = process.env.NODE_ENV !== 'production';

/** The answer, typed by its schema and (outside production) checked against it; returned as given. */
export function present<S extends z.ZodType>(schema: S, value: z.input<S>): z.input<S> {
  if (CHECK) {
    const parsed = schema.safeParse(value);
    // Paths and codes only: the value may hold personal data (a scan answer), so no message quotes it.
    if (!parsed.success)
      throw new Error(`response does not match its schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.code}`).join('; ')}`);
  }
  return value;
}

/** An example value for the API document, checked against its schema when the document is built. */
export function example<S extends z.ZodType>(schema: S, value: z.input<S>): z.input<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`an API document example does not match its schema: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.code}`).join('; ')}`);
  return value;
}
