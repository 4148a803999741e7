import { DataSource } from 'typeorm';
import { JobsService } from '../src/jobs/jobs.service';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem } from './support/http';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A job that counts its runs in a table of its own, so the test sees what really ran. */
async function registerCountingJob(t: TestApp, name: string, schedule: string) {
  await t.db.superuser('CREATE TABLE IF NOT EXISTS test_job_effects (job text, at timestamptz DEFAULT clock_timestamp())');
  const ds = t.app.get(DataSource);
  t.app.get(JobsService).register({
    name,
    schedule,
    description: 'test job',
    run: async () => {
      await ds.query('INSERT INTO test_job_effects (job) VALUES ($1)', [name]);
      await sleep(150);
      return { effects: 1 };
    },
  });
}

describe('scheduled jobs across two instances', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    // A second instance on the very same database, as behind a load balancer.
    b = await startTestApp({}, a.db);
  });
  afterAll(async () => {
    await b.app.close();
    await a.close();
  });

  it('runs each tick once across the fleet and records every run', async () => {
    await registerCountingJob(a, 'every-second', '* * * * * *');
    await registerCountingJob(b, 'every-second', '* * * * * *');
    await sleep(4500);
    // Stop both schedulers and let the runs in flight finish, so that runs and effects can be compared exactly.
    await Promise.all([a, b].map((x) => x.app.get(JobsService).onModuleDestroy()));
    await sleep(1000);
    const runs = await a.db.superuser<{ tick: Date; outcome: string; instance: string; counts: Record<string, number> }>(
      `SELECT tick, outcome, instance, counts FROM job_runs WHERE job = 'every-second' ORDER BY tick`,
    );
    const effects = await a.db.superuser<{ n: number }>(`SELECT count(*)::int AS n FROM test_job_effects WHERE job = 'every-second'`);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(runs.map((r) => r.tick.toISOString())).size).toBe(runs.length);
    expect(runs.every((r) => r.outcome === 'succeeded' && r.counts.effects === 1)).toBe(true);
    // Every recorded run did its work exactly once: no tick was run by both instances.
    expect(effects[0].n).toBe(runs.length);
  });
});

describe('jobs API', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await login(t, ADMIN.email, ADMIN.password);
    await registerCountingJob(t, 'on-demand', '0 0 3 1 1 *');
  });
  afterAll(() => t.close());

  it('lists jobs with their schedule, last run and next run', async () => {
    const res = await t.http().get('/api/v1/jobs').set(bearer(admin)).expect(200);
    const job = (res.body as { name: string; nextRunAt: string; lastRun: unknown }[]).find((j) => j.name === 'on-demand');
    expect(job).toMatchObject({ schedule: '0 0 3 1 1 *', lastRun: null });
    expect(new Date(job!.nextRunAt).getUTCMonth()).toBe(0);
  });

  it('runs a job on demand for admin and dpo, records it, and refuses other roles', async () => {
    const run = await t.http().post('/api/v1/jobs/on-demand/run').set(bearer(admin)).expect(200);
    expect(run.body).toMatchObject({ job: 'on-demand', trigger: 'manual', outcome: 'succeeded', counts: { effects: 1 }, tick: null });
    const dpo = await createUser(t, admin, { email: 'dpo@jobs.test', role: 'dpo' });
    await t.http().post('/api/v1/jobs/on-demand/run').set(bearer(dpo.token)).expect(200);
    const legal = await createUser(t, admin, { email: 'legal@jobs.test', role: 'legal' });
    expectProblem(await t.http().post('/api/v1/jobs/on-demand/run').set(bearer(legal.token)), 403);
    const listed = await t.http().get('/api/v1/jobs').set(bearer(admin)).expect(200);
    expect((listed.body as { name: string; lastRun: { trigger: string } }[]).find((j) => j.name === 'on-demand')?.lastRun).toMatchObject({ trigger: 'manual', outcome: 'succeeded' });
    const runs = await t.http().get('/api/v1/jobs/on-demand/runs').set(bearer(admin)).expect(200);
    expect(runs.body).toHaveLength(2);
    expectProblem(await t.http().post('/api/v1/jobs/no-such-job/run').set(bearer(admin)), 404);
  });

  it('closes a run left "running" by an instance that died, at the next run of the job', async () => {
    await t.db.superuser(`INSERT INTO job_runs (job, trigger, started_at, instance) VALUES ('on-demand', 'schedule', now() - interval '1 hour', 'gone:1')`);
    await t.http().post('/api/v1/jobs/on-demand/run').set(bearer(admin)).expect(200);
    const runs = await t.db.superuser<{ outcome: string; error: string | null }>(`SELECT outcome, error FROM job_runs WHERE instance = 'gone:1'`);
    expect(runs).toEqual([{ outcome: 'failed', error: 'the instance running it stopped before it finished' }]);
  });
});
