import type { AuditEntryResponse } from '../src/audit/audit.dto';
import { Clock } from '../src/common/clock';
import { AcknowledgementLinks } from '../src/incidents/acknowledgement-links';
import type { BreachNotificationResponse } from '../src/incidents/dto/breach-notification.dto';
import type { IncidentClockResponse, IncidentResponse } from '../src/incidents/dto/incident.dto';
import type { JobRunResponse } from '../src/jobs/dto/job.dto';
import type { MailResponse } from '../src/notifications/dto/mail.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer } from './support/http';
import { seedCustomer, seedDpa } from './support/registry-fixtures';
import { ReceivedMail, startSmtp, TestSmtp } from './support/smtp';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const BASE = 'https://custodian.example.test';
/** The provider's people: the DPO and security are told of deadlines, nobody else. */
const STAFF = { dpo: 'dpo@provider.test', security: 'security@provider.test', legal: 'legal@provider.test', auditor: 'auditor@provider.test' };

type Role = keyof typeof STAFF | 'admin';

/** Polls until `done` holds (mail is delivered after the job's commit, by the queue). */
async function until(done: () => boolean | Promise<boolean>, what = 'the expected mail'): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** One app on its own database with a real SMTP server, a clock the test moves, and jobs run on demand. */
function harness(env: Record<string, string> = {}) {
  const h = {
    t: undefined as unknown as TestApp,
    smtp: undefined as unknown as TestSmtp,
    now: new Date(0),
    tokens: {} as Record<string, string>,
  };
  beforeAll(async () => {
    h.smtp = await startSmtp();
    h.t = await startTestApp({ SMTP_URL: h.smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: BASE, ...env });
    jest.spyOn(h.t.app.get(Clock), 'now').mockImplementation(() => new Date(h.now));
    h.tokens.admin = await login(h.t, ADMIN.email, ADMIN.password);
    for (const [role, email] of Object.entries(STAFF)) h.tokens[role] = (await createUser(h.t, h.tokens.admin, { email, role })).token;
  });
  afterAll(async () => {
    await h.t?.close();
    await h.smtp?.close();
  });
  return h;
}

