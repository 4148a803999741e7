import { TooManyRequestsError } from '../common/errors';

/**
 * A fixed-window counter per key, in this instance's memory. Good enough to stop one client from
 * hammering a public form; not a fleet-wide quota.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request for the key, or throws a 429 with Retry-After when the window is full. */
  take(key: string): void {
    const now = this.now();
    const windowMs = this.windowSeconds * 1000;
    if (this.windows.size > 10_000) this.sweep(now, windowMs);
    const current = this.windows.get(key);
    if (!current || now - current.start >= windowMs) {
      this.windows.set(key, { start: now, count: 1 });
      return;
    }
    if (current.count >= this.limit) throw new TooManyRequestsError(Math.max(1, Math.ceil((current.start + windowMs - now) / 1000)));
    current.count += 1;
  }

  private sweep(now: number, windowMs: number): void {
    for (const [key, w] of this.windows) if (now - w.start >= windowMs) this.windows.delete(key);
  }
}
