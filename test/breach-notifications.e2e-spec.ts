import { randomBytes, randomUUID } from 'node:crypto';
import { Clock } from '../src/common/clock';
import type { BreachNotificationPage, BreachNotificationResponse } from '../src/incidents/dto/breach-notification.dto';
import type { IncidentResponse, IncidentScopeResponse } from '../src/incidents/dto/incident.dto';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem, problemFields } from './support/http';
import { seedCustomer, seedSubprocessor } from './support/registry-fixtures';
import { startSmtp, TestSmtp } from './support/smtp';

const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;
const NOW = new Date('2026-12-10T12:00:00.000Z');
const BASE = 'https://custodian.example.test';

describe('breach notifications: drafts, four eyes, sending, acknowledgement, follow-ups', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now: Date;
  const tokens: Record<'dpo' | 'dpo2' | 'security' | 'legal' | 'acme' | 'bravo', string> = {} as never;
  let acme: string;
  let bravo: string;
  let carrier: string;
  let securityId: string;
  let dpoId: string;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: BASE, DPO_CONTACT: 'Pat Privacy, DPO, dpo@provider.example.test' });
    now = new Date(NOW);
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    const admin = await login(t, ADMIN.email, ADMIN.password);
    acme = await seedCustomer(t, { legalName: 'Acme Notify GmbH', breachNotificationEmails: ['breach@acme.example.test', 'ciso@acme.example.test'] });
    bravo = await seedCustomer(t, { legalName: 'Bravo Notify SA', breachNotificationEmails: ['breach@bravo.example.test'] });
    carrier = await seedSubprocessor(t, { legalEntity: 'Carrier Notify AG', country: 'DE' });
    const dpo = await createUser(t, admin, { email: unique('dpo'), role: 'dpo' });
    [dpoId, tokens.dpo] = [dpo.id, dpo.token];
    tokens.dpo2 = (await createUser(t, admin, { email: unique('dpo2'), role: 'dpo' })).token;
    const security = await createUser(t, admin, { email: unique('security'), role: 'security' });
    [securityId, tokens.security] = [security.id, security.token];
    tokens.legal = (await createUser(t, admin, { email: unique('legal'), role: 'legal' })).token;
    tokens.acme = (await createUser(t, admin, { email: unique('acme'), role: 'customer', customerId: acme })).token;
    tokens.bravo = (await createUser(t, admin, { email: unique('bravo'), role: 'customer', customerId: bravo })).token;
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  /** A confirmed breach of an internal system whose affected customers the DPO named. */
  async function confirmedBreach(customers: string[]): Promise<string> {
    const { id } = (await t.http().post('/api/v1/incidents').set(bearer(tokens.security)).send({
      title: 'Gateway log bucket readable from the internet', description: 'A storage bucket with gateway logs was public for six hours.',
      detectedAt: '2026-12-10T08:00:00Z', becameAwareAt: '2026-12-10T09:00:00Z', internalSystems: ['sms-gateway'], subprocessorIds: [carrier],
      dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: false,
    }).expect(201)).body as IncidentResponse;
    for (const customer of customers) {
      await t.http().put(`/api/v1/incidents/${id}/customers/${customer}`).set(bearer(tokens.dpo)).send({ included: true, reason: 'Its logs were in the bucket' }).expect(200);
    }
    await t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(tokens.security)).send({ to: 'triage' }).expect(200);
    await t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(tokens.dpo)).send({ to: 'confirmed_breach' }).expect(200);
    return id;
  }
  const draft = async (id: string, token = tokens.security) =>
    ((await t.http().post(`/api/v1/incidents/${id}/notifications`).set(bearer(token)).send({}).expect(201)).body as { items: BreachNotificationResponse[] }).items;
  const edit = (id: string, sections: Record<string, string>, token = tokens.security) =>
    t.http().patch(`/api/v1/breach-notifications/${id}`).set(bearer(token)).send({ sections });
  const approve = (id: string, token: string) => t.http().post(`/api/v1/breach-notifications/${id}/approval`).set(bearer(token));
  const MEASURES = 'We closed the bucket, rotated the access keys and asked the search engines to drop cached copies.';
  /** What only a person can write into a draft for customers the DPO added (no counts from the message store). */
  const COMPLETE = { measures: MEASURES, dataSubjects: 'About 1,200 recipients of your messages.', records: 'About 3,400 log lines, one per message.' };

  it('drafts one notification per included customer with the Art. 33(3) facts, and refuses to draft before the breach is confirmed', async () => {
    const { id: early } = (await t.http().post('/api/v1/incidents').set(bearer(tokens.security)).send({
      title: 'Suspicious login', description: 'Under investigation.', detectedAt: '2026-12-10T08:00:00Z', becameAwareAt: '2026-12-10T09:00:00Z',
      internalSystems: ['portal'], dataCategories: ['msisdn'], nature: ['confidentiality'], maliciousIntent: true,
    }).expect(201)).body as IncidentResponse;
    expectProblem(await t.http().post(`/api/v1/incidents/${early}/notifications`).set(bearer(tokens.security)).send({}), 409, 'conflict');

    const id = await confirmedBreach([acme, bravo]);
    const drafts = await draft(id);
    expect(drafts.map((d) => d.customerId).sort()).toEqual([acme, bravo].sort());
    const acmeDraft = drafts.find((d) => d.customerId === acme)!;
    expect(acmeDraft).toMatchObject({ kind: 'initial', status: 'draft', delivery: 'draft', authors: [securityId], recipients: [], sentAt: null });
    expect(acmeDraft.sections.nature).toContain('Gateway log bucket readable from the internet');
    expect(acmeDraft.sections.nature).toContain('Carrier Notify AG');
    expect(acmeDraft.sections.categories).toContain('mobile phone numbers');
    expect(acmeDraft.sections.contact).toBe('Pat Privacy, DPO, dpo@provider.example.test');
    expect(acmeDraft.sections.severity).toMatch(/^Severity: (low|medium|high|very high) \(/);
    expect(acmeDraft.sections.measures).toContain('[to be completed]');
    // A second call drafts nothing new.
    expectProblem(await t.http().post(`/api/v1/incidents/${id}/notifications`).set(bearer(tokens.dpo)).send({}), 409, 'conflict');
    const wrong = await t.http().post(`/api/v1/incidents/${id}/notifications`).set(bearer(tokens.dpo)).send({ customerIds: [randomUUID()] });
    expectProblem(wrong, 400, 'validation');
    expect(problemFields(wrong)).toEqual(['customerIds']);
    // Legal reads incidents but writes no notifications; customers never see drafts.
    expectProblem(await t.http().post(`/api/v1/incidents/${id}/notifications`).set(bearer(tokens.legal)).send({}), 403, 'forbidden');
    expectProblem(await t.http().get(`/api/v1/breach-notifications/${acmeDraft.id}`).set(bearer(tokens.acme)), 404, 'not-found');
    expect(((await t.http().get('/api/v1/breach-notifications').set(bearer(tokens.acme)).expect(200)).body as BreachNotificationPage).items).toEqual([]);
  });

  it('takes edits of known parts only, keeps approval for a DPO who wrote none of it, and sends to the breach addresses only', async () => {
    const id = await confirmedBreach([acme]);
    const [n] = await draft(id);
    const bad = await edit(n.id, { update: 'not a part of an initial notification' });
    expectProblem(bad, 400, 'validation');
    expect(problemFields(bad)).toEqual(['sections.update']);
    for (const blank of ['', '   \n ']) {
      const empty = await edit(n.id, { measures: blank });
      expectProblem(empty, 400, 'validation');
      expect(problemFields(empty)).toEqual(['sections.measures']);
    }
    expectProblem(await t.http().patch(`/api/v1/breach-notifications/${n.id}`).set(bearer(tokens.security)).send({ sections: {}, status: 'approved' }), 400, 'validation');

    // Still a blank to fill: not approvable, whoever asks.
    const blank = await approve(n.id, tokens.dpo);
    expectProblem(blank, 400, 'validation');
    expect(problemFields(blank)).toEqual(['sections.dataSubjects', 'sections.records', 'sections.measures']);

    // The DPO edits it, so the DPO is an author now and may not approve it; security never approves.
    await edit(n.id, COMPLETE, tokens.dpo).expect(200);
    const own = await approve(n.id, tokens.dpo);
    expectProblem(own, 403, 'forbidden');
    expect(own.body.detail).toMatch(/four eyes/i);
    expectProblem(await approve(n.id, tokens.security), 403, 'forbidden');
    expect(smtp.received.filter((m) => m.subject.includes(id.slice(0, 8)))).toEqual([]);

    const approved = (await approve(n.id, tokens.dpo2).expect(200)).body as BreachNotificationResponse;
    expect(approved).toMatchObject({ status: 'approved', authors: [securityId, dpoId], recipients: ['breach@acme.example.test', 'ciso@acme.example.test'] });
    const incident = (await t.http().get(`/api/v1/incidents/${id}`).set(bearer(tokens.dpo)).expect(200)).body as IncidentResponse;
    expect(incident.status).toBe('notifying');
    expect(incident.timeline!.map((e) => e.kind)).toEqual(expect.arrayContaining(['notification_drafted', 'notification_edited', 'notification_approved']));

    const [mail] = (await smtp.waitFor(smtp.received.length + 1)).filter((m) => m.subject.includes(id.slice(0, 8)));
    expect(mail.to.sort()).toEqual(['breach@acme.example.test', 'ciso@acme.example.test']);
    expect(mail.subject).toBe(`Personal data breach notification (incident ${id.slice(0, 8)})`);
    expect(mail.text).toContain(MEASURES);
    expect(mail.text).toContain('Acme Notify GmbH');
    expect(mail.html).toContain('Acknowledge receipt');
    // Approved means sent as it was: no more edits.
    expectProblem(await edit(n.id, { measures: 'Changed afterwards' }, tokens.dpo2), 409, 'conflict');
  });

  it('is acknowledged by the one-click link once (GET only asks), and the customer sees it and its acknowledgement', async () => {
    const id = await confirmedBreach([acme, bravo]);
    const drafts = await draft(id);
    for (const n of drafts) {
      await edit(n.id, COMPLETE).expect(200);
      await approve(n.id, tokens.dpo).expect(200);
    }
    const acmeN = drafts.find((d) => d.customerId === acme)!;
    const mails = await smtp.waitFor(smtp.received.length);
    const acmeMail = (await waitForMail(smtp, (m) => m.subject.includes(id.slice(0, 8)) && m.to.includes('breach@acme.example.test')));
    const link = /https:\/\/custodian\.example\.test(\/api\/v1\/breach-acknowledgements\/\S+)/.exec(acmeMail.text)![1];
    expect(mails.length).toBeGreaterThan(0);

    // A mail scanner's GET acknowledges nothing.
    const prompt = await t.http().get(link).expect(200);
    expect(prompt.headers['content-type']).toMatch(/^text\/html/);
    expect(prompt.text).toContain('<form method="post">');
    expect(((await t.http().get(`/api/v1/breach-notifications/${acmeN.id}`).set(bearer(tokens.acme)).expect(200)).body as BreachNotificationResponse).acknowledgedAt).toBeNull();

    const done = await t.http().post(link).expect(200);
    expect(done.text).toContain('Receipt acknowledged');
    const again = await t.http().post(link).expect(410);
    expect(again.text).toContain('Already acknowledged');
    const seen = (await t.http().get(`/api/v1/breach-notifications/${acmeN.id}`).set(bearer(tokens.acme)).expect(200)).body as BreachNotificationResponse;
    expect(seen).toMatchObject({ acknowledgedVia: 'link', acknowledgedAt: now.toISOString() });
    // Who wrote and approved it is the provider's business.
    expect(seen).not.toHaveProperty('authors');
    expect(seen).not.toHaveProperty('approvedBy');
    expectProblem(await t.http().post(`/api/v1/breach-notifications/${acmeN.id}/acknowledgement`).set(bearer(tokens.acme)), 409, 'conflict');

    // Forged, tampered and expired links.
    await t.http().get('/api/v1/breach-acknowledgements/not-a-token').expect(404);
    await t.http().post(link.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))).expect(404);
    const bravoMail = await waitForMail(smtp, (m) => m.subject.includes(id.slice(0, 8)) && m.to.includes('breach@bravo.example.test'));
    const bravoLink = /https:\/\/custodian\.example\.test(\/api\/v1\/breach-acknowledgements\/\S+)/.exec(bravoMail.text)![1];
    now = new Date(NOW.getTime() + 169 * 3_600_000);
    try {
      expect((await t.http().post(bravoLink).expect(410)).text).toContain('expired');
    } finally {
      now = new Date(NOW);
    }

    // Bravo's user acknowledges through the API; Acme's user can neither see nor acknowledge Bravo's.
    const bravoN = drafts.find((d) => d.customerId === bravo)!;
    expectProblem(await t.http().post(`/api/v1/breach-notifications/${bravoN.id}/acknowledgement`).set(bearer(tokens.acme)), 404, 'not-found');
    expectProblem(await t.http().get(`/api/v1/breach-notifications/${bravoN.id}`).set(bearer(tokens.acme)), 404, 'not-found');
    const acked = (await t.http().post(`/api/v1/breach-notifications/${bravoN.id}/acknowledgement`).set(bearer(tokens.bravo)).expect(200)).body as BreachNotificationResponse;
    expect(acked).toMatchObject({ acknowledgedVia: 'api', acknowledgedAt: now.toISOString() });
    const acmeList = ((await t.http().get('/api/v1/breach-notifications').query({ incidentId: id }).set(bearer(tokens.acme)).expect(200)).body as BreachNotificationPage).items;
    expect(acmeList.map((n) => n.customerId)).toEqual([acme]);
    // Customers have no way into the incident itself.
    expectProblem(await t.http().get(`/api/v1/incidents/${id}`).set(bearer(tokens.acme)), 403, 'forbidden');
  });

  it('sends a follow-up through the same path, linked to the notification it updates', async () => {
    const id = await confirmedBreach([bravo]);
    const [n] = await draft(id);
    const early = await t.http().post(`/api/v1/breach-notifications/${n.id}/follow-ups`).set(bearer(tokens.security)).send({ sections: { update: 'More soon.' } });
    expectProblem(early, 409, 'conflict');
    await edit(n.id, COMPLETE).expect(200);
    await approve(n.id, tokens.dpo).expect(200);

    const missing = await t.http().post(`/api/v1/breach-notifications/${n.id}/follow-ups`).set(bearer(tokens.security)).send({ sections: { nature: 'x' } });
    expectProblem(missing, 400, 'validation');
    expect(problemFields(missing).sort()).toEqual(['sections.nature', 'sections.update']);
    const update = 'Forensics found that the bucket was indexed but no copy was downloaded outside our own monitoring.';
    now = new Date(NOW.getTime() + 3 * 3_600_000);
    const followUp = (await t.http().post(`/api/v1/breach-notifications/${n.id}/follow-ups`).set(bearer(tokens.security))
      .send({ sections: { update } }).expect(201)).body as BreachNotificationResponse;
    expect(followUp).toMatchObject({ kind: 'follow_up', followUpOf: n.id, status: 'draft', customerId: bravo });
    expectProblem(await t.http().post(`/api/v1/breach-notifications/${followUp.id}/follow-ups`).set(bearer(tokens.security)).send({ sections: { update } }), 409, 'conflict');
    await approve(followUp.id, tokens.dpo).expect(200);
    const mail = await waitForMail(smtp, (m) => m.subject === `Update to the personal data breach notification (incident ${id.slice(0, 8)})`);
    expect(mail.to).toEqual(['breach@bravo.example.test']);
    expect(mail.text).toContain(update);
    const list = ((await t.http().get(`/api/v1/incidents/${id}/notifications`).set(bearer(tokens.legal)).expect(200)).body as { items: BreachNotificationResponse[] }).items;
    expect(list.map((x) => [x.kind, x.followUpOf])).toEqual([['initial', null], ['follow_up', n.id]]);
    now = new Date(NOW);
  });

  it('sends a notification whose mail was refused for good again, once legal has corrected the address', async () => {
    const id = await confirmedBreach([bravo]);
    const [n] = await draft(id);
    await edit(n.id, COMPLETE).expect(200);
    expectProblem(await t.http().post(`/api/v1/breach-notifications/${n.id}/resend`).set(bearer(tokens.dpo)), 409, 'conflict');
    await waitForNoQueuedMail(t);
    smtp.answers.push(550);
    await approve(n.id, tokens.dpo).expect(200);
    const failed = await waitForDelivery(t, tokens.dpo, n.id, 'failed');
    expect(failed.sentAt).toBeNull();

    await t.http().patch(`/api/v1/customers/${bravo}`).set(bearer(tokens.legal)).send({ breachNotificationEmails: ['security@bravo.example.test'] }).expect(200);
    expectProblem(await t.http().post(`/api/v1/breach-notifications/${n.id}/resend`).set(bearer(tokens.security)), 403, 'forbidden');
    const resent = (await t.http().post(`/api/v1/breach-notifications/${n.id}/resend`).set(bearer(tokens.dpo)).expect(200)).body as BreachNotificationResponse;
    expect(resent).toMatchObject({ recipients: ['security@bravo.example.test'], delivery: 'queued' });
    const mail = await waitForMail(smtp, (m) => m.subject.includes(id.slice(0, 8)) && m.to.includes('security@bravo.example.test'));
    expect(mail.to).toEqual(['security@bravo.example.test']);
    await waitForDelivery(t, tokens.dpo, n.id, 'sent');
    const timeline = ((await t.http().get(`/api/v1/incidents/${id}`).set(bearer(tokens.dpo)).expect(200)).body as IncidentResponse).timeline!;
    expect(timeline.map((e) => e.kind)).toContain('notification_resent');
    await t.http().patch(`/api/v1/customers/${bravo}`).set(bearer(tokens.legal)).send({ breachNotificationEmails: ['breach@bravo.example.test'] }).expect(200);
  });

  it('holds back a draft the facts have overtaken until a person has looked at it again; a redraft keeps what they wrote', async () => {
    const id = await confirmedBreach([acme]);
    const [n] = await draft(id);
    await edit(n.id, COMPLETE).expect(200);
    now = new Date(NOW.getTime() + 60_000);
    try {
      await t.http().put(`/api/v1/incidents/${id}/customers/${acme}/severity`).set(bearer(tokens.dpo))
        .send({ overrides: { cb: { value: 0.25, reason: 'The bucket was found by one researcher, who reported it to us.' } } }).expect(200);
      now = new Date(NOW.getTime() + 120_000);
      const stale = await approve(n.id, tokens.dpo2);
      expectProblem(stale, 409, 'conflict');
      expect(stale.body).toMatchObject({ changes: ['severity_overridden'] });

      const redrafted = ((await t.http().post(`/api/v1/incidents/${id}/notifications`).set(bearer(tokens.security))
        .send({ customerIds: [acme], redraft: true }).expect(201)).body as { items: BreachNotificationResponse[] }).items;
      expect(redrafted.map((x) => x.id)).toEqual([n.id]);
      expect(redrafted[0].sections.severity).toContain('The bucket was found by one researcher');
      expect(redrafted[0].sections.measures).toBe(MEASURES);
      expect(redrafted[0].sections.dataSubjects).toBe(COMPLETE.dataSubjects);
      await approve(n.id, tokens.dpo2).expect(200);
      // An approved notification is not redrafted: follow-ups carry what is new.
      expectProblem(await t.http().post(`/api/v1/incidents/${id}/notifications`).set(bearer(tokens.security)).send({ customerIds: [acme], redraft: true }), 409, 'conflict');
    } finally {
      now = new Date(NOW);
    }
  });

  it('goes back to notifying when a customer is added after everyone was told, and cannot be closed before it is told too', async () => {
    const id = await confirmedBreach([acme]);
    const [n] = await draft(id);
    await edit(n.id, COMPLETE).expect(200);
    await approve(n.id, tokens.dpo2).expect(200);
    await waitForDelivery(t, tokens.dpo, n.id, 'sent');
    await t.http().post('/api/v1/jobs/breach-deadlines/run').set(bearer(tokens.dpo)).expect(200);
    const status = async () => ((await t.http().get(`/api/v1/incidents/${id}`).set(bearer(tokens.dpo)).expect(200)).body as IncidentResponse).status;
    expect(await status()).toBe('notified');

    await t.http().put(`/api/v1/incidents/${id}/customers/${bravo}`).set(bearer(tokens.dpo)).send({ included: true, reason: 'Its logs were in a second bucket' }).expect(200);
    expect(await status()).toBe('notifying');
    const close = await t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(tokens.dpo)).send({ to: 'notified' });
    expectProblem(close, 409, 'conflict');
    expect(close.body).toMatchObject({ customerIds: [bravo] });
  });

  it('keeps a notified customer on record, excluded, when new facts take it out of scope', async () => {
    await storeMessages(t, [messageRecord(acme, { msisdn: '+4917033330001', route: [carrier], submittedAt: new Date('2026-12-10T06:30:00Z') })], NOW);
    const { id } = (await t.http().post('/api/v1/incidents').set(bearer(tokens.security)).send({
      title: 'Carrier SMSC logs exported', description: 'An operator account exported logs.', detectedAt: '2026-12-10T08:00:00Z',
      becameAwareAt: '2026-12-10T09:00:00Z', subprocessorIds: [carrier], windowFrom: '2026-12-10T06:00:00Z', windowTo: '2026-12-10T07:00:00Z',
      dataCategories: ['msisdn'], nature: ['confidentiality'], maliciousIntent: true,
    }).expect(201)).body as IncidentResponse;
    await t.http().post(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.security)).expect(200);
    await t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(tokens.security)).send({ to: 'triage' }).expect(200);
    await t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(tokens.dpo)).send({ to: 'confirmed_breach' }).expect(200);
    const [n] = await draft(id);
    await edit(n.id, { measures: MEASURES }).expect(200);
    await approve(n.id, tokens.dpo2).expect(200);

    await t.http().patch(`/api/v1/incidents/${id}`).set(bearer(tokens.security))
      .send({ windowFrom: '2026-12-10T06:45:00Z', reason: 'The export began at 06:45, the carrier now says' }).expect(200);
    const scope = (await t.http().get(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.dpo)).expect(200)).body as IncidentScopeResponse;
    expect(scope.customers).toEqual([expect.objectContaining({ customerId: acme, included: false, messageCount: 1, reason: expect.stringMatching(/no longer found/i) })]);
    expect(((await t.http().get(`/api/v1/incidents/${id}/notifications`).set(bearer(tokens.dpo)).expect(200)).body as { items: unknown[] }).items).toHaveLength(1);
  });

  it('refuses a manual move to notified while a customer has not been sent its notification', async () => {
    const id = await confirmedBreach([acme]);
    const [n] = await draft(id);
    await edit(n.id, COMPLETE).expect(200);
    await approve(n.id, tokens.dpo).expect(200);
    await t.db.superuser(`UPDATE mails SET status = 'queued', sent_at = NULL WHERE subject_id = $1`, [n.id]);
    const res = await t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(tokens.dpo)).send({ to: 'notified' });
    expectProblem(res, 409, 'conflict');
    expect(res.body).toMatchObject({ customerIds: [acme] });
  });
});

async function waitForDelivery(t: TestApp, token: string, id: string, delivery: string): Promise<BreachNotificationResponse> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const n = (await t.http().get(`/api/v1/breach-notifications/${id}`).set(bearer(token)).expect(200)).body as BreachNotificationResponse;
    if (n.delivery === delivery) return n;
    if (Date.now() > deadline) throw new Error(`delivery stayed ${n.delivery}, expected ${delivery}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** So that an SMTP answer queued for the next mail is taken by the mail the test means. */
async function waitForNoQueuedMail(t: TestApp): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Number((await t.db.superuser<{ n: string }>(`SELECT count(*) AS n FROM mails WHERE status = 'queued'`))[0].n) > 0) {
    if (Date.now() > deadline) throw new Error('mail stayed queued');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForMail(smtp: TestSmtp, match: (m: TestSmtp['received'][number]) => boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = smtp.received.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error('the expected mail did not arrive');
    await new Promise((r) => setTimeout(r, 50));
  }
}
