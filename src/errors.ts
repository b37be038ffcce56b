// Domain errors: a stable code and a message free of personal data. Only the edges (CLI, HTTP) decide
// how a code is shown to a user; domain code never knows about exit codes or HTTP statuses.

export type ErrorCode =
  | 'invalid_input' // an order file or body that does not meet the contract
  | 'invalid_template' // a template file that does not meet the template schema or the privacy floor
  | 'unknown_template'
  | 'conflict' // e.g. a waybill number that already exists
  | 'invalid_transition' // an event the waybill's current state does not allow (src/waybills/transitions.ts)
  | 'not_found'
  | 'gone' // a waybill past its life: its sealed data is destroyed or about to be
  | 'cancelled' // a cancelled waybill: no label, print or print-job retry any more
  | 'forbidden'
  | 'idempotency_mismatch' // an Idempotency-Key reused with a different request
  | 'in_progress' // the same request is still running elsewhere
  | 'not_acceptable' // no label format the client accepts
  | 'unavailable' // the service cannot take this now (shutting down, store unreachable, busy)
  | 'unauthenticated' // no valid credential
  | 'suspended' // a credential suspended after a burst (harvest detection)
  | 'invalid_purpose' // a scan without a valid purpose
  | 'limited' // a rate or daily limit reached (retryAfterSeconds says when to come back)
  | 'bad_request' // a malformed request (not JSON, bad header)
  | 'method_not_allowed' // HEAD on the API: a GET there may record a print or count a scan
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'headers_too_large' // request headers beyond what the server reads (node's parser refuses them)
  | 'printer_unreachable' // a network printer refused or did not answer
  | 'bad_config' // the service's own settings or key file, the operator's to mend (never a client's mistake)
  | 'internal';

/** Where in the input a problem is: file, order index (0-based), line (1-based, NDJSON) and field path. */
export interface IssueLocation {
  file?: string;
  index?: number;
  line?: number;
  path: (string | number)[];
}

export interface Issue extends IssueLocation {
  message: string;
}

/** The one error class: a stable code, a message free of personal data, and where it applies, the field issues or when to retry. */
export class WaybillError extends Error {
  /** Extra facts for the caller (problem+json extension members), never personal data. */
  facts?: Record<string, string | string[]>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: Issue[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'WaybillError';
  }
}

/** A unique value (waybill number, order id, printer name …) already taken: a conflict, raised by repositories. */
export class UniqueViolation extends WaybillError {
  constructor(readonly what: string) {
    super('conflict', `that ${what} is already taken; fetch the existing resource or retry`);
  }
}

export function formatPath(path: readonly (string | number | symbol)[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

export function formatIssue(issue: Issue): string {
  const where = [
    issue.file,
    issue.index !== undefined ? `order ${issue.index}` : undefined,
    issue.line !== undefined ? `line ${issue.line}` : undefined,
    issue.path.length ? formatPath(issue.path) : undefined,
  ].filter(Boolean);
  return `${where.join(': ')}: ${issue.message}`;
}
