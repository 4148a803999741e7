import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import { Clock } from '../src/common/clock';
import type { BreachNotificationResponse } from '../src/incidents/dto/breach-notification.dto';
import type { IncidentResponse, IncidentScopeResponse } from '../src/incidents/dto/incident.dto';
import type { IncidentEvidenceResponse } from '../src/incidents/dto/incident-evidence.dto';
import type { CustomerIncidentReportResponse, IncidentReportResponse } from '../src/incidents/dto/incident-report.dto';
import type { SeverityResponse } from '../src/incidents/dto/severity.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { ingestKey } from './support/ingestion';
import { bearer, expectProblem, problemFields } from './support/http';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';
import { startSmtp, TestSmtp } from './support/smtp';

const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;
const HOUR = 3_600_000;
const AWARE = new Date('2026-12-10T10:00:00.000Z');
const NOW = new Date(AWARE.getTime() + 2 * HOUR);
const TITLE = 'SMSC log export at the carrier <script>alert("x")</script> & more';
const DESCRIPTION = 'Internal only: a compromised operator account of the carrier exported SMSC logs via jump host jh-7.';
const EVIDENCE = Buffer.from('2026-12-10T08:03:11Z export job 4711 started by operator op-13\n');

/**
 * One breach touching three of four customers: Acme (DPA, 24 h) is notified (initial and a
 * follow-up, another follow-up still a draft), Bravo (DPA, 48 h) and Charlie (no DPA) have drafts
 * only, Delta is not affected. Evidence, a comment and an escalation are on the record.
 */
