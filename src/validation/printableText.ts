// The one zod shape for short human-entered text (names, addresses, labels): trimmed, bounded, and free
// of control characters, which would otherwise reach paper, terminals and audit lines.

import { z } from 'zod';

export const printableText = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters');
