// Prepared statements, compiled once per connection: the stores run the same few statements on every
// print and scan, and better-sqlite3 would otherwise re-parse the SQL each time.

import type Database from 'better-sqlite3';

export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}