describe('breach deadlines: escalations to the DPO and security', () => {
  const h = harness();
  const as = (role: Role) => bearer(h.tokens[role]);
  const T0 = new Date('2026-12-10T10:00:00.000Z');
  const at = (ms: number) => { h.now = new Date(T0.getTime() + ms); };
  let incidentId: string;
  let alpha: string;
  let bravo: string;

  const runDeadlines = async () => {
    const run = (await h.t.http().post('/api/v1/jobs/breach-deadlines/run').set(as('dpo')).expect(200)).body as JobRunResponse;
    expect(run).toMatchObject({ job: 'breach-deadlines', outcome: 'succeeded' });
    return run.counts!;
  };
  const escalationMails = async () =>
    ((await h.t.http().get('/api/v1/notifications').query({ template: 'breach-deadline-escalation', limit: 200 }).set(as('dpo')).expect(200)).body as { items: MailResponse[] })
      .items.filter((m) => m.about?.id === incidentId);
  const received = () => h.smtp.received.filter((m) => m.subject.includes(`(incident ${incidentId.slice(0, 8)})`));
  const timeline = async () => ((await h.t.http().get(`/api/v1/incidents/${incidentId}`).set(as('dpo')).expect(200)).body as IncidentResponse).timeline!;

  beforeAll(async () => {
    alpha = await seedCustomer(h.t, { legalName: 'Alpha Escalation GmbH', breachNotificationEmails: ['breach@alpha.test'] });
    bravo = await seedCustomer(h.t, { legalName: 'Bravo Escalation SA', breachNotificationEmails: ['breach@bravo.test'] });
    await seedDpa(h.t, { customerId: alpha }); // 24 hours
    const dpa48 = await seedDpa(h.t, { customerId: bravo });
    await h.t.db.superuser('UPDATE dpas SET breach_notice_hours = 48 WHERE id = $1', [dpa48]);
    // Customer users must never hear of the provider's internal deadlines.
    await createUser(h.t, h.tokens.admin, { email: 'user@alpha.test', role: 'customer', customerId: alpha });
    at(HOUR);
    const incident = (await h.t.http().post('/api/v1/incidents').set(as('security')).send({
      title: 'Archive database readable from the staging network', description: 'A firewall rule exposed the archive database to staging hosts.',
      detectedAt: T0.toISOString(), becameAwareAt: T0.toISOString(), internalSystems: ['archive-db'],
      dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: false,
    }).expect(201)).body as IncidentResponse;
    incidentId = incident.id;
    for (const customer of [alpha, bravo]) {
      await h.t.http().put(`/api/v1/incidents/${incidentId}/customers/${customer}`).set(as('dpo'))
        .send({ included: true, reason: 'Its archive shard is on the exposed host' }).expect(200);
    }
  });

  it('escalates nothing before half of a window has passed', async () => {
    at(11 * HOUR + 45 * MINUTE); // 49% of Alpha's 24 hours, 24% of Bravo's 48
    expect(await runDeadlines()).toMatchObject({ escalationsRecorded: 0, escalationMails: 0 });
    expect(await escalationMails()).toEqual([]);
    expect((await timeline()).filter((e) => e.kind === 'escalated')).toEqual([]);
  });

  it('at half of Alpha\'s window mails the DPO and security, and nobody else, once', async () => {
    at(12 * HOUR);
    expect(await runDeadlines()).toMatchObject({ escalationsRecorded: 1, escalationMails: 1 });
    await until(() => received().length >= 1);
    const [mail] = received();
    expect(received()).toHaveLength(1);
    expect(mail.to.sort()).toEqual([STAFF.dpo, STAFF.security]);
    expect(mail.subject).toBe(`Breach notification deadline: 50% of the window gone (incident ${incidentId.slice(0, 8)})`);
    expect(mail.subject).not.toMatch(/Alpha|Archive/);
    expect(mail.text).toContain('50% of the notification window for Alpha Escalation GmbH passed without the notification being sent.');
    expect(mail.text).toContain('Incident: Archive database readable from the staging network');
    expect(mail.text).toContain('Deadline: Fri 11 December 2026, 10:00 UTC (UTC+00:00) (2026-12-11T10:00:00.000Z)');
    expect(mail.text).toContain('Time left: 12 h 00 min');
    expect(mail.text).toContain('Notification: not drafted yet');
    expect(mail.text).toContain(`${BASE}/api/v1/incidents/${incidentId}/clock`);
    expect(mail.text).not.toContain('Bravo');

    expect((await timeline()).filter((e) => e.kind === 'escalated')).toEqual([expect.objectContaining({
      at: h.now.toISOString(), customerId: alpha, actorId: null,
      text: '50% of the notification window for Alpha Escalation GmbH passed without the notification being sent; deadline Fri 11 December 2026, 10:00 UTC (UTC+00:00)',
    })]);
    // The customer's own users see none of it.
    const customerToken = await login(h.t, 'user@alpha.test', 'a long enough password 123');
    expect(((await h.t.http().get('/api/v1/notifications').set(bearer(customerToken)).expect(200)).body as { items: unknown[] }).items).toEqual([]);
  });

  it('does not mail again when the job runs again at the same time', async () => {
    expect(await runDeadlines()).toMatchObject({ escalationsRecorded: 0, escalationMails: 0 });
    expect(await escalationMails()).toHaveLength(1);
  });

  it('after the deadline records 75 and 90% too but mails one OVERDUE, and marks the clock overdue', async () => {
    at(24 * HOUR + MINUTE); // Alpha: past its deadline; Bravo: just past half of its 48 hours
    expect(await runDeadlines()).toMatchObject({ escalationsRecorded: 4, escalationMails: 2 });
    await until(() => received().length >= 3);
    const [, ...latest] = received();
    const aboutAlpha = latest.filter((m) => m.text.includes('Alpha Escalation GmbH'));
    expect(aboutAlpha).toHaveLength(1);
    expect(aboutAlpha[0].subject).toBe(`Breach notification deadline OVERDUE (incident ${incidentId.slice(0, 8)})`);
    expect(aboutAlpha[0].text).toContain('The notification deadline for Alpha Escalation GmbH passed without the notification being sent.');
    expect(aboutAlpha[0].text).toContain('Time left: none, overdue by 0 h 01 min');
    const aboutBravo = latest.filter((m) => m.text.includes('Bravo Escalation SA'));
    expect(aboutBravo.map((m) => m.subject)).toEqual([`Breach notification deadline: 50% of the window gone (incident ${incidentId.slice(0, 8)})`]);
    expect(latest.every((m) => m.to.sort().join() === [STAFF.dpo, STAFF.security].join())).toBe(true);

    const audit = ((await h.t.http().get('/api/v1/audit').query({ subjectType: 'Incident', subjectId: incidentId, action: 'incident.escalated' })
      .set(as('auditor')).expect(200)).body as { items: AuditEntryResponse[] }).items.reverse();
    expect(audit.filter((e) => e.changes.customerId === alpha).map((e) => e.changes)).toEqual([
      { customerId: alpha, escalation: '50', mailed: true },
      { customerId: alpha, escalation: '75', mailed: false },
      { customerId: alpha, escalation: '90', mailed: false },
      { customerId: alpha, escalation: 'overdue', mailed: true },
    ]);
    expect(audit.every((e) => e.actorType === 'system')).toBe(true);
    const escalated = (await timeline()).filter((e) => e.kind === 'escalated');
    expect(escalated).toHaveLength(3); // Alpha at 50%, Alpha overdue, Bravo at 50%
    expect(escalated.filter((e) => e.customerId === alpha).map((e) => e.text!.split(';')[0])).toEqual([
      '50% of the notification window for Alpha Escalation GmbH passed without the notification being sent',
      'The notification deadline for Alpha Escalation GmbH passed without the notification being sent',
    ]);
    const clock = (await h.t.http().get(`/api/v1/incidents/${incidentId}/clock`).set(as('legal')).expect(200)).body as IncidentClockResponse;
    expect(clock.customers.map((c) => [c.customerId, c.status])).toEqual([[alpha, 'overdue'], [bravo, 'pending']]);
  });

  it('escalates each threshold only once however often it runs afterwards', async () => {
    at(30 * HOUR); // Bravo at 62.5%: nothing new for anyone
    expect(await runDeadlines()).toMatchObject({ escalationsRecorded: 0, escalationMails: 0 });
    at(36 * HOUR); // Bravo at 75%
    expect(await runDeadlines()).toMatchObject({ escalationsRecorded: 1, escalationMails: 1 });
    expect(await runDeadlines()).toMatchObject({ escalationsRecorded: 0, escalationMails: 0 });
    expect(await escalationMails()).toHaveLength(4);
  });
});

