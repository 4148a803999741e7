import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** The share of PURGE_RECLAIM_DUTY_PERCENT the purge's storage work keeps while this instance is fully busy. */
export const FULL_LOAD_SHARE = 0.1;

/**
 * The share of the time the purge's storage work may keep the database busy: `dutyPercent` while
 * this instance is quiet, less as its event loop gets busy serving requests (`busy`, 0–1), down to
 * FULL_LOAD_SHARE of it at full load. 100 never pauses.
 */
export function dutyUnderLoad(dutyPercent: number, busy: number): number {
  const duty = dutyPercent / 100;
  if (duty >= 1) return 1;
  return duty * Math.max(FULL_LOAD_SHARE, 1 - Math.min(1, Math.max(0, busy)));
}

/**
 * Runs one step of storage work, then pauses so that such steps take at most their duty share of
 * the time. How busy the instance was is its event loop's utilisation while the step ran: the
 * requests it served meanwhile. The work that makes expired data unreadable (destroying keys) is
 * never paced; this only spreads out what gives space back and counts it.
 */
export async function paced<T>(dutyPercent: number, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const loop = performance.eventLoopUtilization();
  const result = await work();
  const duty = dutyUnderLoad(dutyPercent, performance.eventLoopUtilization(loop).utilization);
  if (duty < 1) await sleep(((performance.now() - started) * (1 - duty)) / duty);
  return result;
}

/**
 * How much one transaction of storage work takes on (keys, rows) so that each lasts about
 * `targetMs`, whatever the data: from one, at most doubling after a quick one, at most `max`. Short
 * transactions keep each burst of database work short, so requests served meanwhile wait on the
 * shared cores for a moment at a time rather than for a long statement.
 */
export class StepSize {
  private size = 1;

  constructor(
    private readonly targetMs: number,
    private readonly max: number,
  ) {}

  get current(): number {
    return this.size;
  }

  /** After a transaction of `current` that took `tookMs`. */
  took(tookMs: number): void {
    this.size = Math.max(1, Math.min(this.max, Math.round(this.size * Math.min(2, this.targetMs / Math.max(tookMs, 1)))));
  }

  /** Runs `work`, a transaction's worth of `current`, and adapts the size to the time it took. */
  async time<T>(work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await work();
    this.took(performance.now() - started);
    return result;
  }
}
