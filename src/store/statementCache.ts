// Prepared statements, compiled once per connection: the repositories run the same few statements on
// every print and scan, and better-sqlite3 would otherwise re-parse the SQL (and recompile the audit
// log's trigger programs) each time. Bounded: multi-row inserts make one text per row count.

import type Database from 'better-sqlite3';

const MAX_STATEMENTS = 2000;

export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) {
      if (cache.size >= MAX_STATEMENTS) cache.clear();
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}
