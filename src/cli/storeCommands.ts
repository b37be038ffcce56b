// `waybill store copy`: moves the embedded SQLite store into an empty PostgreSQL database when a
// deployment grows from one machine to several instances. Output: table names, counts and times only.

import fs from 'node:fs';
import { DatabaseUrl, type Config } from '../config/config';
import { WaybillError } from '../errors';
import { ChainedAuditLog } from '../audit/auditLog';
import { SqlAuditRepository } from '../store/auditRepository';
import { copySqliteToPostgres } from '../store/copyToPostgres';
import { openPostgres, type Database } from '../store/database';
import { SqliteStore } from '../store/sqliteStore';
import { sqliteFile } from '../wiring';
import { loadKeys } from '../vault/keyFile';
import { cliOperator } from './apiKeyCommands';
import { parseOptions, EXIT, type Io } from './io';

export const STORE_USAGE = `usage:
  waybill store copy [--to postgres://…]   copy the SQLite store of WAYBILL_DATA_DIR into an EMPTY
                                           PostgreSQL database (default: DATABASE_URL); stop the service first`;

// Same meaning as the CLI's exit codes; kept here so this module does not import the CLI entry point.

export async function storeCommand(args: string[], config: Config, io: Io): Promise<number> {
  const usage = (message: string): number => {
    io.err(`waybill store: ${message}\n${STORE_USAGE}`);
    return EXIT.usage;
  };
  const [sub, ...rest] = args;
  if (sub !== 'copy') return usage(sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`);
  const { values } = parseOptions({ args: rest, options: { to: { type: 'string' } } });
  const to = values.to ?? config.databaseUrl;
  if (!to) return usage('give --to postgres://… (or set DATABASE_URL)');
  // The URL may hold a password: never echo it.
  if (!DatabaseUrl.safeParse(to).success) return usage('--to must be a postgres:// (or postgresql://) URL');
  const file = sqliteFile(config);
  if (!fs.existsSync(file)) {
    io.err(`waybill store: no SQLite store at ${file} (WAYBILL_DATA_DIR); nothing to copy`);
    return EXIT.failure;
  }

  const started = Date.now();
  const source = SqliteStore.open(file);
  let target: (Database & { close(): Promise<void> }) | undefined;
  try {
    target = await openPostgres(to);
    // The audit keys verify the source's keyed chain and link the copy's record; they stay outside both databases.
    const auditKeys = loadKeys(config, (m) => io.err(`warning: ${m}`)).audit;
    const report = await copySqliteToPostgres(source.database, target, (line) => io.err(`  ${line}`), auditKeys);
    const rows = report.tables.reduce((n, t) => n + t.rows, 0);
    const audit = new ChainedAuditLog(new SqlAuditRepository(target), auditKeys);
    await audit.append({
      at: new Date().toISOString(),
      actor: cliOperator(),
      action: 'store_copy',
      outcome: 'ok',
      detail: { from: 'sqlite', tables: report.tables.length, rows, auditRecords: report.auditRecords },
    });
    const verified = await audit.verify();
    io.err(`copied ${rows} rows of ${report.tables.length} tables and ${report.auditRecords} audit records in ${Date.now() - started} ms`);
    if (!verified.ok) {
      io.err(`audit log in PostgreSQL BROKEN at record ${verified.seq} (${verified.problem}): ${verified.message}`);
      return EXIT.failure;
    }
    io.err(`audit log in PostgreSQL intact: ${verified.count} records (the last one records this copy)`);
    io.err('next: point every instance at it (DATABASE_URL) with the same sealing keys as this store, or its sealed data cannot be opened');
    return EXIT.ok;
  } catch (e) {
    if (e instanceof WaybillError && e.code === 'conflict') {
      io.err(`waybill store: ${e.message}`);
      return EXIT.failure;
    }
    throw e;
  } finally {
    source.close();
    await target?.close();
  }
}
