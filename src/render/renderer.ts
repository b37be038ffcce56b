// The one contract every output backend implements: it receives drawing lists, label by label, and
// writes bytes to a stream. A renderer never sees an order, a template or a view.

import type { LabelDrawing } from '../layout/drawing';

export interface LabelRenderer {
  /** Adds one label (one page); resolves once the output can take more (backpressure). */
  addLabel(label: LabelDrawing): Promise<void>;
  /** Finishes the document; resolves when every byte has been handed to the output stream. */
  finish(): Promise<void>;
}
