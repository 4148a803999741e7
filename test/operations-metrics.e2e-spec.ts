import { Clock } from '../src/common/clock';
import type { IncidentClockResponse, IncidentResponse } from '../src/incidents/dto/incident.dto';
import type { JobRunResponse } from '../src/jobs/dto/job.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer } from './support/http';
import { ingestKey, postBatch, wireRecord } from './support/ingestion';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';
import { startSmtp, TestSmtp } from './support/smtp';

const HOUR = 3_600_000;
const T0 = new Date('2026-12-10T10:00:00.000Z');

/** The metrics docs/operations.md says to alert on, besides the purge's (test/purge.e2e-spec.ts). */
describe('GET /metrics: breach deadlines, mail and route violations', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now = T0;
  const tokens: Record<string, string> = {};
  let alpha: string;
  let bravo: string;
  let incidentId: string;
  const at = (ms: number) => (now = new Date(T0.getTime() + ms));
  const as = (who: string) => bearer(tokens[who]);

  const scrape = async () => (await t.http().get('/metrics').expect(200)).text;
  const value = (text: string, name: string) => {
    const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!line) throw new Error(`${name} is not in /metrics`);
    return Number(line[1]);
  };
  const metric = async (name: string) => value(await scrape(), name);
  const eventually = async (name: string, expected: number) => {
    for (let i = 0; i < 200 && (await metric(name)) !== expected; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await metric(name)).toBe(expected);
  };
  const runJob = async (name: string) => {
    const run = (await t.http().post(`/api/v1/jobs/${name}/run`).set(as('dpo')).expect(200)).body as JobRunResponse;
    expect(run.outcome).toBe('succeeded');
    return run.counts!;
  };
  const clockStatuses = async () =>
    ((await t.http().get(`/api/v1/incidents/${incidentId}/clock`).set(as('dpo')).expect(200)).body as IncidentClockResponse).customers
      .map((c) => [c.customerId === alpha ? 'alpha' : 'bravo', c.status]);

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: 'https://custodian.example.test' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    tokens.admin = await login(t, ADMIN.email, ADMIN.password);
    tokens.dpo = (await createUser(t, tokens.admin, { email: 'dpo@metrics.test', role: 'dpo' })).token;
    tokens.security = (await createUser(t, tokens.admin, { email: 'security@metrics.test', role: 'security' })).token;
    alpha = await seedCustomer(t, { legalName: 'Alpha Metrics GmbH', breachNotificationEmails: ['breach@alpha.test'], destinationCountries: ['DE'] });
    bravo = await seedCustomer(t, { legalName: 'Bravo Metrics SA', breachNotificationEmails: ['breach@bravo.test'], destinationCountries: ['DE'] });
    await seedDpa(t, { customerId: alpha }); // 24 hours to notify
    const bravoDpa = await seedDpa(t, { customerId: bravo });
    await t.db.superuser('UPDATE dpas SET breach_notice_hours = 48 WHERE id = $1', [bravoDpa]);
    at(HOUR);
    incidentId = ((await t.http().post('/api/v1/incidents').set(as('security')).send({
      title: 'Gateway logs readable by a contractor', description: 'A misconfigured bucket exposed SMS gateway logs.',
      detectedAt: T0.toISOString(), becameAwareAt: T0.toISOString(), internalSystems: ['sms-gateway'],
      dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: false,
    }).expect(201)).body as IncidentResponse).id;
    for (const customer of [alpha, bravo]) {
      await t.http().put(`/api/v1/incidents/${incidentId}/customers/${customer}`).set(as('dpo'))
        .send({ included: true, reason: 'Its gateway logs were in the bucket' }).expect(200);
    }
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('reports nothing to alert on while all is well', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE custodian_breach_notifications_overdue gauge');
    expect(text).toContain('# TYPE custodian_mail_failed_total counter');
    for (const name of [
      'custodian_breach_notifications_overdue', 'custodian_breach_notifications_due_soon', 'custodian_mail_queued', 'custodian_mail_oldest_queued_seconds',
      'custodian_mail_failed_total', 'custodian_route_violations_undigested', 'custodian_route_violations_last_detected_timestamp_seconds',
    ]) {
      expect([name, value(text, name)]).toEqual([name, 0]);
    }
  });

  it('counts mail refused for good, and mail waiting for an unreachable SMTP server with the age of the oldest', async () => {
    // Half of Alpha's window: one escalation mail to the DPO and security, which the server refuses for good.
    at(12 * HOUR);
    smtp.answers.push(550);
    expect(await runJob('breach-deadlines')).toMatchObject({ escalationMails: 1 });
    await eventually('custodian_mail_failed_total', 1);
    expect(await metric('custodian_mail_queued')).toBe(0);

    // The server goes away: Alpha's deadline passes and Bravo's window is half gone, one mail each.
    await smtp.stop();
    at(25 * HOUR);
    expect(await runJob('breach-deadlines')).toMatchObject({ escalationMails: 2 });
    expect(await metric('custodian_mail_queued')).toBe(2);
    await t.db.superuser(`UPDATE mails SET created_at = now() - interval '10 minutes' WHERE status = 'queued'`);
    const oldest = await metric('custodian_mail_oldest_queued_seconds');
    expect(oldest).toBeGreaterThanOrEqual(600);
    expect(oldest).toBeLessThan(660);

    // Back again: both are delivered, nothing waits, the refused one stays counted.
    await smtp.start();
    await eventually('custodian_mail_queued', 0);
    expect(await metric('custodian_mail_oldest_queued_seconds')).toBe(0);
    expect(await metric('custodian_mail_failed_total')).toBe(1);
    expect(smtp.received).toHaveLength(2);
  });

  it('counts breach notifications due soon and overdue as the incident clock shows them', async () => {
    const expectCounts = async (overdue: number, dueSoon: number, clock: string[][]) => {
      expect(await clockStatuses()).toEqual(clock);
      const text = await scrape();
      expect([value(text, 'custodian_breach_notifications_overdue'), value(text, 'custodian_breach_notifications_due_soon')]).toEqual([overdue, dueSoon]);
    };
    at(19 * HOUR); // Alpha 79% of 24 h, Bravo 40% of 48 h
    await expectCounts(0, 1, [['alpha', 'due_soon'], ['bravo', 'pending']]);
    at(24 * HOUR); // Alpha's deadline itself is still in time
    await expectCounts(0, 1, [['alpha', 'due_soon'], ['bravo', 'pending']]);
    at(24 * HOUR + 1);
    await expectCounts(1, 0, [['alpha', 'overdue'], ['bravo', 'pending']]);
    at(37 * HOUR); // Bravo 77%
    await expectCounts(1, 1, [['alpha', 'overdue'], ['bravo', 'due_soon']]);
    at(49 * HOUR);
    await expectCounts(2, 0, [['alpha', 'overdue'], ['bravo', 'overdue']]);

    // A customer the DPO excludes is no longer waiting to be told.
    await t.http().put(`/api/v1/incidents/${incidentId}/customers/${bravo}`).set(as('dpo'))
      .send({ included: false, reason: 'Bravo\'s logs were in a bucket that was never exposed' }).expect(200);
    await expectCounts(1, 0, [['alpha', 'overdue']]);

    // Once the DPO decides it was no personal data breach, no deadline runs.
    await t.http().post(`/api/v1/incidents/${incidentId}/transitions`).set(as('security')).send({ to: 'triage' }).expect(200);
    await t.http().post(`/api/v1/incidents/${incidentId}/transitions`).set(as('dpo'))
      .send({ to: 'dismissed', reason: 'The bucket held synthetic test traffic only' }).expect(200);
    const text = await scrape();
    expect([value(text, 'custodian_breach_notifications_overdue'), value(text, 'custodian_breach_notifications_due_soon')]).toEqual([0, 0]);
  });

  it('counts grey routes until the DPO\'s digest has them, and says when the last one was seen', async () => {
    const carrier = await seedSubprocessor(t, { legalEntity: 'Metrics Carrier AG', country: 'DE', carriesCountries: ['DE'] });
    const unknown = '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
    const key = await ingestKey(t, tokens.admin);
    at(50 * HOUR);
    const result = await postBatch(t, key, [
      wireRecord(alpha, [carrier], { submittedAt: new Date(now.getTime() - 60_000).toISOString() }),
      wireRecord(alpha, [carrier, unknown], { submittedAt: new Date(now.getTime() - 30_000).toISOString() }),
    ]);
    expect(result.counts).toMatchObject({ stored: 2, violations: 1 });
    let text = await scrape();
    expect(value(text, 'custodian_route_violations_undigested')).toBe(1);
    expect(value(text, 'custodian_route_violations_last_detected_timestamp_seconds')).toBe(now.getTime() / 1000);

    at(51 * HOUR);
    expect(await runJob('route-violation-digest')).toMatchObject({ violations: 1 });
    text = await scrape();
    expect(value(text, 'custodian_route_violations_undigested')).toBe(0);
    expect(value(text, 'custodian_route_violations_last_detected_timestamp_seconds')).toBe((now.getTime() - HOUR) / 1000);
    // Nothing about a customer or a person in any of it.
    for (const id of [alpha, bravo, incidentId, carrier, unknown]) expect(text).not.toContain(id);
  });
});
