// API request rate buckets in the embedded SQLite file (migration 10); processes sharing the file share them.

import type Database from 'better-sqlite3';
import type { RateBuckets } from '../http/rateLimit';
import { secondsToWait, takeTokenSql } from './rateBucketSql';

export class SqliteRateBuckets implements RateBuckets {
  private readonly takeToken: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.takeToken = db.prepare(takeTokenSql('sqlite', { bucket: '@bucket', rate: '@rate', now: '@now' }));
  }

  async take(bucket: string, perSecond: number): Promise<number> {
    const row = this.takeToken.get({ bucket, rate: perSecond, now: this.nowMs() }) as { tokens: number; allowed: number };
    return secondsToWait(row, perSecond);
  }
}
