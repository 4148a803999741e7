import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { dutyUnderLoad, FULL_LOAD_SHARE, paced, StepSize } from './pacing';

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

  it('pauses longer while the instance is busy serving requests, down to a tenth of the duty at full load', async () => {
    // Busy nearly all the step: 5% duty, a pause of nineteen times the step.
    expect(await pacedStep(50, 100)).toBeGreaterThanOrEqual(1950);
  });

  it('never pauses at 100%', async () => {
    expect(await pacedStep(100, 100)).toBeLessThan(200);
  });

  it('sizes transactions to take about their target: from one, at most doubling, shrinking after a slow one, within 1 and the maximum', () => {
    const step = new StepSize(100, 5000);
    const sizes = [step.current];
    // A database that takes 0.1 ms per row: 1,000 rows take the 100 ms aimed at.
    for (let i = 0; i < 14; i++) {
      step.took(step.current * 0.1);
      sizes.push(step.current);
    }
    expect(sizes.slice(0, 6)).toEqual([1, 2, 4, 8, 16, 32]);
    expect(sizes.at(-1)).toBe(1000);
    step.took(400); // a slow one: a quarter of the size
    expect(step.current).toBe(250);
    step.took(100_000);
    expect(step.current).toBe(1);
    const small = new StepSize(100, 20);
    for (let i = 0; i < 10; i++) small.took(0);
    expect(small.current).toBe(20);
  });
});
