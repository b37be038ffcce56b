// What the print component (the Cainiao-compatible WebSocket server) needs from the agent around it.
// The component maps documents to orders and speaks the protocol; the agent owns printers and the service.

import type { Order } from '../../order/orderSchema';
import type { AgentPrinter } from '../printersFile';

export interface LabelOptions {
  format: AgentPrinter['language'] | 'pdf';
  dpi?: number;
  template?: string;
  barcodes?: AgentPrinter['barcodes'];
  text?: AgentPrinter['text'];
}

export interface ComponentHost {
  /** The agent's printers (the component's getPrinters). */
  printers(): AgentPrinter[];
  /** Sends a job's bytes to one of them; rejects when the printer cannot be reached or drops mid-job. */
  send(printer: string, bytes: Buffer): Promise<void>;
  /** Creates the waybill on the service and answers its label in the printer's language. */
  create(order: Order, options: LabelOptions): Promise<{ waybillNo: string; bytes: Buffer }>;
  /** The masked preview of an order (PDF), creating nothing. */
  preview(order: Order, options: LabelOptions): Promise<Buffer>;
}
