import { randomBytes } from 'node:crypto';
import type { JobResponse, JobRunResponse } from '../src/jobs/dto/job.dto';
import type { IngestResponse } from '../src/messages/dto/message.dto';
import { ADMIN, testEnv } from './support/app';
import { call, cronSlots, expectCall, fixturesOn, loginTo, startFleet, until } from './support/cluster-fleet';
import { createTestDatabase, TestDatabase } from './support/database';
import { wireRecord } from './support/ingestion';
import { cleanUp, ensureBuilt, runCli, SpawnedApp } from './support/processes';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';
import { startSmtp, TestSmtp } from './support/smtp';

jest.setTimeout(90_000);

const tag = randomBytes(3).toString('hex');
const PASSWORD = 'a long enough password 123';
const CUSTOMERS = 10;
const NOTICES = 3;
const PURGE_SCHEDULE = '*/3 * * * * *';
const MAX_FAILURES = 5;

/**
 * Three processes of the compiled service on one PostgreSQL, as behind a load balancer, with the
 * scheduler on in each: what one instance does must not be done again by another, and what one
 * limits the others must not multiply.
 */
describe('three instances on one database', () => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let apps: SpawnedApp[] = [];
  let readyAt: Date;
  const token: Record<'admin' | 'dpo' | 'auditor', string> = {} as never;
  let ingestKey: string;
  const carriers: string[] = [];
  let routeCarrier: string;
  let purgeCustomer: string;

  beforeAll(async () => {
    ensureBuilt();
    [db, smtp] = await Promise.all([createTestDatabase(), startSmtp()]);
    const t = fixturesOn(db);
    // Brands with a DPA in force and traffic to Germany: every German carrier proposed is announced to each.
    for (let i = 0; i < CUSTOMERS; i++) {
      const id = await seedCustomer(t, {
        legalName: `Fleet Brand ${i} ${tag}`, destinationCountries: ['DE'], breachNotificationEmails: [`breach-${i}-${tag}@brands.example.test`],
        dpoContact: { name: 'Their DPO', email: `dpo-${i}-${tag}@brands.example.test` },
      });
      await seedDpa(t, { customerId: id });
    }
    for (let i = 0; i < NOTICES; i++) carriers.push(await seedSubprocessor(t, { legalEntity: `Fleet Carrier ${i} GmbH`, country: 'DE', carriesCountries: ['DE'], status: 'approved' }));
    routeCarrier = await seedSubprocessor(t, { legalEntity: 'Fleet Route Carrier AG', country: 'DE', carriesCountries: ['DE'] });
    // A brand without a DPA whose messages are kept ten years for now (so ingestion takes them), then only a day.
    purgeCustomer = await seedCustomer(t, { legalName: `Fleet Purge Brand ${tag}`, destinationCountries: ['DE'] });
    await db.superuser(`INSERT INTO retention_policies (customer_id, category, days) VALUES ($1, 'msisdn', 3650), ($1, 'body', 3650), ($1, 'delivery_metadata', 3650)`, [purgeCustomer]);

    const env = testEnv(db.url, {
      SMTP_URL: smtp.url, PUBLIC_BASE_URL: 'https://custodian.example.test', PURGE_SCHEDULE, PURGE_BATCH_SIZE: '100',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: String(MAX_FAILURES), LOGIN_MAX_FAILURES_PER_ADDRESS: '10000',
    });
    // All three boot together on a database with no user yet: they race to create the first admin and the mail queue.
    apps = await startFleet(3, env);
    readyAt = new Date();

    token.admin = await loginTo(apps[0], ADMIN.email, ADMIN.password);
    for (const role of ['dpo', 'auditor'] as const) {
      const email = `${role}-${tag}@provider.example.test`;
      await expectCall(apps[1], 201, 'POST', '/api/v1/users', { token: token.admin, body: { email, password: PASSWORD, role } });
      token[role] = await loginTo(apps[2], email, PASSWORD);
    }
    ingestKey = ((await expectCall(apps[0], 201, 'POST', '/api/v1/api-keys', { token: token.admin, body: { name: 'fleet ingest', role: 'ingest' } })) as { key: string }).key;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop('SIGTERM').catch(() => undefined)));
    await cleanUp();
    await smtp?.close();
    await db?.drop();
  }, 60_000);

  it('boots three instances together with one first admin', async () => {
    expect(await db.superuser(`SELECT email FROM users WHERE role = 'admin'`)).toEqual([{ email: ADMIN.email }]);
  });

  it(`lets ${MAX_FAILURES} wrong passwords through per account in all, however they are spread over the instances`, async () => {
    const email = `target-${tag}@provider.example.test`;
    await expectCall(apps[0], 201, 'POST', '/api/v1/users', { token: token.admin, body: { email, password: PASSWORD, role: 'legal' } });
    // Three times the limit, at once, round-robin over the three instances.
    const answers = await Promise.all(
      Array.from({ length: 3 * MAX_FAILURES }, (_, i) => call(apps[i % 3], 'POST', '/api/v1/auth/login', { body: { email, password: `wrong guess ${i}` } })),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX_FAILURES);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * MAX_FAILURES);
    for (const a of answers.filter((x) => x.status === 429)) {
      expect(a.contentType).toMatch(/^application\/problem\+json/);
      expect(a.body).toMatchObject({ type: 'urn:custodian:problem:too-many-requests', status: 429 });
    }
    // The account is locked on every instance, for the right password too.
    for (const app of apps) expect((await call(app, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } })).status).toBe(429);
  });

  it('delivers each of the mails queued through the three instances exactly once', async () => {
    // One change notice per carrier, each proposed through a different instance at the same moment: a mail to every brand each.
    const proposed = await Promise.all(carriers.map((id, i) =>
      expectCall(apps[i], 201, 'POST', `/api/v1/subprocessors/${id}/change-notices`, { token: token.dpo, body: { reason: `Fleet test ${i}` } })));
    const notices = proposed.map((n) => (n as { id: string; recipients: unknown[] }));
    expect(notices.map((n) => n.recipients.length)).toEqual(Array(NOTICES).fill(CUSTOMERS));

    const mails = await db.superuser<{ id: string }>(`SELECT id FROM mails WHERE template = 'change-notice'`);
    expect(mails).toHaveLength(NOTICES * CUSTOMERS);
    await smtp.waitFor(NOTICES * CUSTOMERS, 45_000);
    await new Promise((r) => setTimeout(r, 1500)); // a mail sent twice would arrive meanwhile

    const received = smtp.received.filter((m) => m.headers.get('x-custodian-mail') === 'change-notice');
    const perId = new Map<string, number>();
    for (const m of received) perId.set(m.messageId, (perId.get(m.messageId) ?? 0) + 1);
    expect([...perId.keys()].sort()).toEqual(mails.map((m) => `<${m.id}@custodian>`).sort());
    expect([...perId.values()].every((n) => n === 1)).toBe(true);
    expect(received).toHaveLength(NOTICES * CUSTOMERS);
    for (const n of notices) expect(received.filter((m) => m.text.includes(n.id))).toHaveLength(CUSTOMERS);
    expect(await db.superuser(`SELECT status, attempts, count(*)::int AS n FROM mails WHERE template = 'change-notice' GROUP BY 1, 2`))
      .toEqual([{ status: 'sent', attempts: 1, n: NOTICES * CUSTOMERS }]);
  });

  it('never runs two purges at once, whichever instance starts them, and destroys each expired key once', async () => {
    // Messages ingested through all three instances, kept for now...
    const batches = await Promise.all(apps.map((app, a) => expectCall(app, 200, 'POST', '/api/v1/messages/batch', {
      token: ingestKey,
      body: { records: Array.from({ length: 400 }, (_, i) => wireRecord(purgeCustomer, [routeCarrier], { submittedAt: new Date(Date.UTC(2026, 0, 5 + ((i + a) % 6), 8, i % 60)).toISOString() })) },
    }))) as IngestResponse[];
    expect(batches.map((b) => b.counts.stored)).toEqual([400, 400, 400]);
    // ...until the brand's retention drops to a day: all of it is expired at once.
    await db.superuser(`UPDATE retention_policies SET days = CASE category WHEN 'delivery_metadata' THEN 2 ELSE 1 END WHERE customer_id = $1`, [purgeCustomer]);

    // Every instance is asked at the same moment, while the schedule (every 3 s) fires on all three as well.
    const runs = await Promise.all(apps.map((app) => expectCall(app, 200, 'POST', '/api/v1/jobs/purge/run', { token: token.dpo }))) as JobRunResponse[];
    for (const r of runs.filter((x) => x.outcome !== 'succeeded')) {
      expect(r).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/already in progress|previous run is still going/) });
    }
    // Read in one statement, so that no run is caught half-way.
    const purges = await until('the purge to delete every expired message', async () => {
      const rows = await db.superuser<{ started_at: Date; finished_at: Date; status: string; keys_destroyed: number; left: number }>(
        `SELECT started_at, finished_at, status, keys_destroyed, (SELECT count(*)::int FROM messages WHERE customer_id = $1) AS left
           FROM purge_runs ORDER BY started_at`, [purgeCustomer]);
      return rows.length && rows[0].left === 0 && rows.every((r) => r.status !== 'running') ? rows : undefined;
    }, 45_000, 100);
    expect(purges.length).toBeGreaterThan(1);
    expect(purges.filter((p) => p.status !== 'succeeded')).toEqual([]);
    // One at a time: each run started after the one before it had finished.
    purges.slice(1).forEach((p, i) => expect(p.started_at.getTime()).toBeGreaterThanOrEqual(purges[i].finished_at.getTime()));
    // The expired keys were all destroyed by one run, and each is certified once.
    const destroyed = await db.superuser<{ id: string }>(`SELECT id FROM data_keys WHERE customer_id = $1 AND destroyed_at IS NOT NULL`, [purgeCustomer]);
    expect(purges.reduce((n, p) => n + p.keys_destroyed, 0)).toBe(destroyed.length);
    expect(purges.filter((p) => p.keys_destroyed > 0)).toHaveLength(1);
    const certified = (await db.superuser<{ statement: string }>(`SELECT statement FROM deletion_certificates WHERE customer_id = $1`, [purgeCustomer]))
      .flatMap((c) => (JSON.parse(c.statement) as { destroyed: { keyIds: string[] }[] }).destroyed.flatMap((d) => d.keyIds));
    expect(certified.sort()).toEqual(destroyed.map((k) => k.id).sort());
  });

  it('keeps one audit chain, written by all three, that verifies on each of them and in the CLI', async () => {
    const [{ n }] = await db.superuser<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
    expect(n).toBeGreaterThan(NOTICES + 3);
    for (const app of apps) {
      const verified = (await expectCall(app, 200, 'GET', '/api/v1/audit/verify', { token: token.auditor })) as { ok: boolean; checked: number; firstBadSeq: number | null };
      expect(verified).toMatchObject({ ok: true, firstBadSeq: null });
      expect(verified.checked).toBeGreaterThanOrEqual(n); // the schedulers may append meanwhile
    }
    const cli = await runCli(['audit:verify'], testEnv(db.url));
    expect({ code: cli.code, result: JSON.parse(cli.stdout.trim().split('\n').pop() ?? 'null') as unknown }).toMatchObject({ code: 0, result: { ok: true, firstBadSeq: null } });
  });

  it('runs every scheduled job once per tick across the three instances', async () => {
    const jobs = (await expectCall(apps[0], 200, 'GET', '/api/v1/jobs', { token: token.dpo })) as JobResponse[];
    expect(jobs.find((j) => j.name === 'purge')?.schedule).toBe(PURGE_SCHEDULE);
    const from = new Date(readyAt.getTime() + 1000);
    // The window runs until two seconds ago (later ticks may still be being claimed), and must hold
    // a tick of the jobs that run once a minute (at :00 or :30), besides the purge's every 3 s.
    const minuteTicks = (to: Date) => jobs.filter((j) => j.schedule !== PURGE_SCHEDULE).flatMap((j) => cronSlots(j.schedule, from, to));
    // ... and ticks claimed by more than one instance: with few ticks in it, and the machine busy,
    // one instance can win every one of them.
    const claimants = async (to: Date) => (await db.superuser<{ n: number }>(
      `SELECT count(DISTINCT instance)::int AS n FROM job_runs WHERE trigger = 'schedule' AND tick BETWEEN $1 AND $2`, [from, to],
    ))[0].n;
    const end = await until('a tick of a once-a-minute job, and ticks won by more than one instance', async () => {
      const to = new Date(Date.now() - 2000);
      return minuteTicks(to).length > 0 && (await claimants(to)) > 1 ? to : undefined;
    }, 70_000, 200);
    const rows = await db.superuser<{ job: string; tick: Date; outcome: string; error: string | null; instance: string }>(
      `SELECT job, tick, outcome, error, instance FROM job_runs WHERE trigger = 'schedule' AND tick BETWEEN $1 AND $2`, [from, end],
    );
    for (const job of jobs) {
      const expected = cronSlots(job.schedule, from, end).map((d) => d.toISOString());
      const ran = rows.filter((r) => r.job === job.name).map((r) => r.tick.toISOString()).sort();
      expect({ job: job.name, ticks: ran }).toEqual({ job: job.name, ticks: expected });
    }
    // A tick fails only when the run before it still held the job (or the purge): never because it ran twice.
    expect(rows.filter((r) => r.outcome === 'failed' && !/previous run is still going|already in progress/.test(r.error ?? ''))).toEqual([]);
    // The instances really competed for the ticks.
    expect(new Set(rows.map((r) => r.instance)).size).toBeGreaterThan(1);
  }, 120_000);
});