/** A harness with the notification routes wrapped: customers with users, confirmed breaches, approved notifications. */
function notificationHarness(env: Record<string, string> = {}) {
  const h = harness(env);
  const as = (role: Role) => bearer(h.tokens[role]);
  const customerTokens: Record<string, string> = {};
  const n = {
    h, as, customerTokens,
    setNow: (d: Date) => { h.now = new Date(d); },
    later: (d: Date, ms: number) => new Date(d.getTime() + ms),
    async runJob(name: 'breach-deadlines' | 'breach-acknowledgement-reminders') {
      const run = (await h.t.http().post(`/api/v1/jobs/${name}/run`).set(as('dpo')).expect(200)).body as JobRunResponse;
      expect(run).toMatchObject({ job: name, outcome: 'succeeded' });
      return run.counts!;
    },
    getIncident: async (id: string) => (await h.t.http().get(`/api/v1/incidents/${id}`).set(as('dpo')).expect(200)).body as IncidentResponse,
    getNotification: async (id: string) => (await h.t.http().get(`/api/v1/breach-notifications/${id}`).set(as('dpo')).expect(200)).body as BreachNotificationResponse,
    clockOf: async (id: string) => (await h.t.http().get(`/api/v1/incidents/${id}/clock`).set(as('dpo')).expect(200)).body as IncidentClockResponse,

    /** A customer with a 24-hour DPA and one customer user. */
    async customer(name: string, emails: string[]): Promise<string> {
      const id = await seedCustomer(h.t, { legalName: name, breachNotificationEmails: emails });
      await seedDpa(h.t, { customerId: id });
      customerTokens[id] = (await createUser(h.t, h.tokens.admin, { email: `user-${id.slice(0, 8)}@customer.test`, role: 'customer', customerId: id })).token;
      return id;
    },

    /** A confirmed breach, aware at `aware`, affecting `customers` (added by the DPO). */
    async confirmedBreach(title: string, aware: Date, customers: string[]): Promise<string> {
      const { id } = (await h.t.http().post('/api/v1/incidents').set(as('security')).send({
        title, description: 'Found by the nightly access review.', detectedAt: aware.toISOString(), becameAwareAt: aware.toISOString(),
        internalSystems: ['sms-gateway'], dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: false,
      }).expect(201)).body as IncidentResponse;
      for (const c of customers) {
        await h.t.http().put(`/api/v1/incidents/${id}/customers/${c}`).set(as('dpo')).send({ included: true, reason: 'Its traffic passed the gateway' }).expect(200);
      }
      await h.t.http().post(`/api/v1/incidents/${id}/transitions`).set(as('security')).send({ to: 'triage' }).expect(200);
      await h.t.http().post(`/api/v1/incidents/${id}/transitions`).set(as('dpo')).send({ to: 'confirmed_breach' }).expect(200);
      return id;
    },

    /** Security drafts the customer's initial notification and completes what only a person knows; a DPO approves it, which queues its mail. */
    async approvedNotification(incidentId: string, customerId: string): Promise<string> {
      const drafted = (await h.t.http().post(`/api/v1/incidents/${incidentId}/notifications`).set(as('security')).send({ customerIds: [customerId] }).expect(201)).body as { items: BreachNotificationResponse[] };
      const [draft] = drafted.items;
      await h.t.http().patch(`/api/v1/breach-notifications/${draft.id}`).set(as('security')).send({ sections: {
        measures: 'The firewall rule was removed and the gateway credentials rotated.',
        dataSubjects: 'About 300 recipients of your messages.', records: 'About 900 messages.',
      } }).expect(200);
      await h.t.http().post(`/api/v1/breach-notifications/${draft.id}/approval`).set(as('dpo')).expect(200);
      return draft.id;
    },

    /** Waits until the mail service has settled the notification's mail. */
    async delivered(notificationId: string, outcome: 'sent' | 'failed' = 'sent'): Promise<void> {
      await until(async () => (await n.getNotification(notificationId)).delivery === outcome, `notification ${notificationId} to be ${outcome}`);
    },
  };
  return n;
}

