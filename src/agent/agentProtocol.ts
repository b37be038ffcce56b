// The agent link (`GET /v1/agent`, a WebSocket): JSON messages both ends validate with these schemas.
// The agent announces its printers without their connections (those stay on the warehouse LAN); the
// service sends jobs (their bytes base64) and the agent acknowledges each one.

import { z } from 'zod';
import { PrinterName } from '../printers/printer';
import { refusingControls } from '../validation/printableText';
import { AnnouncedPrinter, type AgentPrinter } from './printersFile';

/** The WebSocket path on the service; the agent authenticates with a `printer`-role key of its client. */
export const AGENT_PATH = '/v1/agent';


const JOB_ID = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a job id');

export const AgentMessage = z.discriminatedUnion('type', [
  /** First message after connecting (and again after every reconnect): the agent's whole printer list. */
  z.strictObject({ type: z.literal('hello'), agent: z.string().max(40).regex(/^[A-Za-z0-9._-]*$/).optional(), printers: z.array(AnnouncedPrinter).min(1).max(64) }),
  /** The end of one job. `nothingSent`: the printer took no byte, a resend cannot print twice. */
  z.strictObject({
    type: z.literal('ack'),
    jobId: JOB_ID,
    status: z.enum(['delivered', 'failed']),
    error: refusingControls(z.string().max(300)).optional(),
    nothingSent: z.boolean().optional(),
  }),
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

export const ServiceMessage = z.discriminatedUnion('type', [
  /** The answer to a hello: which printers were taken, which refused (a name another printer holds). */
  z.strictObject({
    type: z.literal('welcome'),
    printers: z.array(z.strictObject({ name: z.string(), registered: z.boolean(), reason: z.string().optional() })),
  }),
  z.strictObject({ type: z.literal('job'), jobId: JOB_ID, printer: PrinterName, bytes: z.base64() }),
  /** Sent before the service closes the link on a protocol error. */
  z.strictObject({ type: z.literal('error'), message: z.string() }),
]);
export type ServiceMessage = z.infer<typeof ServiceMessage>;

/** A hello from the printers file: names, languages and options only. */
export function helloOf(printers: AgentPrinter[], agent?: string): Extract<AgentMessage, { type: 'hello' }> {
  return {
    type: 'hello',
    ...(agent ? { agent } : {}),
    printers: printers.map((p) => ({ name: p.name, language: p.language, dpi: p.dpi, ...(p.template ? { template: p.template } : {}), barcodes: p.barcodes, text: p.text, ...(p.font ? { font: p.font } : {}) })),
  };
}

/** Parses one text frame; undefined when it is not JSON or not a message of the schema. */
export function parseFrame<T extends z.ZodType>(schema: T, data: unknown): z.infer<T> | undefined {
  try {
    const r = schema.safeParse(JSON.parse(String(data)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
