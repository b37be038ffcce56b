// How a command talks: data (credentials, lists, JSON, paths) on stdout, so `K=$(waybill keys create …)`
// and `waybill keys list --json | jq` work; progress, warnings and summaries on stderr. Exit codes follow
// sysexits.h, so scripts can tell a bad file from a busy printer.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { suggestion } from '../validation/suggestion';
import { WaybillError, formatIssue, type ErrorCode } from '../errors';

export interface Io {
  /** A line of data: what a script captures. */
  out(line: string): void;
  /** A line for the person at the terminal: summaries, warnings, errors. */
  err(line: string): void;
}

/** Where a command writes: an Io, or one function for both (tests that read everything a command said). */
export type Output = Io | ((line: string) => void);

export const asIo = (output: Output): Io => (typeof output === 'function' ? { out: output, err: output } : output);

/**
 * The process's stdout and stderr. A reader that goes away (`waybill templates | head -1`) is normal use:
 * the first EPIPE stops writing to that stream, quietly, and the command finishes as it would have (its
 * store work completes, its exit code stands); no stack trace. Other write errors are reported once.
 */
export const STD_IO: Io = { out: (l) => writeLine(process.stdout, l), err: (l) => writeLine(process.stderr, l) };

let outputFailed = false;
/** True when stdout or stderr failed for another reason than a reader gone (a full disk): exit 70, not 0. */
export const stdOutputFailed = (): boolean => outputFailed;

const closedStreams = new WeakSet<NodeJS.WritableStream>();
const watchedStreams = new WeakSet<NodeJS.WritableStream>();

function writeLine(stream: NodeJS.WriteStream, line: string): void {
  if (closedStreams.has(stream)) return;
  if (!watchedStreams.has(stream)) {
    watchedStreams.add(stream);
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (closedStreams.has(stream)) return;
      closedStreams.add(stream);
      if (e.code === 'EPIPE') return;
      outputFailed = true;
      if (stream !== process.stderr && !closedStreams.has(process.stderr)) process.stderr.write(`waybill: cannot write the output (${e.code ?? e.message})\n`);
    });
  }
  stream.write(line + '\n');
}

/**
 * node's parseArgs, which also refuses an option given twice (`--out a.pdf --out b.pdf` took the last
 * silently) unless it is declared `multiple`.
 */
export function parseOptions<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const parsed = parseArgs(config);
  const seen = new Set<string>();
  for (const token of parseArgs({ ...config, tokens: true }).tokens ?? []) {
    if (token.kind !== 'option' || config.options?.[token.name]?.multiple) continue;
    if (seen.has(token.name)) throw new UsageError(`${token.rawName.startsWith('--') ? `--${token.name}` : token.rawName} is given more than once`);
    seen.add(token.name);
  }
  return parsed;
}

export const EXIT = {
  ok: 0,
  /** The command ran, and its answer is no: a broken audit chain, nothing found, a printer that did not take the job. */
  failure: 1,
  usage: 64, // EX_USAGE
  badInput: 65, // EX_DATAERR
  noInput: 66, // EX_NOINPUT: a file that is not there or cannot be read
  internal: 70, // EX_SOFTWARE
  ioError: 74, // EX_IOERR: an output file could not be written (a full disk)
  unavailable: 75, // EX_TEMPFAIL: busy or unreachable; try again
  config: 78, // EX_CONFIG
} as const;

/**
 * A list: a header row and tab-separated rows, or with `json` one JSON array of the same records (the
 * header names are the keys).
 */
export function printList(io: Io, rows: Record<string, string | number | boolean | null>[], columns: readonly string[], json: boolean): void {
  if (json) {
    io.out(JSON.stringify(rows));
    return;
  }
  io.out(columns.join('\t'));
  for (const row of rows) io.out(columns.map((c) => (row[c] === null || row[c] === undefined ? '-' : String(row[c]))).join('\t'));
}

/** A command line that cannot be run: exit 64 with the command's usage. */
export class UsageError extends Error {}

/** A file the command was pointed at is not there or cannot be read: exit 66. */
export class NoInput extends Error {}

/** An output file that could not be written or put in place (exit 74); the message names it. */
export class OutputFailed extends Error {}

const TEMPORARY: readonly ErrorCode[] = ['unavailable', 'limited', 'in_progress', 'printer_unreachable'];

/** The exit code for a domain error: the input's fault (65), try again later (75), or ours (70). */
export function exitFor(code: ErrorCode): number {
  if (code === 'internal') return EXIT.internal;
  if (code === 'bad_config') return EXIT.config;
  return TEMPORARY.includes(code) ? EXIT.unavailable : EXIT.badInput;
}

/** Says what went wrong, one line per problem, and gives the exit code. */
export function reportError(e: unknown, io: Io, usage: string, prefix = 'waybill'): number {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    const option = /Unknown option '(-[^']+)'/.exec((e as Error).message)?.[1];
    const hint = option ? suggestion(option, usage.match(/--[a-z][a-z-]*/g) ?? []) : '';
    // Node's own text for an unknown option explains `--` at length: ours names the option and a fix.
    const message = option ? `unknown option ${option}${hint}` : (e as Error).message;
    io.err(`${prefix}: ${message}\n${usage}`);
    return EXIT.usage;
  }
  if (e instanceof NoInput || e instanceof OutputFailed) {
    io.err(`${prefix}: ${e.message}`);
    return e instanceof NoInput ? EXIT.noInput : EXIT.ioError;
  }
  if (e instanceof WaybillError) {
    // One problem, one line: a lone issue says it more precisely than the summary.
    if (e.issues.length === 1) io.err(`${prefix}: ${formatIssue(e.issues[0]!)}`);
    else {
      io.err(`${prefix}: ${e.message}`);
      for (const issue of e.issues.slice(0, 50)) io.err(`  ${formatIssue(issue)}`);
      if (e.issues.length > 50) io.err(`  … and ${e.issues.length - 50} more`);
    }
    return exitFor(e.code);
  }
  // Unexpected errors: the message only (no stack with data).
  io.err(`${prefix}: failed: ${(e as Error).message ?? String(e)}`);
  return EXIT.internal;
}

/** Warnings of one kind shown order by order before the rest are counted: a 20,000-order print without relay numbers said the same 15,000 times. */
const SAME_WARNING_SHOWN = 5;

/** A print's warnings on stderr: each kind ("order N: …") for its first orders, then how many more. */
export function printWarnings(io: Io, warnings: readonly string[]): void {
  const more = new Map<string, number>();
  const shown = new Map<string, number>();
  for (const w of warnings) {
    const kind = w.replace(/^order \d+: /, '');
    const n = shown.get(kind) ?? 0;
    if (kind === w || n < SAME_WARNING_SHOWN) io.err(`warning: ${w}`);
    else more.set(kind, (more.get(kind) ?? 0) + 1);
    shown.set(kind, n + 1);
  }
  for (const [kind, n] of more) io.err(`warning: ${n} more order(s): ${kind}`);
}
