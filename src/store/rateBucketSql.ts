// The token-bucket upsert both backends run on `api_rate_buckets` (migration 10): one statement, so
// concurrent requests from any number of processes each see and take a token exactly once.

/**
 * Refill for the time passed (never backwards), then take a token if a whole one is there. SET
 * expressions all read the row as it was, so `allowed` and `tokens` agree. Placeholders are the
 * backend's own: the bucket name, the rate per second and the current time in milliseconds.
 */
export function takeTokenSql(dialect: 'sqlite' | 'postgres', p: { bucket: string; rate: string; now: string }): string {
  const [least, greatest] = dialect === 'sqlite' ? ['min', 'max'] : ['LEAST', 'GREATEST'];
  const refill = `${least}(${p.rate}, b.tokens + ${greatest}(0, excluded.at_ms - b.at_ms) / 1000.0 * ${p.rate})`;
  return `INSERT INTO api_rate_buckets AS b (bucket, tokens, at_ms, allowed) VALUES (${p.bucket}, ${p.rate} - 1, ${p.now}, 1)
    ON CONFLICT (bucket) DO UPDATE SET
      allowed = CASE WHEN ${refill} >= 1 THEN 1 ELSE 0 END,
      tokens = CASE WHEN ${refill} >= 1 THEN ${refill} - 1 ELSE ${refill} END,
      at_ms = ${greatest}(b.at_ms, excluded.at_ms)
    RETURNING tokens, allowed`;
}

/** Seconds until the next whole token (0 when one was taken), from the row the upsert returned. */
export function secondsToWait(row: { tokens: number; allowed: number }, perSecond: number): number {
  return row.allowed ? 0 : (1 - row.tokens) / perSecond;
}
