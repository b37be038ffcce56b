// A print's warnings on stderr: every kind of warning is shown for its first orders, and the rest of
// that kind are counted on one line, so a long print without relay numbers does not bury its summary.

import { printWarnings } from '../../src/cli/io';

it('shows each kind of warning for its first five orders, then one line counting the rest', () => {
  const lines: string[] = [];
  const relay = "no relay number could be bound; the label shows the carrier's service number";
  const warnings = [...Array.from({ length: 8 }, (_, i) => `order ${i}: ${relay}`), 'order 3: the font cannot draw a character of recipient.name', 'the template has no QR box'];
  printWarnings({ out: () => {}, err: (l) => lines.push(l) }, warnings);
  expect(lines).toEqual([
    ...[0, 1, 2, 3, 4].map((i) => `warning: order ${i}: ${relay}`),
    'warning: order 3: the font cannot draw a character of recipient.name',
    'warning: the template has no QR box',
    `warning: 3 more order(s): ${relay}`,
  ]);
});
