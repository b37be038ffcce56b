// RFC 9457 problem details: the one way errors leave the HTTP layer, with a stable type, the request id
// and field paths where they help. Only this module maps domain codes to HTTP statuses.

import type { Response } from 'express';
import { z } from 'zod';
import { formatPath, type ErrorCode, type Issue } from '../errors';
import { present } from '../validation/present';

/** Entries an answer lists: a batch of 10,000 empty orders has some 50,000, a body of megabytes to read. */
const MAX_ERRORS = 1000;

/** Every error answer (application/problem+json); extension members (job, currentStatus …) may follow. */
export const Problem = z
  .looseObject({
    type: z.string().describe('https://waybill.example/problems/<code>: the stable error code'),
    title: z.string().describe('the code in words'),
    status: z.number().int(),
    detail: z.string().describe('what went wrong; never quotes input values'),
    requestId: z.string().describe('also in the X-Request-Id header and the log line'),
    errors: z
      .array(
        z.strictObject({
          index: z.number().int().optional().describe('order index in a batch'),
          line: z.number().int().optional().describe('NDJSON line'),
          path: z.string().describe('the field path, e.g. recipient.phone'),
          message: z.string(),
        }),
      )
      .optional()
      .describe(`one entry per invalid field, the first ${MAX_ERRORS.toLocaleString('en')} of them`),
    errorsTotal: z.number().int().optional().describe(`how many there were, when more than the ${MAX_ERRORS.toLocaleString('en')} listed`),
  });


const STATUS: Record<ErrorCode, number> = {
  invalid_input: 422,
  invalid_template: 422,
  unknown_template: 422,
  conflict: 409,
  invalid_transition: 409,
  not_found: 404,
  gone: 410,
  cancelled: 409,
  forbidden: 403,
  idempotency_mismatch: 422,
  in_progress: 409,
  not_acceptable: 406,
  unavailable: 503,
  bad_config: 500,
  internal: 500,
  unauthenticated: 401,
  suspended: 403,
  invalid_purpose: 400,
  limited: 429,
  bad_request: 400,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  payload_too_large: 413,
  headers_too_large: 431,
  printer_unreachable: 502,
};

export function sendProblem(
  res: Response,
  code: ErrorCode,
  detail: string,
  opts: { issues?: Issue[]; retryAfterSeconds?: number; extra?: Record<string, unknown> } = {},
): void {
  const status = STATUS[code];
  if (opts.retryAfterSeconds) res.setHeader('Retry-After', String(opts.retryAfterSeconds));
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="waybill"');
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify(present(Problem, {
        ...opts.extra, // first, so no extension member can replace a standard one
        ...problemHead(code),
        status,
        detail,
        requestId: res.locals.requestId as string,
        ...(opts.issues?.length
          ? {
              errors: opts.issues
                .slice(0, MAX_ERRORS)
                .map((i) => ({ ...(i.index !== undefined ? { index: i.index } : {}), ...(i.line !== undefined ? { line: i.line } : {}), path: formatPath(i.path), message: i.message })),
              ...(opts.issues.length > MAX_ERRORS ? { errorsTotal: opts.issues.length } : {}),
            }
          : {}),
      })),
    );
}

/**
 * The problem a request gets that express never sees (Node's parser refused it, or its target is no
 * URL): written by hand, as there is no express response to send it with.
 */
export function malformedRequestProblem(status: 400 | 431): string {
  const [code, detail]: [ErrorCode, string] = status === 431 ? ['headers_too_large', 'the request headers are too large'] : ['bad_request', 'the request is malformed'];
  return JSON.stringify({ ...problemHead(code), status, detail });
}

/** A problem's type URI and title, from its code: the same in every answer, written by express or by hand. */
export function problemHead(code: string): { type: string; title: string } {
  return { type: `https://waybill.example/problems/${code}`, title: code.replace(/_/g, ' ') };
}