describe('breach deadlines: deliveries, notified, a failed mail', () => {
  const { h, as, setNow, later, runJob, getIncident, getNotification, clockOf, customer, confirmedBreach, approvedNotification, delivered } = notificationHarness();

  it('records a delivered notification as sent at the mail\'s time and moves the incident to notified once everyone is told', async () => {
    const aware = new Date('2026-12-01T08:00:00.000Z');
    const echo = await customer('Echo Delivery BV', ['breach@echo.test']);
    setNow(later(aware, HOUR));
    const incidentId = await confirmedBreach('Gateway logs copied to a public bucket', aware, [echo]);
    const notificationId = await approvedNotification(incidentId, echo);
    expect((await getIncident(incidentId)).status).toBe('notifying');
    await delivered(notificationId);
    const mailSentAt = h.now.toISOString();
    expect((await getNotification(notificationId)).sentAt).toBe(mailSentAt);

    setNow(later(aware, HOUR + 5 * MINUTE));
    expect(await runJob('breach-deadlines')).toMatchObject({ notificationsSent: 1, incidentsNotified: 1, failedMails: 0 });
    const incident = await getIncident(incidentId);
    expect(incident.status).toBe('notified');
    expect(incident.timeline!.filter((e) => ['notification_sent', 'status_changed'].includes(e.kind)).slice(-2)).toEqual([
      expect.objectContaining({ kind: 'notification_sent', at: mailSentAt, customerId: echo, notificationId, actorId: null }),
      expect.objectContaining({ kind: 'status_changed', at: h.now.toISOString(), fromStatus: 'notifying', toStatus: 'notified', actorId: null }),
    ]);
    const auditOf = async (subjectType: string, subjectId: string) =>
      ((await h.t.http().get('/api/v1/audit').query({ subjectType, subjectId }).set(as('auditor')).expect(200)).body as { items: AuditEntryResponse[] }).items;
    expect((await auditOf('Incident', incidentId)).map((e) => [e.action, e.actorType, e.changes])[0])
      .toEqual(['incident.status_changed', 'system', { status: { from: 'notifying', to: 'notified' }, automatic: true }]);
    expect((await auditOf('BreachNotification', notificationId)).map((e) => [e.action, e.actorType, e.changes])[0])
      .toEqual(['breach_notification.sent', 'system', { notificationId, customerId: echo, incidentId }]);

    expect(await runJob('breach-deadlines')).toMatchObject({ notificationsSent: 0, incidentsNotified: 0 });
    expect((await getIncident(incidentId)).timeline!.filter((e) => e.kind === 'notification_sent')).toHaveLength(1);
  });

  it('never escalates a customer told before half its window, while one not yet told escalates', async () => {
    const aware = new Date('2026-12-02T08:00:00.000Z');
    const foxtrot = await customer('Foxtrot Early Oy', ['breach@foxtrot.test']);
    const golf = await customer('Golf Late AB', ['breach@golf.test']);
    setNow(later(aware, 2 * HOUR));
    const incidentId = await confirmedBreach('SMS gateway admin account phished', aware, [foxtrot, golf]);
    const notificationId = await approvedNotification(incidentId, foxtrot);
    await delivered(notificationId);

    setNow(later(aware, 13 * HOUR)); // both windows past 50%; Foxtrot was told at 8%
    await runJob('breach-deadlines');
    setNow(later(aware, 25 * HOUR)); // both deadlines passed
    await runJob('breach-deadlines');

    const incident = await getIncident(incidentId);
    expect(incident.status).toBe('notifying'); // Golf has not been told
    expect(incident.timeline!.filter((e) => e.kind === 'escalated').map((e) => [e.customerId, e.text!.split(';')[0]])).toEqual([
      [golf, '50% of the notification window for Golf Late AB passed without the notification being sent'],
      [golf, 'The notification deadline for Golf Late AB passed without the notification being sent'],
    ]);
    const mails = ((await h.t.http().get('/api/v1/notifications').query({ template: 'breach-deadline-escalation', limit: 200 }).set(as('dpo')).expect(200)).body as { items: MailResponse[] })
      .items.filter((m) => m.about?.id === incidentId);
    expect(mails).toHaveLength(2);
    expect(Object.fromEntries((await clockOf(incidentId)).customers.map((c) => [c.customerId, c.status]))).toEqual({ [foxtrot]: 'sent', [golf]: 'overdue' });
  });

  it('alerts the DPO and security once when a notification\'s mail is refused for good, and leaves it unsent', async () => {
    const aware = new Date('2026-12-03T08:00:00.000Z');
    const hotel = await customer('Hotel Bounce SARL', ['nobody@hotel.test']);
    setNow(later(aware, HOUR));
    const incidentId = await confirmedBreach('Backup tape lost in transit', aware, [hotel]);
    // Nothing else in flight that could take the refusal meant for the notification.
    await until(async () => ((await h.t.http().get('/api/v1/notifications').query({ status: 'queued' }).set(as('dpo')).expect(200)).body as { items: unknown[] }).items.length === 0);
    h.smtp.answers.push(550);
    const notificationId = await approvedNotification(incidentId, hotel);
    await delivered(notificationId, 'failed');

    expect(await runJob('breach-deadlines')).toMatchObject({ failedMails: 1, failureAlerts: 1 });
    const alerts = () => h.smtp.received.filter((m) => m.text.includes(`${BASE}/api/v1/breach-notifications/${notificationId}`));
    await until(() => alerts().length > 0);
    const [alert] = alerts();
    expect(alert.subject).toBe(`Breach notification delivery FAILED (incident ${incidentId.slice(0, 8)})`);
    expect(alert.to.sort()).toEqual([STAFF.dpo, STAFF.security]);
    expect(alert.text).toContain('The breach notification to Hotel Bounce SARL could not be delivered');
    expect(alert.text).not.toContain('nobody@hotel.test');

    expect(await runJob('breach-deadlines')).toMatchObject({ failedMails: 0, failureAlerts: 0 });
    expect((await getNotification(notificationId)).sentAt).toBeNull();
    const incident = await getIncident(incidentId);
    expect(incident.status).toBe('notifying');
    expect(incident.timeline!.filter((e) => e.kind === 'notification_sent')).toEqual([]);
    expect((await clockOf(incidentId)).customers).toEqual([expect.objectContaining({ customerId: hotel, sentAt: null, status: 'pending' })]);
    await new Promise((r) => setTimeout(r, 300));
    expect(alerts()).toHaveLength(1);
  });
});

