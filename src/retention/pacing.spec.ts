import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { dutyUnderLoad, FULL_LOAD_SHARE, paced } from './pacing';

describe('pacing of the purge storage work', () => {
  it.each([
    [50, 0, 0.5],
    [50, 0.5, 0.25],
    [50, 1, 0.5 * FULL_LOAD_SHARE],
    [50, 0.95, 0.5 * FULL_LOAD_SHARE],
    [10, 0.3, 0.07],
    [100, 1, 1],
  ])('at PURGE_RECLAIM_DUTY_PERCENT=%d and an event loop busy %d of the time, may keep the database busy %d of it', (percent, busy, share) => {
    expect(dutyUnderLoad(percent, busy)).toBeCloseTo(share, 10);
  });

  /** How long `paced` takes, in all, for a step of about 100 ms of which `spinMs` keep the event loop busy. */
  async function pacedStep(dutyPercent: number, spinMs: number): Promise<number> {
    const started = performance.now();
    await paced(dutyPercent, async () => {
      await sleep(100 - spinMs);
      const until = performance.now() + spinMs;
      while (performance.now() < until); // requests being served, in the instance's event loop
    });
    return performance.now() - started;
  }

  it('pauses as long as the step took at 50% while the instance is quiet', async () => {
    const total = await pacedStep(50, 0);
    expect(total).toBeGreaterThanOrEqual(195);
    expect(total).toBeLessThan(450);
  });

  it('pauses longer while the instance is busy serving requests, down to a fifth of the duty at full load', async () => {
    // Busy nearly all the step: 10% duty, a pause of nine times the step.
    expect(await pacedStep(50, 100)).toBeGreaterThanOrEqual(950);
  });

  it('never pauses at 100%', async () => {
    expect(await pacedStep(100, 100)).toBeLessThan(200);
  });
});
