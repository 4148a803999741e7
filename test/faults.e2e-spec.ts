import { randomBytes } from 'node:crypto';
import type { IncidentResponse } from '../src/incidents/dto/incident.dto';
import type { IngestResponse } from '../src/messages/dto/message.dto';
import { ADMIN, testEnv } from './support/app';
import { Answer, call, expectCall, fixturesOn, loginTo, until } from './support/cluster-fleet';
import { OwnPostgres, startOwnPostgres } from './support/cluster-postgres';
import { acceptedCounts, HoldingSmtp, startHoldingSmtp } from './support/cluster-smtp';
import { createTestDatabase, TestDatabase } from './support/database';
import { wireRecord } from './support/ingestion';
import { cleanUp, ensureBuilt, sleep, SpawnedApp, spawnApp, tempDataDir } from './support/processes';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';

jest.setTimeout(90_000);

const tag = randomBytes(3).toString('hex');
const PASSWORD = 'a long enough password 123';
const HOUR = 3_600_000;
const BRANDS = 8;
/** How long the mail server stays away at least (it comes back in the last test of the file). */
const OUTAGE_MS = 12_000;

interface Fixture {
  db: TestDatabase;
  env: Record<string, string>;
  app: SpawnedApp;
  token: Record<string, string>;
  brands: string[];
  carriers: string[];
  route: string;
}

/**
 * One instance on `db` with a DPO and a security officer, and brands under DPAs with two approved
 * carriers that serve them, written straight into the database (after the boot, which applies the
 * migrations to a database that has none yet).
 */
async function fixture(db: TestDatabase, smtpUrl: string): Promise<Fixture> {
  // LOG_LEVEL error: an unexpected answer can be explained by the service's own "unhandled error" line.
  const env = testEnv(db.url, { SMTP_URL: smtpUrl, PUBLIC_BASE_URL: 'https://custodian.example.test', LOG_LEVEL: 'error' });
  const app = await spawnApp(tempDataDir(), env);
  await app.ready(60_000);
  const t = fixturesOn(db);
  const brands: string[] = [];
  for (let i = 0; i < BRANDS; i++) {
    const id = await seedCustomer(t, {
      legalName: `Faulty Brand ${i} ${tag}`, destinationCountries: ['DE'], breachNotificationEmails: [`breach-${i}-${tag}@brands.example.test`],
      dpoContact: { name: 'Their DPO', email: `dpo-${i}-${tag}@brands.example.test` },
    });
    await seedDpa(t, { customerId: id });
    brands.push(id);
  }
  const carriers: string[] = [];
  for (let i = 0; i < 2; i++) carriers.push(await seedSubprocessor(t, { legalEntity: `Faulty Carrier ${i} GmbH`, country: 'DE', carriesCountries: ['DE'], status: 'approved' }));
  const route = await seedSubprocessor(t, { legalEntity: 'Faulty Route Carrier AG', country: 'DE', carriesCountries: ['DE'] });
  const token: Record<string, string> = { admin: await loginTo(app, ADMIN.email, ADMIN.password) };
  for (const role of ['dpo', 'security']) {
    const email = `${role}-${tag}@provider.example.test`;
    await expectCall(app, 201, 'POST', '/api/v1/users', { token: token.admin, body: { email, password: PASSWORD, role } });
    token[role] = await loginTo(app, email, PASSWORD);
  }
  return { db, env, app, token, brands, carriers, route };
}

const proposeNotice = async (f: Fixture, carrier: string, reason: string) =>
  (await expectCall(f.app, 201, 'POST', `/api/v1/subprocessors/${carrier}/change-notices`, { token: f.token.dpo, body: { reason } })) as { id: string; recipients: unknown[] };

/** SIGKILL, then the same service started again on the same database, as a supervisor would. */
async function killAndRestart(f: Fixture, between: () => Promise<void> = async () => undefined): Promise<void> {
  expect((await f.app.stop('SIGKILL')).signal).toBe('SIGKILL');
  await between();
  f.app = await spawnApp(tempDataDir(), f.env);
  await f.app.ready(60_000);
}

/**
 * Faults injected under the compiled service, as they happen in production: an instance killed
 * with SIGKILL in the middle of its work and started again, its PostgreSQL restarted under
 * traffic, the mail server of another away for a long while. (SIGKILL in the middle of a purge,
 * twice: test/purge-crash.e2e-spec.ts.)
 */