describe('breach deadlines: acknowledgement reminders', () => {
  const { h, as, customerTokens, setNow, later, runJob, getIncident, getNotification, customer, confirmedBreach, approvedNotification, delivered } =
    notificationHarness({ BREACH_ACK_MAX_REMINDERS: '2' });
  const sent = new Date('2026-12-05T09:00:00.000Z');
  let india: string;
  let juliet: string;
  let incidentId: string;
  let toIndia: string;
  let toJuliet: string;
  const reminders = (notificationId: string) => h.smtp.received.filter((m) => m.subject.startsWith('Reminder:') && m.text.includes(`Notification ${notificationId}`));
  const tokenIn = (mail: ReceivedMail) => new RegExp(`${BASE}/api/v1/breach-acknowledgements/(\\S+)`).exec(mail.text)?.[1];

  beforeAll(async () => {
    india = await customer('India Remind GmbH', ['breach@india.test', 'oncall@india.test']);
    juliet = await customer('Juliet Ack AG', ['breach@juliet.test']);
    setNow(sent);
    incidentId = await confirmedBreach('Message bodies in a debug log shipped to a vendor', later(sent, -HOUR), [india, juliet]);
    toIndia = await approvedNotification(incidentId, india);
    toJuliet = await approvedNotification(incidentId, juliet);
    await delivered(toIndia);
    await delivered(toJuliet);
    await runJob('breach-deadlines');
  });

  it('reminds nobody before the reminder interval has passed', async () => {
    setNow(later(sent, 24 * HOUR - MINUTE));
    expect(await runJob('breach-acknowledgement-reminders')).toMatchObject({ remindersSent: 0 });
    expect((await getNotification(toIndia)).remindersSent).toBe(0);
  });

  it('after the interval reminds the customer\'s breach addresses, and only them, once, with a working one-click link', async () => {
    setNow(later(sent, 24 * HOUR));
    expect(await runJob('breach-acknowledgement-reminders')).toMatchObject({ remindersSent: 2 });
    expect(await runJob('breach-acknowledgement-reminders')).toMatchObject({ remindersSent: 0 });
    await until(() => reminders(toIndia).length > 0 && reminders(toJuliet).length > 0);
    const [mail] = reminders(toIndia);
    expect(mail.to.sort()).toEqual(['breach@india.test', 'oncall@india.test']);
    expect(mail.subject).toBe(`Reminder: please acknowledge the breach notification (incident ${incidentId.slice(0, 8)})`);
    expect(mail.text).toContain('India Remind GmbH');
    expect(mail.text).toContain('This is reminder 1 of at most 2.');
    expect(h.t.app.get(AcknowledgementLinks).check(tokenIn(mail), h.now)).toMatchObject({ ok: true, notificationId: toIndia });
    expect(reminders(toJuliet).map((m) => m.to)).toEqual([['breach@juliet.test']]);

    // The customer's own users see its reminder; nobody else's.
    const seen = async (who: string) => ((await h.t.http().get('/api/v1/notifications').query({ template: 'breach-acknowledgement-reminder' })
      .set(bearer(customerTokens[who])).expect(200)).body as { items: MailResponse[] }).items.map((m) => m.about?.id);
    expect(await seen(india)).toEqual([toIndia]);
    expect(await seen(juliet)).toEqual([toJuliet]);
    const entries = (await getIncident(incidentId)).timeline!.filter((e) => e.kind === 'reminder_sent');
    expect(entries.map((e) => [e.customerId, e.notificationId, e.actorId]).sort()).toEqual([[india, toIndia, null], [juliet, toJuliet, null]].sort());
  });

  it('stops once acknowledged (here by the reminder\'s own link), and after as many reminders as the settings allow', async () => {
    const [reminded] = reminders(toJuliet);
    await h.t.http().post(`/api/v1/breach-acknowledgements/${tokenIn(reminded)}`).expect(200);
    expect(await getNotification(toJuliet)).toMatchObject({ acknowledgedVia: 'link', acknowledgedAt: h.now.toISOString() });
    setNow(later(sent, 48 * HOUR));
    expect(await runJob('breach-acknowledgement-reminders')).toMatchObject({ remindersSent: 1 });
    await until(() => reminders(toIndia).length >= 2);
    const [first, second] = reminders(toIndia);
    expect(second.text).toContain('This is reminder 2 of at most 2.');
    expect(tokenIn(second)).not.toBe(tokenIn(first)); // a fresh link, expiring later
    setNow(later(sent, 72 * HOUR));
    expect(await runJob('breach-acknowledgement-reminders')).toMatchObject({ remindersSent: 0 });
    setNow(later(sent, 30 * 24 * HOUR));
    expect(await runJob('breach-acknowledgement-reminders')).toMatchObject({ remindersSent: 0 });

    expect((await getNotification(toIndia)).remindersSent).toBe(2);
    expect((await getNotification(toJuliet)).remindersSent).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(reminders(toIndia)).toHaveLength(2);
    expect(reminders(toJuliet)).toHaveLength(1);
    const remindersAudited = async (notificationId: string) =>
      ((await h.t.http().get('/api/v1/audit').query({ subjectType: 'BreachNotification', subjectId: notificationId, action: 'breach_notification.reminded' })
        .set(as('auditor')).expect(200)).body as { items: AuditEntryResponse[] }).items.reverse().map((e) => [e.actorType, e.changes]);
    expect(await remindersAudited(toIndia)).toEqual([
      ['system', { notificationId: toIndia, incidentId, reminder: 1 }], ['system', { notificationId: toIndia, incidentId, reminder: 2 }],
    ]);
    expect(await remindersAudited(toJuliet)).toEqual([['system', { notificationId: toJuliet, incidentId, reminder: 1 }]]);
  });
});
