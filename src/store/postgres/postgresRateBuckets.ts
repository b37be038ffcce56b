// API request rate buckets on PostgreSQL (migration 10), shared by every instance. Time is the
// database's clock, so instances whose clocks differ still refill one bucket consistently.

import type { RateBuckets } from '../../http/rateLimit';
import { secondsToWait, takeTokenSql } from '../rateBucketSql';
import type { PgDatabase } from './pgDatabase';

const TAKE_TOKEN = takeTokenSql('postgres', { bucket: '$1', rate: '$2::float8', now: 'extract(epoch FROM clock_timestamp()) * 1000' });

export class PostgresRateBuckets implements RateBuckets {
  constructor(private readonly db: PgDatabase) {}

  async take(bucket: string, perSecond: number): Promise<number> {
    const row = (await this.db.one<{ tokens: number; allowed: number }>(TAKE_TOKEN, [bucket, perSecond]))!;
    return secondsToWait(row, perSecond);
  }
}