describe('faults', () => {
  let ownPg: OwnPostgres;
  let k: Fixture; // on a PostgreSQL of its own: killed mid-ingestion and mid-delivery, started again; then its database is restarted
  let kSmtp: HoldingSmtp;
  let s: Fixture; // its mail server goes away for a long while
  let sSmtp: HoldingSmtp;

  beforeAll(async () => {
    ensureBuilt();
    [kSmtp, sSmtp] = await Promise.all([startHoldingSmtp(), startHoldingSmtp()]);
    await Promise.all([
      (async () => {
        ownPg = await startOwnPostgres();
        k = await fixture(await ownPg.createDatabase('custodian'), kSmtp.url);
      })(),
      (async () => {
        s = await fixture(await createTestDatabase(), sSmtp.url);
      })(),
    ]);
  }, 120_000);

  afterAll(async () => {
    await cleanUp();
    await Promise.all([s?.db.drop(), ownPg?.destroy(), kSmtp?.close(), sSmtp?.close()]);
  }, 60_000);

  // ------------------------------------------------------------------------------------------
  // The mail server of `s` goes away in this test and comes back after the kill -9 during ingestion,
  // a long outage by this suite's clock (several failed tries each, with growing back-off); what it
  // then receives is checked in the last test of the file, once the retries have had their time.
  let outageStart = 0;
  let incidentId: string;
  let outageNotice: string;
  let queuedEarly: string[] = [];
  let escalations: { escalation: string; at: Date; mail_id: string | null }[] = [];
  let waiting: { id: string; attempts: number; status: string }[] = [];
  let restoredAt: Date;

  it('SMTP down: a change notice and the breach escalation due meanwhile are queued, tried and kept waiting', async () => {
    await sSmtp.stop();
    outageStart = Date.now();
    // Aware 18 hours ago but OUTAGE_MS: half of the brand's 24-hour window has gone now, three quarters will during the outage.
    const aware = new Date(outageStart - 18 * HOUR + OUTAGE_MS - 2000).toISOString();
    incidentId = ((await expectCall(s.app, 201, 'POST', '/api/v1/incidents', { token: s.token.security, body: {
      title: 'Archive host reachable from the staging network', description: 'A firewall rule exposed the archive host to staging hosts.',
      detectedAt: aware, becameAwareAt: aware, internalSystems: ['archive'], dataCategories: ['msisdn'], nature: ['confidentiality'], maliciousIntent: false,
    } })) as IncidentResponse).id;
    await expectCall(s.app, 200, 'PUT', `/api/v1/incidents/${incidentId}/customers/${s.brands[0]}`, { token: s.token.dpo, body: { included: true, reason: 'Its archive is on that host' } });
    outageNotice = (await proposeNotice(s, s.carriers[0], 'Better delivery rates')).id;
    await expectCall(s.app, 200, 'POST', '/api/v1/jobs/breach-deadlines/run', { token: s.token.dpo });

    expect(await s.db.superuser('SELECT escalation FROM incident_escalations WHERE incident_id = $1', [incidentId])).toEqual([{ escalation: '50' }]);
    const mails = await s.db.superuser<{ id: string; status: string }>(`SELECT id, status FROM mails WHERE template IN ('change-notice', 'breach-deadline-escalation')`);
    expect(mails.map((m) => m.status)).toEqual(Array(BRANDS + 1).fill('queued'));
    queuedEarly = mails.map((m) => m.id);
    // Delivery is tried, fails, and the mail stays queued for the next try.
    await until('a failed delivery attempt', async () => ((await s.db.superuser(
      `SELECT 1 FROM mails WHERE id = ANY($1::uuid[]) AND status = 'queued' AND attempts >= 1 AND last_error LIKE '%ECONNREFUSED%'`, [queuedEarly])).length ? true : undefined), 20_000, 100);
  });

  // ------------------------------------------------------------------------------------------
  it('kill -9 during batch ingestion: after a restart and the platform\'s retries every record is stored once, and nothing stored before changes', async () => {
    const brand = k.brands[1];
    const key = ((await expectCall(k.app, 201, 'POST', '/api/v1/api-keys', { token: k.token.admin, body: { name: 'crash ingest', role: 'ingest' } })) as { key: string }).key;
    const recent = (i: number) => new Date(Date.now() - HOUR - i * 1000).toISOString();
    const before = (await expectCall(k.app, 200, 'POST', '/api/v1/messages/batch', {
      token: key, body: { records: Array.from({ length: 200 }, (_, i) => wireRecord(brand, [k.route], { submittedAt: recent(i) })) },
    })) as IngestResponse;
    expect(before.counts.stored).toBe(200);
    const fingerprint = () => k.db.superuser<{ n: number; digest: string }>(
      `SELECT count(*)::int AS n, md5(string_agg(m::text, '|' ORDER BY m.id)) AS digest FROM messages m WHERE m.id = ANY($1::uuid[])`, [before.ids]);
    const untouched = await fingerprint();

    const BATCHES = 6;
    const SIZE = 500;
    const batches = Array.from({ length: BATCHES }, () => Array.from({ length: SIZE }, (_, i) => wireRecord(brand, [k.route], { submittedAt: recent(i) })));
    const answers: (IngestResponse | null)[] = Array(BATCHES).fill(null);
    const storedOf = async (i: number) => (await k.db.superuser<{ n: number }>(
      'SELECT count(*)::int AS n FROM messages WHERE customer_id = $1 AND external_id = ANY($2::text[])', [brand, batches[i].map((r) => r.externalId as string)]))[0].n;
    let killed = false;
    const inFlight = new Set<number>();
    // The platform's two senders, each posting its batches one after the other.
    const senders = [0, 1].map(async (sender) => {
      for (let i = sender; i < BATCHES && !killed; i += 2) {
        inFlight.add(i);
        const res = await call(k.app, 'POST', '/api/v1/messages/batch', { token: key, body: { records: batches[i] } });
        if (res.status === 200) answers[i] = res.body as IngestResponse;
        else expect(res.status).toBe(0); // no answer: the instance died under it
        inFlight.delete(i);
      }
    });
    await until('two batches stored and another on its way', () => (answers.filter(Boolean).length >= 2 && inFlight.size > 0 ? true : undefined), 30_000, 2);
    killed = true;
    const cutOff = [...inFlight];
    await killAndRestart(k, async () => {
      await Promise.all(senders);
      // Each batch is one transaction: one cut off is all there or not there at all.
      const stored: number[] = [];
      for (let i = 0; i < BATCHES; i++) stored.push(await storedOf(i));
      expect(stored.map((n, i) => (answers[i] ? n === SIZE : n === 0 || n === SIZE))).toEqual(Array(BATCHES).fill(true));
    });
    // The kill cut at least one batch off in flight (sent, never answered).
    expect(cutOff.filter((i) => !answers[i]).length).toBeGreaterThan(0);

    // The platform sends again every batch it got no answer for.
    for (let i = 0; i < BATCHES; i++) {
      if (answers[i]) continue;
      const n = await storedOf(i);
      const retried = (await expectCall(k.app, 200, 'POST', '/api/v1/messages/batch', { token: key, body: { records: batches[i] } })) as IngestResponse;
      expect(retried.counts).toMatchObject(n === SIZE ? { stored: 0, duplicates: SIZE } : { stored: SIZE, duplicates: 0 });
      answers[i] = retried;
    }
    const [{ total, distinct }] = await k.db.superuser<{ total: number; distinct: number }>(
      'SELECT count(*)::int AS total, count(DISTINCT external_id)::int AS "distinct" FROM messages WHERE customer_id = $1', [brand]);
    expect({ total, distinct }).toEqual({ total: 200 + BATCHES * SIZE, distinct: 200 + BATCHES * SIZE });
    // Every batch was stored by one call: one audit entry each, in a chain that verifies.
    const [{ ingested }] = await k.db.superuser<{ ingested: number }>(`SELECT count(*)::int AS ingested FROM audit_log WHERE action = 'messages.ingested'`);
    expect(ingested).toBe(1 + BATCHES);
    expect(await expectCall(k.app, 200, 'GET', '/api/v1/audit/verify', { token: k.token.dpo })).toMatchObject({ ok: true, firstBadSeq: null });
    expect(await fingerprint()).toEqual(untouched);
  });

  // ------------------------------------------------------------------------------------------
  it('SMTP back after a long outage: the escalation due meanwhile was recorded too, and every mail was tried again and again', async () => {
    // Three quarters of the window went by during the outage: the job escalates again, and that mail waits too.
    await sleep(Math.max(0, outageStart + OUTAGE_MS - Date.now()));
    await expectCall(s.app, 200, 'POST', '/api/v1/jobs/breach-deadlines/run', { token: s.token.dpo });
    escalations = await s.db.superuser<{ escalation: string; at: Date; mail_id: string | null }>(
      'SELECT escalation, at, mail_id FROM incident_escalations WHERE incident_id = $1 ORDER BY at', [incidentId]);
    expect(escalations.map((e) => e.escalation)).toEqual(['50', '75']);
    waiting = await s.db.superuser<{ id: string; attempts: number; status: string }>(
      `SELECT id, attempts, status FROM mails WHERE template IN ('change-notice', 'breach-deadline-escalation')`);
    expect(waiting).toHaveLength(BRANDS + 2);
    expect(waiting.filter((m) => m.status !== 'queued')).toEqual([]);
    // Those queued as the outage began are tried again and again meanwhile (more than once each before it ends).
    await until('a second failed try at every mail queued as the outage began', async () => ((await s.db.superuser(
      `SELECT 1 FROM mails WHERE id = ANY($1::uuid[]) AND (status <> 'queued' OR attempts < 2)`, [queuedEarly])).length === 0 ? true : undefined), 30_000, 100);
    expect(sSmtp.accepted).toEqual([]);
    expect(Date.now() - outageStart).toBeGreaterThanOrEqual(OUTAGE_MS);
    restoredAt = new Date();
    await sSmtp.start();
    // What arrives is checked in the last test, once the retries (backing off) have had their time.
  });

  // ------------------------------------------------------------------------------------------
  it('kill -9 while a mail is being handed to the SMTP server: after a restart every mail arrives, each once', async () => {
    kSmtp.holdMs = 600; // a slow relay: the instance waits for each answer
    const notice = await proposeNotice(k, k.carriers[0], 'Crash test');
    expect(notice.recipients).toHaveLength(BRANDS);
    await until('two mails accepted and a third waiting for its answer', () => (kSmtp.accepted.length >= 2 && kSmtp.holding() === 1 ? true : undefined), 30_000, 5);
    await killAndRestart(k, async () => {
      // The killed instance's connection is gone before the answer: that mail was never handed over.
      await until('the relay to notice the dead client', () => (kSmtp.abandoned.length === 1 ? true : undefined), 5000);
      kSmtp.holdMs = 0;
    });
    const mails = await k.db.superuser<{ id: string }>(`SELECT id FROM mails WHERE template = 'change-notice'`);
    expect(mails).toHaveLength(BRANDS);
    await until('every mail accepted', () => (acceptedCounts(kSmtp.accepted).size === BRANDS ? true : undefined), 45_000, 50);
    await sleep(1500); // a mail sent twice would arrive meanwhile
    const counts = acceptedCounts(kSmtp.accepted);
    expect([...counts.keys()].sort()).toEqual(mails.map((m) => `<${m.id}@custodian>`).sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(counts.has(kSmtp.abandoned[0])).toBe(true); // the one cut off was sent after the restart
    expect(await k.db.superuser(`SELECT status, count(*)::int AS n FROM mails GROUP BY status`)).toEqual([{ status: 'sent', n: BRANDS }]);
    // The change itself was recorded once.
    expect(await k.db.superuser('SELECT count(*)::int AS n FROM change_notice_recipients WHERE notice_id = $1', [notice.id])).toEqual([{ n: BRANDS }]);
  });

  // ------------------------------------------------------------------------------------------
  it('PostgreSQL restarted under traffic: readiness says so, requests get 503 problem+json, and the service recovers by itself', async () => {
    const p = k.app;
    const admin = k.token.admin;
    interface Sample extends Answer { kind: string; startedAt: number; endedAt: number }
    const samples: Sample[] = [];
    let traffic = true;
    const loop = async (kind: string, request: () => Promise<Answer>, pauseMs: number) => {
      while (traffic) {
        const startedAt = Date.now();
        const res = await request();
        samples.push({ ...res, kind, startedAt, endedAt: Date.now() });
        await sleep(pauseMs);
      }
    };
    const loops = [
      loop('me', () => call(p, 'GET', '/api/v1/me', { token: admin, timeoutMs: 15_000 }), 20),
      loop('users', () => call(p, 'GET', '/api/v1/users', { token: admin, timeoutMs: 15_000 }), 20),
      loop('api-key', () => call(p, 'POST', '/api/v1/api-keys', { token: admin, body: { name: `restart ${randomBytes(3).toString('hex')}`, role: 'auditor' }, timeoutMs: 15_000 }), 50),
      loop('ready', () => call(p, 'GET', '/health/ready', { timeoutMs: 15_000 }), 50),
    ];
    await sleep(700);
    const stopping = Date.now();
    await ownPg.stop();
    const down = Date.now();
    await sleep(2000);
    const starting = Date.now();
    await ownPg.start();
    const up = Date.now();
    const recovered = await until('readiness again', async () => ((await call(p, 'GET', '/health/ready')).status === 200 ? Date.now() : undefined), 20_000, 50);
    await sleep(1000);
    traffic = false;
    await Promise.all(loops);

    expect(p.child.exitCode).toBeNull(); // never restarted
    const requests = samples.filter((x) => x.kind !== 'ready');
    // Nothing but success or a clean 503: no 500, no hang, no dropped connection.
    // (With the service's log lines for that request, if it logged any: what a 500 was.)
    const logOf = (x: Answer) => {
      const requestId = (x.body as { requestId?: string } | null)?.requestId;
      return requestId ? p.stdout().split('\n').filter((line) => line.includes(requestId)).join('\n') : '';
    };
    expect(requests.filter((x) => ![200, 201, 503].includes(x.status)).map((x) => `${x.kind} ${x.status} ${x.text.slice(0, 200)} ${logOf(x)}`)).toEqual([]);
    for (const x of requests.filter((r) => r.status === 503)) {
      expect(x.contentType).toMatch(/^application\/problem\+json/);
      expect(x.body).toMatchObject({ type: 'urn:custodian:problem:service-unavailable', status: 503 });
    }
    const whileDown = requests.filter((x) => x.startedAt >= down && x.endedAt <= starting);
    expect(whileDown.length).toBeGreaterThan(10);
    expect(whileDown.filter((x) => x.status !== 503)).toEqual([]);
    expect(requests.filter((x) => x.endedAt < stopping).every((x) => x.status === 200 || x.status === 201)).toBe(true);
    // Readiness reports the outage, and the recovery, by itself and soon.
    const readiness = samples.filter((x) => x.kind === 'ready');
    expect(readiness.filter((x) => x.startedAt >= down && x.endedAt <= starting).every((x) => x.status === 503)).toBe(true);
    expect(readiness.some((x) => x.startedAt >= down && x.endedAt <= starting)).toBe(true);
    expect(recovered - up).toBeLessThan(10_000);
    expect(requests.filter((x) => x.startedAt >= recovered && x.status !== 200 && x.status !== 201).map((x) => `${x.kind} ${x.status}`)).toEqual([]);
    expect(requests.filter((x) => x.startedAt >= recovered).length).toBeGreaterThan(10);

    // Every key answered 201 was kept, and no refused one was.
    const created = requests.filter((x) => x.kind === 'api-key' && x.status === 201).map((x) => (x.body as { id: string }).id);
    const kept = await k.db.superuser<{ id: string }>(`SELECT id FROM api_keys WHERE name LIKE 'restart %'`);
    expect(kept.map((r) => r.id).sort()).toEqual(created.sort());
    // The jobs and the mail queue reconnected too: a job runs, and a mail queued now is delivered.
    expect(await expectCall(p, 200, 'POST', '/api/v1/jobs/change-notices-effective/run', { token: k.token.dpo })).toMatchObject({ outcome: 'succeeded' });
    const email = `after-restart-${tag}@subscribers.example.test`;
    await expectCall(p, 202, 'POST', '/public/subscriptions', { body: { email } });
    await until('the confirmation mail', () => (kSmtp.accepted.some((m) => m.to.includes(email)) ? true : undefined), 20_000, 50);
  });

  // ------------------------------------------------------------------------------------------
  it('after the outage every mail queued during it, escalations included, arrives exactly once', async () => {
    await until('every waiting mail delivered', () => (acceptedCounts(sSmtp.accepted).size >= waiting.length ? true : undefined), 60_000, 100);
    await sleep(1500); // a mail sent twice would arrive meanwhile
    const counts = acceptedCounts(sSmtp.accepted);
    expect([...counts.keys()].sort()).toEqual(waiting.map((m) => `<${m.id}@custodian>`).sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(sSmtp.accepted.filter((m) => m.template === 'change-notice' && m.text.includes(outageNotice))).toHaveLength(BRANDS);
    const escalationMails = sSmtp.accepted.filter((m) => m.template === 'breach-deadline-escalation');
    expect(escalationMails.map((m) => m.subject).sort()).toEqual([
      `Breach notification deadline: 50% of the window gone (incident ${incidentId.slice(0, 8)})`,
      `Breach notification deadline: 75% of the window gone (incident ${incidentId.slice(0, 8)})`,
    ]);
    for (const m of escalationMails) expect(m.to.sort()).toEqual([`dpo-${tag}@provider.example.test`, `security-${tag}@provider.example.test`]);
    const sent = await s.db.superuser<{ status: string; sent_at: Date }>('SELECT status, sent_at FROM mails WHERE id = ANY($1::uuid[])', [waiting.map((m) => m.id)]);
    expect(sent.filter((m) => m.status !== 'sent' || m.sent_at < restoredAt)).toEqual([]);
    // Both escalations were recorded while the server was away, each once, each with its mail.
    expect(escalations.filter((e) => e.at.getTime() < outageStart || e.at >= restoredAt || !e.mail_id)).toEqual([]);
  });
});
