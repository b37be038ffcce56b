// The file a command writes with `--out PATH` (`waybill print`, `waybill preview`, `keys audit-public`;
// `audit checkpoint` appends to its own, checked alike but for the checkpoint file itself).
// The target is checked before anything is created or stored: its real path (a symlink is followed, so
// the file it points at is written), not a directory, device, FIFO or socket, not the command's own
// input, and none of the service's files (the master key file, the database and its -wal/-shm, the
// settings, the audit checkpoints), also through a hard link. Other files may go in the data directory.
// Its folder is created if missing and must take a new file. The output is then written to
// this run's hidden `.partial` beside the target and renamed into place only when complete; it is removed
// when the run fails, and on SIGINT/SIGTERM before the process ends with the signal (130 / 143).
// Messages name --out and the path given, never anything of the orders.

import fs from 'node:fs';
import path from 'node:path';
import { isCheckpointLine } from '../audit/checkpoint';
import { CONFIG_FILE_NAME, type Config } from '../config/config';
import { partialPath } from '../printing/printLeases';
import { KEY_FILE_NAME } from '../vault/keyFile';
import { CHECKPOINT_FILE_NAME } from './auditCheckpoints';
import { OutputFailed, UsageError, type Io } from './io';
import { makeFolders } from '../folders';

export interface OutputFile {
  /** The path as given, for messages. */
  readonly given: string;
  /** The path as given, made absolute: what the command reports on stdout. */
  readonly resolved: string;
  /** The file written: the real path of the target (a symlink's target). */
  readonly path: string;
  /** This run's hidden file beside it, renamed into place when complete. */
  readonly partial: string;
}

export interface OutputGuard {
  /** The command's input files (an order file): never written over. */
  inputs?: readonly string[];
  /** The service's own files, wherever they are: keys, database (-wal, -shm), settings, audit checkpoints. */
  serviceFiles: readonly string[];
}

/** The embedded store's file name, as wiring.ts's sqliteFile (not imported: a preview loads no store code). */
const SQLITE_FILE_NAME = 'waybill.db';

/** What an output of this configuration never is: the service's files, the `inputs`. */
export function outputGuard(config: Config, inputs: readonly string[] = []): OutputGuard {
  const db = path.join(config.dataDir, SQLITE_FILE_NAME);
  return {
    inputs,
    serviceFiles: [
      path.join(config.dataDir, KEY_FILE_NAME),
      ...['', '-wal', '-shm', '-journal'].map((suffix) => db + suffix),
      path.join(config.dataDir, CONFIG_FILE_NAME),
      path.join(config.auditCheckpointDir, CHECKPOINT_FILE_NAME),
    ],
  };
}

/** Checks `--out given` and prepares its folder; throws a UsageError (exit 64) naming what is wrong. */
export function checkOutputFile(given: string, guard: OutputGuard): OutputFile {
  const refuse = (why: string) => new UsageError(`--out ${given}: ${why}`);
  const target = checkTarget(given, guard, refuse);

  const folder = path.dirname(target);
  try {
    makeFolders(folder);
  } catch (e) {
    throw refuse(`its folder ${folder} cannot be created (${reason(e)})`);
  }
  const partial = partialPath(target);
  // The folder must take a new file: tried now, before anything is stored, and removed at once.
  try {
    fs.closeSync(fs.openSync(partial, 'wx', 0o600));
  } catch (e) {
    throw refuse(`cannot write a file in ${folder} (${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the folder takes no new files' : reason(e)})`);
  }
  fs.rmSync(partial, { force: true });
  return { given, resolved: path.resolve(given), path: target, partial };
}

/**
 * Checks `--out given` of a command that appends a line to it (`audit checkpoint`): the same refusals as
 * a written file, except that it may be the checkpoint file. Returns the real path to append to.
 */
export function checkAppendFile(given: string, guard: OutputGuard, checkpointFile: string): string {
  const kept = realTarget(path.resolve(checkpointFile));
  const refuse = (why: string) => new UsageError(`--out ${given}: ${why}`);
  const target = checkTarget(given, { ...guard, serviceFiles: guard.serviceFiles.filter((f) => realTarget(path.resolve(f)) !== kept) }, refuse);
  // Appending to an order file or a PDF would spoil it: a file there must already be one of checkpoints.
  const first = firstLine(target);
  if (first !== undefined && !isCheckpointLine(first)) throw refuse('is no checkpoint file (its first line is no checkpoint): give a checkpoint file or a new file');
  return target;
}

/** The first line of a file (up to 64 kB of it); undefined when there is no file or it is empty. */
function firstLine(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
    return n === 0 ? undefined : buffer.subarray(0, n).toString('utf8').split('\n', 1)[0];
  } finally {
    fs.closeSync(fd);
  }
}

/** The real path of `--out given`, refused when it is no file to write or one the guard keeps. */
function checkTarget(given: string, guard: OutputGuard, refuse: (why: string) => UsageError): string {
  if (!given.trim()) throw new UsageError('--out needs a file path');
  const target = realTarget(path.resolve(given), refuse);
  const existing = statOrUndefined(target);
  if (existing && !existing.isFile()) throw refuse(`is ${kindOf(existing)}, not a file: give the path of a file to write`);
  if (given.endsWith('/') || given.endsWith(path.sep)) throw refuse('names a folder: give the path of a file to write');

  const refuseService = () => refuse('is a file of the service (keys, database, settings or audit checkpoints); write the output elsewhere');
  for (const file of guard.serviceFiles) if (realTarget(path.resolve(file)) === target) throw refuseService();
  if (existing) {
    for (const input of guard.inputs ?? []) {
      const s = statOrUndefined(input);
      if (s && s.dev === existing.dev && s.ino === existing.ino) throw refuse('is the input order file; write the output to another file');
    }
    // A hard link to one of them is the same file under another name.
    for (const file of guard.serviceFiles) {
      const s = statOrUndefined(file);
      if (s && s.dev === existing.dev && s.ino === existing.ino) throw refuseService();
    }
  }
  return target;
}

