import { randomBytes } from 'node:crypto';
import { Clock } from '../src/common/clock';
import type { BreachNotificationPage, BreachNotificationResponse } from '../src/incidents/dto/breach-notification.dto';
import type { IncidentClockResponse, IncidentResponse, IncidentScopeResponse } from '../src/incidents/dto/incident.dto';
import type { JobRunResponse } from '../src/jobs/dto/job.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem } from './support/http';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';
import { ReceivedMail, startSmtp, TestSmtp } from './support/smtp';

const BASE = 'https://custodian.example.test';
const HOUR = 3_600_000;
const AWARE = new Date('2026-12-10T10:00:00.000Z');
const at = (hoursAfterAwareness: number) => new Date(AWARE.getTime() + hoursAfterAwareness * HOUR);
const tag = randomBytes(3).toString('hex');
const breachAddress = (name: string) => `breach-${name.toLowerCase()}-${tag}@customers.example.test`;
const staffAddress = (name: string) => `${name}-${tag}@provider.example.test`;

/**
 * Issue 5's story, through the HTTP API with a real SMTP server and the clock under the test's
 * control: an incident at one carrier touches three of five customers; each is told before its
 * own DPA deadline — or escalated, and told late, when the SMTP server is down.
 */
describe('breach story: one carrier incident, three of five customers notified, acknowledged and followed up', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now = at(0.5);
  const c: Record<'a24' | 'b48' | 'cDefault' | 'dOtherCarrier' | 'eOutsideWindow', string> = {} as never;
  const token: Record<'security' | 'dpo1' | 'dpo2' | 'auditor' | 'userA' | 'userB' | 'userE', string> = {} as never;
  let incidentId: string;
  let ref: string;
  const notice: Record<string, BreachNotificationResponse> = {};

  const http = () => t.http();
  const runJob = async (name: string) =>
    ((await http().post(`/api/v1/jobs/${name}/run`).set(bearer(token.dpo1)).expect(200)).body as JobRunResponse);
  const clock = async () => ((await http().get(`/api/v1/incidents/${incidentId}/clock`).set(bearer(token.dpo1)).expect(200)).body as IncidentClockResponse).customers;
  const clockOf = async (customer: string) => (await clock()).find((x) => x.customerId === customer)!;
  const mailsTo = (address: string) => smtp.received.filter((m) => m.to.includes(address));
  const escalationMails = () => smtp.received.filter((m) => /deadline/i.test(m.subject) && m.subject.includes(ref));
  /** Gives mail that could still be on its way the time to arrive, so "no more mail" is a real check. */
  const settle = () => new Promise((r) => setTimeout(r, 1500));

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: BASE });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    const admin = await login(t, ADMIN.email, ADMIN.password);

    const carrier = await seedSubprocessor(t, { legalEntity: 'Story Carrier AG', country: 'DE' });
    const other = await seedSubprocessor(t, { legalEntity: 'Story Other Carrier SA', country: 'FR' });
    const customer = (key: keyof typeof c, name: string, profile?: { messageKinds: string[]; specialCategoryData: boolean }) =>
      seedCustomer(t, {
        legalName: name, breachNotificationEmails: [breachAddress(key)], dpoContact: { name: 'Their DPO', email: `dpo-${key}-${tag}@customers.example.test` },
        ...(profile ? { dataProfile: profile } : {}),
      }).then((id) => (c[key] = id));
    await customer('a24', 'Alpha Bank AG', { messageKinds: ['otp', 'financial'], specialCategoryData: false });
    await customer('b48', 'Bravo Clinic GmbH', { messageKinds: ['health'], specialCategoryData: true });
    await customer('cDefault', 'Charlie Shop SARL');
    await customer('dOtherCarrier', 'Delta Travel BV');
    await customer('eOutsideWindow', 'Echo Media SpA');
    await seedDpa(t, { customerId: c.a24 });
    const dpa48 = await seedDpa(t, { customerId: c.b48 });
    await t.db.superuser('UPDATE dpas SET breach_notice_hours = 48 WHERE id = $1', [dpa48]);
    // Charlie has no DPA in force: the 24-hour default applies.

    const inWindow = (minute: number) => new Date(Date.UTC(2026, 11, 10, 8, minute));
    await storeMessages(t, [
      messageRecord(c.a24, { msisdn: '+4917020000001', route: [carrier], submittedAt: inWindow(5) }),
      messageRecord(c.a24, { msisdn: '+4917020000001', route: [other, carrier], submittedAt: inWindow(15) }),
      messageRecord(c.a24, { msisdn: '+4917020000002', route: [carrier], submittedAt: inWindow(25), destinationCountry: 'AT' }),
      messageRecord(c.b48, { msisdn: '+4917020000003', route: [carrier], submittedAt: inWindow(35) }),
      messageRecord(c.b48, { msisdn: '+4917020000004', route: [carrier], submittedAt: inWindow(45) }),
      messageRecord(c.cDefault, { msisdn: '+4917020000005', route: [carrier], submittedAt: inWindow(55) }),
      messageRecord(c.dOtherCarrier, { msisdn: '+4917020000006', route: [other], submittedAt: inWindow(30) }),
      messageRecord(c.eOutsideWindow, { msisdn: '+4917020000007', route: [carrier], submittedAt: new Date('2026-12-10T07:30:00Z') }),
    ], at(0.25));

    const user = async (email: string, role: string, customerId?: string) => (await createUser(t, admin, { email, role, customerId })).token;
    token.security = await user(staffAddress('security'), 'security');
    token.dpo1 = await user(staffAddress('dpo1'), 'dpo');
    token.dpo2 = await user(staffAddress('dpo2'), 'dpo');
    token.auditor = await user(staffAddress('auditor'), 'auditor');
    token.userA = await user(`user-a-${tag}@customers.example.test`, 'customer', c.a24);
    token.userB = await user(`user-b-${tag}@customers.example.test`, 'customer', c.b48);
    token.userE = await user(`user-e-${tag}@customers.example.test`, 'customer', c.eOutsideWindow);

    const reported = await http().post('/api/v1/incidents').set(bearer(token.security)).send({
      title: 'Story Carrier: SMSC logs exported by a compromised operator account',
      description: 'The carrier\'s SOC reports that an operator account exported SMSC logs of 08:00–10:00 UTC.',
      detectedAt: at(-0.5).toISOString(), becameAwareAt: AWARE.toISOString(), subprocessorIds: [carrier],
      windowFrom: '2026-12-10T08:00:00Z', windowTo: '2026-12-10T10:00:00Z',
      dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: true,
    }).expect(201);
    incidentId = (reported.body as IncidentResponse).id;
    ref = incidentId.slice(0, 8);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('scopes exactly the three customers whose messages went through the carrier in the window, with their counts', async () => {
    await http().post(`/api/v1/incidents/${incidentId}/transitions`).set(bearer(token.security)).send({ to: 'triage' }).expect(200);
    const scope = (await http().post(`/api/v1/incidents/${incidentId}/scope`).set(bearer(token.security)).expect(200)).body as IncidentScopeResponse;
    expect(scope.customers.map((x) => [x.customerId, x.messageCount, x.distinctSubjects, x.destinationCountries]).sort()).toEqual([
      [c.a24, 3, 2, ['AT', 'DE']], [c.b48, 2, 2, ['DE']], [c.cDefault, 1, 1, ['DE']],
    ].sort());
    expect(scope.totals).toEqual({ customers: 3, messageCount: 6, distinctSubjects: 5 });
    await http().post(`/api/v1/incidents/${incidentId}/transitions`).set(bearer(token.dpo1)).send({ to: 'confirmed_breach' }).expect(200);
  });

  it('gives each customer its own deadline from its DPA: 24 h, 48 h and the 24 h default', async () => {
    const deadlines = Object.fromEntries((await clock()).map((x) => [x.customerId, [x.deadline, x.hoursFrom, x.status]]));
    expect(deadlines).toEqual({
      [c.a24]: [at(24).toISOString(), 'dpa', 'pending'],
      [c.b48]: [at(48).toISOString(), 'dpa', 'pending'],
      [c.cDefault]: [at(24).toISOString(), 'default', 'pending'],
    });
  });

  it('scores each customer\'s severity from its data profile, shows every input and takes an override with a reason', async () => {
    const severity = (await http().get(`/api/v1/incidents/${incidentId}/severity`).set(bearer(token.security)).expect(200)).body as {
      customers: { customerId: string; level: string; score: number; dpc: { value: number; basis: string } }[];
    };
    const of = (id: string) => severity.customers.find((x) => x.customerId === id)!;
    // Health messages of a sender with special-category data: sensitive (DPC 4); a bank's codes inherit its financial data (3).
    expect(of(c.b48)).toMatchObject({ dpc: { value: 4 }, level: 'very_high' });
    expect(of(c.a24).dpc).toMatchObject({ value: 3 });
    expect(of(c.a24).dpc.basis).toMatch(/financial/);
    const overridden = await http().put(`/api/v1/incidents/${incidentId}/customers/${c.cDefault}/severity`).set(bearer(token.dpo1))
      .send({ overrides: { cb: { value: 0.5, reason: 'The carrier confirmed the export went to one known party that has deleted it.' } } }).expect(200);
    const charlie = (overridden.body as typeof severity).customers.find((x) => x.customerId === c.cDefault) as unknown as { cb: { value: number; overrideReason: string } };
    expect(charlie.cb).toMatchObject({ value: 0.5, overrideReason: 'The carrier confirmed the export went to one known party that has deleted it.' });
    expectProblem(await http().put(`/api/v1/incidents/${incidentId}/customers/${c.cDefault}/severity`).set(bearer(token.dpo1))
      .send({ overrides: { ei: { value: 0.3, reason: 'not a step of the scale' } } }), 400, 'validation');
  });

  it('drafts the three notifications; the author may not approve its own; a second DPO approves two, which go to exactly their breach addresses', async () => {
    const drafts = ((await http().post(`/api/v1/incidents/${incidentId}/notifications`).set(bearer(token.security)).send({}).expect(201)).body as { items: BreachNotificationResponse[] }).items;
    expect(drafts.map((d) => d.customerId).sort()).toEqual([c.a24, c.b48, c.cDefault].sort());
    for (const d of drafts) notice[d.customerId] = d;
    expect(notice[c.a24].sections.dataSubjects).toContain('About 2 people');
    expect(notice[c.b48].sections.severity).toMatch(/^Severity: very high/);
    expect(notice[c.cDefault].sections.severity).toContain('The carrier confirmed the export went to one known party');

    const measures = { measures: 'The carrier disabled the account, revoked its sessions and is reviewing every export of the last 90 days.' };
    for (const customer of [c.a24, c.b48, c.cDefault]) {
      await http().patch(`/api/v1/breach-notifications/${notice[customer].id}`).set(bearer(token.dpo1)).send({ sections: measures }).expect(200);
    }
    // dpo1 edited every draft: dpo1 is one of its authors, and four eyes need another DPO.
    expectProblem(await http().post(`/api/v1/breach-notifications/${notice[c.a24].id}/approval`).set(bearer(token.dpo1)), 403, 'forbidden');
    expectProblem(await http().post(`/api/v1/breach-notifications/${notice[c.a24].id}/approval`).set(bearer(token.security)), 403, 'forbidden');
    for (const customer of [c.a24, c.b48]) {
      await http().post(`/api/v1/breach-notifications/${notice[customer].id}/approval`).set(bearer(token.dpo2)).expect(200);
    }
    await smtp.waitFor(2);
    await settle();
    const notifications = smtp.received.filter((m) => m.subject === `Personal data breach notification (incident ${ref})`);
    expect(notifications.map((m) => m.to)).toEqual(expect.arrayContaining([[breachAddress('a24')], [breachAddress('b48')]]));
    expect(notifications).toHaveLength(2);
    expect(smtp.received.every((m) => m.to.every((to) => !to.startsWith('dpo-')))).toBe(true);
  });

  it('escalates Charlie\'s unsent notification to the DPO and security at 50, 75 and 90% and once overdue, each once', async () => {
    const staff = [staffAddress('security'), staffAddress('dpo1'), staffAddress('dpo2')].sort();
    now = at(11.9);
    await runJob('breach-deadlines');
    expect(escalationMails()).toEqual([]);

    now = at(12);
    await runJob('breach-deadlines');
    await runJob('breach-deadlines');
    await smtp.waitFor(3);
    await settle();
    expect(escalationMails()).toHaveLength(1);
    expect(escalationMails()[0].to.sort()).toEqual(staff);
    expect(escalationMails()[0].text).toContain('Charlie Shop SARL');
    expect(escalationMails()[0].subject).not.toContain('Charlie');

    for (const [hours, count] of [[18, 2], [21.6, 3], [24.5, 4]] as const) {
      now = at(hours);
      await runJob('breach-deadlines');
      await smtp.waitFor(2 + count);
      await settle();
      expect(escalationMails()).toHaveLength(count);
    }
    expect(escalationMails().at(-1)!.subject).toMatch(/overdue/i);
    expect(await clockOf(c.cDefault)).toMatchObject({ status: 'overdue', sentAt: null });
    // Alpha and Bravo were sent in time: never escalated.
    expect(escalationMails().every((m) => !m.text.includes('Alpha Bank') && !m.text.includes('Bravo Clinic'))).toBe(true);
    expect(await clockOf(c.a24)).toMatchObject({ status: 'sent', sentAt: at(0.5).toISOString() });
  });

  it('approves Charlie\'s notification while the SMTP server is down; it arrives exactly once when the server is back', async () => {
    await smtp.stop();
    try {
      await http().post(`/api/v1/breach-notifications/${notice[c.cDefault].id}/approval`).set(bearer(token.dpo2)).expect(200);
      await new Promise((r) => setTimeout(r, 2500)); // a few delivery attempts fail meanwhile
      expect(await clockOf(c.cDefault)).toMatchObject({ status: 'overdue', sentAt: null, notificationId: notice[c.cDefault].id });
      const queued = (await http().get(`/api/v1/breach-notifications/${notice[c.cDefault].id}`).set(bearer(token.dpo1)).expect(200)).body as BreachNotificationResponse;
      expect(queued.delivery).toBe('queued');
    } finally {
      await smtp.start();
    }
    await waitFor(() => mailsTo(breachAddress('cDefault')).length > 0, 30_000);
    await settle();
    expect(mailsTo(breachAddress('cDefault'))).toHaveLength(1);
    expect(await clockOf(c.cDefault)).toMatchObject({ status: 'sent_late' });

    // Every customer told: the job records the deliveries and the incident becomes notified by itself.
    await runJob('breach-deadlines');
    const incident = (await http().get(`/api/v1/incidents/${incidentId}`).set(bearer(token.auditor)).expect(200)).body as IncidentResponse;
    expect(incident.status).toBe('notified');
    expect(incident.timeline!.filter((e) => e.kind === 'notification_sent')).toHaveLength(3);
    expect(incident.timeline!.filter((e) => e.kind === 'escalated').map((e) => e.customerId)).toEqual([c.cDefault, c.cDefault, c.cDefault, c.cDefault]);
  });

  it('is acknowledged by Alpha through the one-click link and by Bravo through the API; Charlie is reminded', async () => {
    const mail = mailsTo(breachAddress('a24')).find((m) => m.subject.startsWith('Personal data breach notification'))!;
    const link = new RegExp(`${BASE.replace(/\./g, '\\.')}(/api/v1/breach-acknowledgements/\\S+)`).exec(mail.text)![1];
    await http().get(link).expect(200);
    await http().post(link).expect(200);
    await http().post(link).expect(410);
    await http().post(`/api/v1/breach-notifications/${notice[c.b48].id}/acknowledgement`).set(bearer(token.userB)).expect(200);
    const acks = Object.fromEntries((await clock()).map((x) => [x.customerId, x.acknowledgedAt !== null]));
    expect(acks).toEqual({ [c.a24]: true, [c.b48]: true, [c.cDefault]: false });

    now = at(24.5 + 25);
    const before = mailsTo(breachAddress('cDefault')).length;
    await runJob('breach-acknowledgement-reminders');
    await waitFor(() => mailsTo(breachAddress('cDefault')).length > before);
    await settle();
    const reminders = mailsTo(breachAddress('cDefault')).slice(before);
    expect(reminders).toHaveLength(1);
    expect(reminders[0].text).toContain('/api/v1/breach-acknowledgements/');
    expect(smtp.received.filter((m) => /reminder/i.test(m.subject)).every((m) => m.to.length === 1 && m.to[0] === breachAddress('cDefault'))).toBe(true);
  });

  it('sends a follow-up to Alpha through the same path, linked to its notification, which Alpha\'s users see with the acknowledgement', async () => {
    const update = 'The carrier\'s review found that the export was not copied off its network; the account holder has been dismissed.';
    const followUp = (await http().post(`/api/v1/breach-notifications/${notice[c.a24].id}/follow-ups`).set(bearer(token.security))
      .send({ sections: { update } }).expect(201)).body as BreachNotificationResponse;
    expectProblem(await http().post(`/api/v1/breach-notifications/${followUp.id}/approval`).set(bearer(token.security)), 403, 'forbidden');
    await http().post(`/api/v1/breach-notifications/${followUp.id}/approval`).set(bearer(token.dpo1)).expect(200);
    await waitFor(() => mailsTo(breachAddress('a24')).some((m) => m.subject.startsWith('Update')));
    const mail = mailsTo(breachAddress('a24')).find((m) => m.subject.startsWith('Update'))!;
    expect(mail.text).toContain(update);

    const seen = ((await http().get('/api/v1/breach-notifications').set(bearer(token.userA)).expect(200)).body as BreachNotificationPage).items;
    expect(seen.map((n) => [n.kind, n.customerId, n.followUpOf]).sort()).toEqual([['follow_up', c.a24, notice[c.a24].id], ['initial', c.a24, null]]);
    expect(seen.find((n) => n.kind === 'initial')).toMatchObject({ acknowledgedVia: 'link' });
  });

  it('shows a customer user of an unaffected customer nothing of the incident', async () => {
    const e = bearer(token.userE);
    expect(((await http().get('/api/v1/breach-notifications').set(e).expect(200)).body as BreachNotificationPage).items).toEqual([]);
    for (const customer of [c.a24, c.b48, c.cDefault]) expectProblem(await http().get(`/api/v1/breach-notifications/${notice[customer].id}`).set(e), 404, 'not-found');
    expectProblem(await http().post(`/api/v1/breach-notifications/${notice[c.cDefault].id}/acknowledgement`).set(e), 404, 'not-found');
    expectProblem(await http().get(`/api/v1/incidents/${incidentId}`).set(e), 403, 'forbidden');
    expectProblem(await http().get(`/api/v1/incidents/${incidentId}/report`).set(e), 404, 'not-found');
    const mails = (await http().get('/api/v1/notifications').set(e).expect(200)).body as { items: unknown[] };
    expect(JSON.stringify(mails)).not.toContain(ref);
    // Nor did any mail go to the unaffected customers.
    expect(mailsTo(breachAddress('dOtherCarrier'))).toEqual([]);
    expect(mailsTo(breachAddress('eOutsideWindow'))).toEqual([]);
  });

  it('keeps every notification mail to its own customer\'s breach addresses, each sent once', async () => {
    const byNotification = new Map<string, ReceivedMail[]>();
    for (const m of smtp.received.filter((x) => x.headers.get('x-custodian-mail') === 'breach-notification')) {
      byNotification.set(m.messageId, [...(byNotification.get(m.messageId) ?? []), m]);
    }
    expect(byNotification.size).toBe(4); // three notifications and one follow-up
    expect([...byNotification.values()].every((copies) => copies.length === 1)).toBe(true);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
