// The hot statements (every scan, every waybill printed) compiled once per dialect instead of built and
// compiled by Kysely on every call, which costs more than SQLite takes to run them. A statement is
// written with Kysely as usual; its arguments are placeholders at compile time and are put in their
// places on each call. So an argument must reach Kysely as a plain value: no `undefined` (pass null),
// no arrays for `in`, no JSON.stringify or branching on it inside the builder (compute it in the caller),
// and columns named one by one (`.values(args)` would list the placeholders' keys, of which there are none).

import type { Compilable, Kysely, RawBuilder } from 'kysely';
import type { Dialect } from './database';
import type { Schema } from './schema';

class Placeholder {
  constructor(readonly name: string) {}
}

export interface Prepared<A, R> {
  /** The SQL and its parameters for these arguments. */
  bind(db: Kysely<Schema>, dialect: Dialect, args: A): { sql: string; parameters: unknown[] };
  /** Only carries the row type. */
  readonly row?: R;
}

export function prepared<A extends Record<string, unknown>, R>(build: (db: Kysely<Schema>, args: A, dialect: Dialect) => Compilable<R> | RawBuilder<R>): Prepared<A, R> {
  const compiled = new Map<Dialect, { sql: string; parameters: readonly unknown[] }>();
  return {
    bind(db, dialect, args) {
      let query = compiled.get(dialect);
      if (!query) {
        const placeholders = new Proxy({}, {
          get: (_, name) => new Placeholder(String(name)),
          ownKeys: () => {
            throw new Error('prepared statement: name each column; the arguments cannot be spread or listed');
          },
        }) as A;
        const built = build(db, placeholders, dialect);
        query = 'isRawBuilder' in built ? built.compile(db) : built.compile();
        compiled.set(dialect, query);
      }
      const parameters = query.parameters.map((p) => {
        if (!(p instanceof Placeholder)) return p;
        const value = args[p.name];
        if (value === undefined) throw new Error(`prepared statement: no value for ${p.name}`);
        return value;
      });
      return { sql: query.sql, parameters };
    },
  };
}