describe('incident report: the full record for staff, its own part for a notified customer', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now: Date;
  const tokens: Record<'dpo' | 'dpo2' | 'security' | 'legal' | 'auditor' | 'admin' | 'acme' | 'bravo' | 'delta', string> = {} as never;
  const userIds: Record<string, string> = {};
  let [acme, bravo, charlie, delta, incidentId] = ['', '', '', '', ''];
  let evidence: IncidentEvidenceResponse;

  const as = (role: keyof typeof tokens) => bearer(tokens[role]);
  const reportOf = (id: string, role: keyof typeof tokens) => t.http().get(`/api/v1/incidents/${id}/report`).set(as(role));
  const readsOf = async (id: string) => {
    const res = await t.http().get('/api/v1/audit').query({ subjectType: 'Incident', subjectId: id, action: 'incident.report_read' }).set(as('auditor')).expect(200);
    return (res.body as { items: AuditEntryResponse[] }).items;
  };

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: 'https://custodian.example.test' });
    now = new Date(NOW);
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    tokens.admin = await login(t, ADMIN.email, ADMIN.password);
    acme = await seedCustomer(t, { legalName: 'Acme Report GmbH', breachNotificationEmails: ['breach@acme.example.test'] });
    bravo = await seedCustomer(t, { legalName: 'Bravo Report SA', breachNotificationEmails: ['breach@bravo.example.test'] });
    charlie = await seedCustomer(t, { legalName: 'Charlie Report BV' });
    delta = await seedCustomer(t, { legalName: 'Delta Report AB' });
    await seedDpa(t, { customerId: acme });
    const bravoDpa = await seedDpa(t, { customerId: bravo });
    await t.db.superuser('UPDATE dpas SET breach_notice_hours = 48 WHERE id = $1', [bravoDpa]);
    for (const role of ['dpo', 'dpo2', 'security', 'legal', 'auditor'] as const) {
      const user = await createUser(t, tokens.admin, { email: unique(role), role: role === 'dpo2' ? 'dpo' : role });
      [tokens[role], userIds[role]] = [user.token, user.id];
    }
    for (const [name, customerId] of [['acme', acme], ['bravo', bravo], ['delta', delta]] as const) {
      tokens[name] = (await createUser(t, tokens.admin, { email: unique(name), role: 'customer', customerId })).token;
    }

    const [carrier, other] = [await seedSubprocessor(t, { legalEntity: 'Carrier Report AG', country: 'DE' }), await seedSubprocessor(t, { legalEntity: 'Other Report SA', country: 'FR' })];
    const at = (time: string) => new Date(`2026-12-10T${time}Z`);
    await storeMessages(t, [
      messageRecord(acme, { msisdn: '+4917022220001', route: [carrier], submittedAt: at('08:10:00') }),
      messageRecord(acme, { msisdn: '+4917022220001', route: [carrier], submittedAt: at('08:20:00') }),
      messageRecord(acme, { msisdn: '+4917022220002', route: [carrier], submittedAt: at('09:10:00'), destinationCountry: 'AT' }),
      messageRecord(bravo, { msisdn: '+4917022220003', route: [carrier], submittedAt: at('08:30:00') }),
      messageRecord(charlie, { msisdn: '+4917022220004', route: [carrier], submittedAt: at('09:30:00') }),
      messageRecord(delta, { msisdn: '+4917022220005', route: [other], submittedAt: at('09:00:00') }),
    ], NOW);

    incidentId = ((await t.http().post('/api/v1/incidents').set(as('security')).send({
      title: TITLE, description: DESCRIPTION, detectedAt: '2026-12-10T09:30:00Z', becameAwareAt: AWARE.toISOString(),
      subprocessorIds: [carrier], windowFrom: '2026-12-10T08:00:00Z', windowTo: '2026-12-10T10:00:00Z',
      dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: true,
    }).expect(201)).body as IncidentResponse).id;
    const incidentPath = `/api/v1/incidents/${incidentId}`;
    await t.http().post(`${incidentPath}/scope`).set(as('security')).expect(200);
    await t.http().post(`${incidentPath}/transitions`).set(as('security')).send({ to: 'triage' }).expect(200);
    await t.http().post(`${incidentPath}/transitions`).set(as('dpo')).send({ to: 'confirmed_breach' }).expect(200);
    await t.http().post(`${incidentPath}/comments`).set(as('security')).send({ text: 'Carrier confirms bodies were in the export.' }).expect(200);
    evidence = (await t.http().post(`${incidentPath}/evidence`).query({ fileName: 'carrier-export.log' }).set(as('security'))
      .set('Content-Type', 'text/plain').send(EVIDENCE).expect(201)).body as IncidentEvidenceResponse;

    // Drafts for all three; Acme's is completed and approved by a DPO who wrote none of it.
    const drafts = ((await t.http().post(`${incidentPath}/notifications`).set(as('security')).send({}).expect(201)).body as { items: BreachNotificationResponse[] }).items;
    const acmeDraft = drafts.find((d) => d.customerId === acme)!;
    const blanks = Object.fromEntries(Object.entries(acmeDraft.sections).filter(([, text]) => text.includes('[to be completed]'))
      .map(([name]) => [name, `Completed by security: ${name}.`]));
    await t.http().patch(`/api/v1/breach-notifications/${acmeDraft.id}`).set(as('security')).send({ sections: blanks }).expect(200);
    await t.http().post(`/api/v1/breach-notifications/${acmeDraft.id}/approval`).set(as('dpo')).expect(200);
    await smtp.waitFor(1);
    now = new Date(NOW.getTime() + 30 * 60_000);
    const followUp = (await t.http().post(`/api/v1/breach-notifications/${acmeDraft.id}/follow-ups`).set(as('security'))
      .send({ sections: { update: 'The carrier has revoked the operator account.' } }).expect(201)).body as BreachNotificationResponse;
    await t.http().post(`/api/v1/breach-notifications/${followUp.id}/approval`).set(as('dpo2')).expect(200);
    now = new Date(NOW.getTime() + 60 * 60_000);
    await t.http().post(`/api/v1/breach-notifications/${acmeDraft.id}/follow-ups`).set(as('security'))
      .send({ sections: { update: 'Draft: forensic findings, not yet reviewed.' } }).expect(201);
    await smtp.waitFor(2);

    // 13 of 24 hours gone: Charlie's (unsent) window escalates at half time; Acme's was sent, Bravo has 48 hours.
    now = new Date(AWARE.getTime() + 13 * HOUR);
    await t.http().post('/api/v1/jobs/breach-deadlines/run').set(as('dpo')).expect(200);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('gives staff the whole record: facts, scope, each customer\'s deadline, severity, escalations and notifications, timeline and evidence', async () => {
    const readsBefore = (await readsOf(incidentId)).length;
    const report = (await reportOf(incidentId, 'security').expect(200)).body as IncidentReportResponse;
    expect(report.part).toBe('full');
    expect(report.generatedAt).toBe(now.toISOString());

    const { timeline, ...facts } = (await t.http().get(`/api/v1/incidents/${incidentId}`).set(as('dpo')).expect(200)).body as IncidentResponse;
    expect(report.incident).toEqual(facts);
    expect(report.incident.description).toBe(DESCRIPTION);
    expect(report.timeline).toEqual(timeline);
    expect(report.timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(['reported', 'scoped', 'comment', 'evidence_added', 'notification_approved', 'escalated']));
    const scope = (await t.http().get(`/api/v1/incidents/${incidentId}/scope`).set(as('dpo')).expect(200)).body as IncidentScopeResponse;
    expect(report.scope).toEqual(scope);
    expect(report.scope.totals).toEqual({ customers: 3, messageCount: 5, distinctSubjects: 4 });
    expect(report.evidence).toEqual([evidence]);
    expect(evidence.sha256).toBe(createHash('sha256').update(EVIDENCE).digest('hex'));

    const byId = new Map(report.customers.map((c) => [c.customerId, c]));
    expect([...byId.keys()].sort()).toEqual([acme, bravo, charlie].sort());
    const deadline = (hours: number) => new Date(AWARE.getTime() + hours * HOUR).toISOString();
    expect(byId.get(acme)).toMatchObject({ legalName: 'Acme Report GmbH', included: true, deadline: { breachNoticeHours: 24, hoursFrom: 'dpa', deadline: deadline(24), status: 'sent' } });
    expect(byId.get(bravo)).toMatchObject({ included: true, deadline: { breachNoticeHours: 48, hoursFrom: 'dpa', deadline: deadline(48), status: 'pending', timeLeftMs: 35 * HOUR } });
    expect(byId.get(charlie)).toMatchObject({ included: true, deadline: { breachNoticeHours: 24, hoursFrom: 'default', deadline: deadline(24), status: 'pending', timeLeftMs: 11 * HOUR } });
    expect(report.customers.map((c) => [c.customerId, c.escalations.map((e) => e.escalation)]).sort()).toEqual([[acme, []], [bravo, []], [charlie, ['50']]].sort());

    const severity = (await t.http().get(`/api/v1/incidents/${incidentId}/severity`).set(as('dpo')).expect(200)).body as SeverityResponse;
    for (const { customerId, ...assessment } of severity.customers) expect(byId.get(customerId)!.severity).toEqual(assessment);

    const notifications = (customerId: string) => byId.get(customerId)!.notifications.map((n) => [n.kind, n.status]);
    expect(notifications(acme)).toEqual([['initial', 'approved'], ['follow_up', 'approved'], ['follow_up', 'draft']]);
    expect(notifications(bravo)).toEqual([['initial', 'draft']]);
    expect(notifications(charlie)).toEqual([['initial', 'draft']]);
    const [initial] = byId.get(acme)!.notifications;
    expect(initial.sentAt).toEqual(expect.any(String));
    expect(initial).toMatchObject({ acknowledgedAt: null, remindersSent: 0, recipients: ['breach@acme.example.test'] });

    const reads = await readsOf(incidentId);
    expect(reads).toHaveLength(readsBefore + 1);
    expect(reads[0]).toMatchObject({ actorId: userIds.security, changes: { part: 'full' } });
  });

  it('serves the record as a printable HTML page, everything escaped, under a strict CSP', async () => {
    const res = await t.http().get(`/api/v1/incidents/${incidentId}/report`).query({ format: 'html' }).set(as('legal')).expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'");
    const html = res.text;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('SMSC log export at the carrier &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('@media print');
    for (const [id, name] of [[acme, 'Acme Report GmbH'], [bravo, 'Bravo Report SA'], [charlie, 'Charlie Report BV']]) {
      expect(html).toContain(id);
      expect(html).toContain(name);
    }
    expect(html).not.toContain(delta);
    for (const heading of ['Incident', 'Scope', 'Customers', 'Timeline', 'Evidence']) expect(html).toContain(`<h2>${heading}</h2>`);
    expect(html).toContain(evidence.sha256);

    // A browser's Accept header gets the page too; a client that does not care gets JSON.
    const browser = await t.http().get(`/api/v1/incidents/${incidentId}/report`).set(as('auditor')).set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8').expect(200);
    expect(browser.headers['content-type']).toBe('text/html; charset=utf-8');
    const any = await t.http().get(`/api/v1/incidents/${incidentId}/report`).set(as('auditor')).set('Accept', '*/*').expect(200);
    expect(any.headers['content-type']).toMatch(/^application\/json/);
    expect((any.body as IncidentReportResponse).part).toBe('full');
    const bad = await t.http().get(`/api/v1/incidents/${incidentId}/report`).query({ format: 'pdf' }).set(as('auditor'));
    expectProblem(bad, 400, 'validation');
    expect(problemFields(bad)).toEqual(['format']);
  });

  it('gives a notified customer only its own part: no other customer, description, timeline, evidence or who wrote what', async () => {
    const readsBefore = (await readsOf(incidentId)).length;
    const res = await reportOf(incidentId, 'acme').expect(200);
    const report = res.body as CustomerIncidentReportResponse;
    const staff = (await reportOf(incidentId, 'dpo').expect(200)).body as IncidentReportResponse;
    const ours = staff.customers.find((c) => c.customerId === acme)!;

    expect(Object.keys(report).sort()).toEqual(['customerId', 'deadline', 'generatedAt', 'incident', 'legalName', 'notifications', 'part', 'scope', 'severity']);
    expect(report).toMatchObject({ part: 'customer', customerId: acme, legalName: 'Acme Report GmbH', deadline: ours.deadline, severity: ours.severity });
    expect(report.incident).toEqual({
      id: incidentId, title: TITLE, nature: ['confidentiality'], dataCategories: ['msisdn', 'body'], detectedAt: '2026-12-10T09:30:00.000Z',
      becameAwareAt: AWARE.toISOString(), windowFrom: '2026-12-10T08:00:00.000Z', windowTo: '2026-12-10T10:00:00.000Z', status: 'notifying',
    });
    expect(report.scope).toEqual({ messageCount: 3, distinctSubjects: 2, readableCategories: ['body', 'msisdn'], destinationCountries: ['AT', 'DE'] });
    // Its approved notification and follow-up, as sent; not the draft follow-up.
    const approved = ours.notifications.filter((n) => n.status === 'approved');
    expect(report.notifications).toEqual(approved.map(({ authors: _a, approvedBy: _b, ...rest }) => rest));
    expect(report.notifications).toHaveLength(2);

    const body = JSON.stringify(report);
    for (const secret of [bravo, charlie, delta, DESCRIPTION, 'jh-7', evidence.sha256, 'carrier-export.log', ...Object.values(userIds), 'Draft: forensic']) {
      expect(body).not.toContain(secret);
    }
    const reads = await readsOf(incidentId);
    expect(reads).toHaveLength(readsBefore + 2);
    expect(reads.map((e) => e.changes)).toEqual(expect.arrayContaining([{ part: 'customer' }]));

    const html = await t.http().get(`/api/v1/incidents/${incidentId}/report`).set(as('acme')).set('Accept', 'text/html').expect(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.text).toContain('Acme Report GmbH');
    expect(html.text).toContain('The carrier has revoked the operator account.');
    for (const secret of [bravo, charlie, 'Bravo Report SA', 'Charlie Report BV', 'jh-7', evidence.sha256, ...Object.values(userIds)]) expect(html.text).not.toContain(secret);
  });

  it('answers 404 to a customer without an approved notification, of an unaffected customer, or for another incident, exactly like a missing one', async () => {
    const readsBefore = (await readsOf(incidentId)).length;
    const missing = expectProblem(await reportOf(randomUUID(), 'acme'), 404, 'not-found');
    for (const res of [await reportOf(incidentId, 'bravo'), await reportOf(incidentId, 'delta'), await reportOf('not-a-uuid', 'acme')]) {
      expect(expectProblem(res, 404, 'not-found').detail).toBe(missing.detail);
    }
    const other = ((await t.http().post('/api/v1/incidents').set(as('security')).send({
      title: 'Unrelated portal incident', description: 'Not about Acme.', detectedAt: '2026-12-10T09:00:00Z', becameAwareAt: '2026-12-10T09:30:00Z',
      internalSystems: ['portal'], dataCategories: ['msisdn'], nature: ['availability'], maliciousIntent: false,
    }).expect(201)).body as IncidentResponse).id;
    expect(expectProblem(await reportOf(other, 'acme'), 404, 'not-found').detail).toBe(missing.detail);
    expect(await readsOf(incidentId)).toHaveLength(readsBefore);
  });

  it('refuses anonymous callers (401), ingest keys and admins (403), and staff asking for an unknown incident (404)', async () => {
    expectProblem(await t.http().get(`/api/v1/incidents/${incidentId}/report`), 401, 'unauthorized');
    const key = await ingestKey(t, tokens.admin);
    expectProblem(await t.http().get(`/api/v1/incidents/${incidentId}/report`).set(bearer(key)), 403, 'forbidden');
    expectProblem(await reportOf(incidentId, 'admin'), 403, 'forbidden');
    expectProblem(await reportOf(randomUUID(), 'legal'), 404, 'not-found');
  });
});