/**
 * Writes `file`: `write` fills the stream (its `.partial`), which is renamed into place when `write`
 * resolves. On failure, or SIGINT/SIGTERM, the `.partial` is removed. `afterFailedRename`: what to add
 * when the rename fails (a print's waybills are stored by then).
 */
export async function writeOutputFile<T>(file: OutputFile, io: Io, write: (stream: fs.WriteStream, partial: string) => Promise<T>, afterFailedRename = ''): Promise<T> {
  let fd: number;
  try {
    fd = fs.openSync(file.partial, 'wx', 0o600);
  } catch (e) {
    throw new UsageError(`--out ${file.given}: cannot write a file in ${path.dirname(file.path)} (${reason(e)})`);
  }
  const stream = fs.createWriteStream(file.partial, { fd });
  const stopWatching = removeOnSignal(file, io);
  try {
    const result = await write(stream, file.partial).catch((e: unknown) => {
      // The file's own failure (a full disk, a quota), named with the file; anything else as it is.
      if (typeof (e as NodeJS.ErrnoException).syscall === 'string') throw new OutputFailed(`--out ${file.given}: the output could not be written (${reason(e)})`);
      throw e;
    });
    fs.chmodSync(file.partial, 0o644);
    try {
      fs.renameSync(file.partial, file.path);
    } catch (e) {
      throw new OutputFailed(`--out ${file.given}: the output could not be put in place (${reason(e)})${afterFailedRename}`);
    }
    return result;
  } finally {
    stopWatching();
    stream.destroy();
    fs.rmSync(file.partial, { force: true });
  }
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Until the returned function is called: on SIGINT or SIGTERM the `.partial` is removed, a line says so,
 * and the process ends by that signal (the shell sees 130 or 143). A store transaction in progress is
 * not committed; the next print's lease sweep returns a dead run's provisional relay numbers.
 */
function removeOnSignal(file: OutputFile, io: Io): () => void {
  const stop = () => {
    for (const signal of Object.keys(SIGNAL_EXIT)) process.removeListener(signal, onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    stop();
    try {
      fs.rmSync(file.partial, { force: true });
    } catch {
      // nothing more can be done here; the next print's sweep removes it
    }
    io.err(`waybill: interrupted (${signal}): stopped before ${file.given} was written; the unfinished output was removed`);
    // With no listener left, the signal's default action ends the process, as if it had never been caught.
    process.kill(process.pid, signal);
    // Should the signal be ignored (its disposition inherited as SIG_IGN), end with its conventional code.
    setTimeout(() => process.exit(SIGNAL_EXIT[signal as keyof typeof SIGNAL_EXIT]), 500).unref();
  }
  for (const signal of Object.keys(SIGNAL_EXIT)) process.on(signal, onSignal);
  return stop;
}

/**
 * The real path of `p` (symlinks followed), also when it or its folders do not exist yet. A path that
 * cannot be resolved is `refuse`d when given, else kept as it is (a service file is compared as named).
 */
function realTarget(p: string, refuse?: (why: string) => Error): string {
  const unresolved = (why: string): string => {
    if (refuse) throw refuse(why);
    return p;
  };
  const missing: string[] = [];
  let at = p;
  for (let hops = 0; ; ) {
    try {
      return path.join(fs.realpathSync(at), ...missing);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') return unresolved(`a folder on its path is a file (${firstFileOn(at) ?? path.dirname(at)})`);
      if (code === 'ELOOP') return unresolved('too many symbolic links');
      if (code !== 'ENOENT') return unresolved(`cannot be resolved (${reason(e)})`);
    }
    // Not there: a dangling symbolic link is followed to where it points; a missing name is kept.
    let link: string | undefined;
    try {
      link = fs.readlinkSync(at);
    } catch {
      link = undefined;
    }
    if (link !== undefined) {
      if (++hops > 40) return unresolved('too many symbolic links');
      at = path.resolve(path.dirname(at), link);
      continue;
    }
    const parent = path.dirname(at);
    if (parent === at) return path.join(at, ...missing);
    missing.unshift(path.basename(at));
    at = parent;
  }
}

function firstFileOn(p: string): string | undefined {
  const parts = p.split(path.sep);
  for (let i = 2; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(path.sep) || path.sep;
    const s = statOrUndefined(prefix);
    if (s && !s.isDirectory()) return prefix;
  }
  return undefined;
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

function kindOf(s: fs.Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such folder',
  ENOTDIR: 'a folder on its path is a file',
  EEXIST: 'a file is in the way',
  ENOSPC: 'no space left on the device',
  EISDIR: 'a directory is in the way',
  ENAMETOOLONG: 'the name is too long',
  EDQUOT: 'disk quota exceeded',
};

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && REASONS[code]) ?? code ?? 'failed';
}
