// The one zod shape for short human-entered text (names, addresses, labels): trimmed, bounded, and free
// of control and invisible formatting characters, which would otherwise reach paper, terminals and audit
// lines: a bidi override can make a printed or logged text read differently from what it holds, and a
// line separator or C1 control can forge a log line or upset a printer language. Characters that draw
// nothing (zero-width spaces, soft hyphens, word joiners, byte order marks, fillers) are removed, as
// order systems paste them in with copied text and they would hide a phone number or a name between
// its digits or letters from the screening of printed text; the joiners and variation selectors that
// scripts and emoji need are kept (the screening reads past them).

import { z } from 'zod';
import './zodMessages'; // our messages for zod's own checks, before any schema parses

/**
 * C0 controls and DEL, C1 controls, the Unicode line/paragraph separators, and the bidirectional
 * formatting characters (embeddings, overrides, isolates, LRM/RLM and the Arabic letter mark).
 */
const CONTROL_OR_BIDI = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one: not text at all. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Other format characters, private-use characters (no font draws them alike) and noncharacters: not text to print. */
const NOT_TEXT = /[\p{Cf}\p{Co}\p{Noncharacter_Code_Point}]/u;
/**
 * What printableText removes: default-ignorable characters, but for the bidi ones above (refused), the
 * joiners (ZWNJ, ZWJ) and the variation selectors.
 */
const INVISIBLE = /(?![\u200c\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufe00-\ufe0f\u{e0100}-\u{e01ef}])\p{Default_Ignorable_Code_Point}/gu;
/** What the joiners and selectors printableText keeps are allowed as, of NOT_TEXT. */
const KEPT_FORMAT = /[\u200c\u200d\u{e0100}-\u{e01ef}\ufe00-\ufe0f]/gu;

/** The character checks of printableText, for string fields with their own shape (e.g. phone numbers). */
export function refusingControls(schema: z.ZodString): z.ZodString {
  return schema
    .refine((s) => !CONTROL_OR_BIDI.test(s), 'must not contain control or bidirectional formatting characters')
    .refine((s) => !LONE_SURROGATE.test(s), 'must not contain unpaired surrogates')
    .refine((s) => CONTROL_OR_BIDI.test(s) || !NOT_TEXT.test(s.replace(KEPT_FORMAT, '')), 'must not contain format, private-use or noncharacters');
}

/** An identifier a client matches exactly (an order id): printableText's checks, but nothing removed, so an invisible character is refused. */
export const printableId = (max: number) => refusingControls(z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`));

export const printableText = (max: number) =>
  refusingControls(
    z
      .string()
      .overwrite((s) => s.replace(INVISIBLE, ''))
      .trim()
      .min(1, 'must not be empty')
      .max(max, `must be at most ${max} characters`),
  );
