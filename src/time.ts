// Durations the service counts in days (lifetimes, relay validity, retention) are converted with this.

/** One day in milliseconds (a fixed 24 hours: timestamps are UTC, no calendar days). */
export const DAY_MS = 86_400_000;
