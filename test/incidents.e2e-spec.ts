import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import { Clock } from '../src/common/clock';
import type { IncidentPage, IncidentResponse } from '../src/incidents/dto/incident.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem, problemFields } from './support/http';
import type { IncidentScopeResponse } from '../src/incidents/dto/incident.dto';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';

const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;
const NOW = new Date('2026-12-10T12:00:00.000Z');

describe('incidents: report, triage, the DPO\'s breach decision, timeline', () => {
  let t: TestApp;
  const tokens: Record<'dpo' | 'legal' | 'auditor' | 'security' | 'customer', string> = {} as never;
  let securityId: string;
  let carrier: string;
  let acme: string;

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(NOW));
    const admin = await login(t, ADMIN.email, ADMIN.password);
    acme = await seedCustomer(t, { legalName: 'Acme Incidents' });
    carrier = await seedSubprocessor(t, { legalEntity: 'Carrier Incident AG', country: 'DE' });
    for (const role of ['dpo', 'legal', 'auditor'] as const) tokens[role] = (await createUser(t, admin, { email: unique(role), role })).token;
    const security = await createUser(t, admin, { email: unique('security'), role: 'security' });
    [securityId, tokens.security] = [security.id, security.token];
    tokens.customer = (await createUser(t, admin, { email: unique('cust'), role: 'customer', customerId: acme })).token;
  });
  afterAll(() => t.close());

  const report = (body: Record<string, unknown>, token = tokens.security) => t.http().post('/api/v1/incidents').set(bearer(token)).send(body);
  const move = (id: string, to: string, token: string, reason?: string) =>
    t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(token)).send(reason ? { to, reason } : { to });
  const incidentRows = () => t.db.superuser<{ n: string }>('SELECT count(*) AS n FROM incidents').then(([r]) => Number(r.n));
  const auditOf = async (subjectId: string): Promise<AuditEntryResponse[]> => {
    const res = await t.http().get('/api/v1/audit').query({ subjectType: 'Incident', subjectId }).set(bearer(tokens.auditor)).expect(200);
    return (res.body as { items: AuditEntryResponse[] }).items.reverse();
  };
  const valid = () => ({
    title: 'Carrier reports unauthorised access to its SMSC logs',
    description: 'The carrier\'s SOC saw a compromised operator account export SMSC logs between 08:00 and 10:00 UTC.',
    detectedAt: '2026-12-10T09:30:00Z', becameAwareAt: '2026-12-10T10:15:00Z',
    subprocessorIds: [carrier], windowFrom: '2026-12-10T08:00:00Z', windowTo: '2026-12-10T10:00:00Z',
    dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: true,
  });

  it('lets security report an incident, which starts as reported with its first timeline entry, audited', async () => {
    const res = await report(valid()).expect(201);
    const incident = res.body as IncidentResponse;
    expect(incident).toMatchObject({
      status: 'reported', allowedTransitions: ['triage'], reportedBy: securityId, reportedAt: NOW.toISOString(),
      subprocessorIds: [carrier], internalSystems: [], becameAwareAt: '2026-12-10T10:15:00.000Z', windowTo: '2026-12-10T10:00:00.000Z',
    });
    expect(incident.timeline).toEqual([expect.objectContaining({ kind: 'reported', toStatus: 'reported', actorId: securityId })]);
    const [entry] = await auditOf(incident.id);
    expect(entry).toMatchObject({ action: 'incident.reported', actorId: securityId });
    // The free text stays on the incident, out of the log that can never be erased.
    expect(JSON.stringify(entry)).not.toContain('SMSC');
  });

  it('refuses bad reports with a problem naming each field, and stores nothing', async () => {
    const before = await incidentRows();
    const cases: [Record<string, unknown>, string[]][] = [
      [{ ...valid(), becameAwareAt: '2026-12-10T09:00:00Z' }, ['becameAwareAt']],
      [{ ...valid(), detectedAt: '2026-12-11T09:00:00Z', becameAwareAt: '2026-12-11T10:00:00Z' }, ['becameAwareAt', 'detectedAt']],
      [{ ...valid(), windowFrom: '2026-12-10T10:00:00Z', windowTo: '2026-12-10T08:00:00Z' }, ['windowTo']],
      [{ ...valid(), subprocessorIds: [] }, ['subprocessorIds']],
      [{ ...valid(), subprocessorIds: [randomUUID()] }, ['subprocessorIds']],
      [{ ...valid(), dataCategories: [] }, ['dataCategories']],
      [{ ...valid(), dataCategories: ['passwords'] }, ['dataCategories']],
      [{ ...valid(), nature: ['theft'] }, ['nature']],
      [{ ...valid(), maliciousIntent: 'yes' }, ['maliciousIntent']],
      [{ ...valid(), detectedAt: '10/12/2026' }, ['detectedAt']],
      [{ ...valid(), internalSystems: ['<script>'] }, ['internalSystems']],
    ];
    for (const [body, fields] of cases) {
      const res = await report(body);
      expectProblem(res, 400, 'validation');
      expect(problemFields(res).sort()).toEqual(fields);
    }
    expect(await incidentRows()).toBe(before);
  });

  it('takes an internal-system incident without routing data', async () => {
    const { subprocessorIds: _s, windowFrom: _f, windowTo: _t, ...rest } = valid();
    const res = await report({ ...rest, internalSystems: ['sms-gateway'], nature: ['availability', 'integrity'], maliciousIntent: false }).expect(201);
    expect(res.body).toMatchObject({ subprocessorIds: [], internalSystems: ['sms-gateway'], windowFrom: null, nature: ['availability', 'integrity'] });
  });

  it('walks the lifecycle: security triages, only the DPO confirms the breach, wrong steps answer 409 with the allowed ones', async () => {
    const { id } = (await report(valid()).expect(201)).body as IncidentResponse;

    const early = await move(id, 'notifying', tokens.security);
    expectProblem(early, 409, 'invalid-transition');
    expect(early.body).toMatchObject({ from: 'reported', to: 'notifying', allowed: ['triage'] });

    await move(id, 'triage', tokens.security).expect(200);
    const notTheirs = await move(id, 'confirmed_breach', tokens.security);
    expectProblem(notTheirs, 403, 'forbidden');
    expect((await t.http().get(`/api/v1/incidents/${id}`).set(bearer(tokens.dpo)).expect(200)).body).toMatchObject({ status: 'triage' });

    const confirmed = (await move(id, 'confirmed_breach', tokens.dpo).expect(200)).body as IncidentResponse;
    expect(confirmed).toMatchObject({ status: 'confirmed_breach', allowedTransitions: ['notifying'] });
    await t.http().post(`/api/v1/incidents/${id}/comments`).set(bearer(tokens.security)).send({ text: 'Carrier confirms the export contained message bodies.' }).expect(200);
    await move(id, 'notifying', tokens.security).expect(200);
    await move(id, 'notified', tokens.dpo).expect(200);
    const closed = (await move(id, 'closed', tokens.dpo).expect(200)).body as IncidentResponse;

    expect(closed.allowedTransitions).toEqual([]);
    expect(closed.timeline!.map((e) => [e.kind, e.fromStatus, e.toStatus])).toEqual([
      ['reported', null, 'reported'],
      ['status_changed', 'reported', 'triage'],
      ['status_changed', 'triage', 'confirmed_breach'],
      ['comment', null, null],
      ['status_changed', 'confirmed_breach', 'notifying'],
      ['status_changed', 'notifying', 'notified'],
      ['status_changed', 'notified', 'closed'],
    ]);
    expect((await auditOf(id)).map((e) => e.action)).toEqual([
      'incident.reported', 'incident.status_changed', 'incident.status_changed', 'incident.commented',
      'incident.status_changed', 'incident.status_changed', 'incident.status_changed',
    ]);
    expectProblem(await move(id, 'triage', tokens.dpo), 409, 'invalid-transition');
  });

  it('dismisses only with a reason, and only by the DPO', async () => {
    const { id } = (await report(valid()).expect(201)).body as IncidentResponse;
    await move(id, 'triage', tokens.security).expect(200);
    expectProblem(await move(id, 'dismissed', tokens.security, 'A false positive of the carrier\'s monitoring'), 403, 'forbidden');
    const unexplained = await move(id, 'dismissed', tokens.dpo);
    expectProblem(unexplained, 400, 'validation');
    expect(problemFields(unexplained)).toEqual(['reason']);
    const dismissed = (await move(id, 'dismissed', tokens.dpo, 'A false positive of the carrier\'s monitoring').expect(200)).body as IncidentResponse;
    expect(dismissed.status).toBe('dismissed');
    expect(dismissed.timeline!.at(-1)).toMatchObject({ kind: 'status_changed', toStatus: 'dismissed', text: 'A false positive of the carrier\'s monitoring' });
  });

  it('lets DPO, legal and auditors read incidents and filter by status; customers and unknown ids see nothing', async () => {
    for (const role of ['dpo', 'legal', 'auditor', 'security'] as const) {
      const res = await t.http().get('/api/v1/incidents').query({ status: 'reported' }).set(bearer(tokens[role])).expect(200);
      const page = res.body as IncidentPage;
      expect(page.items.length).toBeGreaterThan(0);
      expect(page.items.every((i) => i.status === 'reported' && i.timeline === undefined)).toBe(true);
    }
    expectProblem(await t.http().get('/api/v1/incidents').set(bearer(tokens.customer)), 403, 'forbidden');
    expectProblem(await report(valid(), tokens.legal), 403, 'forbidden');
    expectProblem(await report(valid(), tokens.dpo), 403, 'forbidden');
    expectProblem(await t.http().get(`/api/v1/incidents/${randomUUID()}`).set(bearer(tokens.dpo)), 404, 'not-found');
    expectProblem(await t.http().get('/api/v1/incidents/not-a-uuid').set(bearer(tokens.dpo)), 404, 'not-found');
    expectProblem(await t.http().get('/api/v1/incidents').query({ status: 'exploded' }).set(bearer(tokens.dpo)), 400, 'validation');
  });

  describe('scope', () => {
    it('finds exactly the customers whose messages went through the carrier in the window, with counts; rescoping keeps the DPO\'s decisions', async () => {
      const other = await seedSubprocessor(t, { legalEntity: 'Other Carrier SA', country: 'FR' });
      const [bravo, charlie, delta] = [
        await seedCustomer(t, { legalName: 'Bravo Incidents' }), await seedCustomer(t, { legalName: 'Charlie Incidents' }),
        await seedCustomer(t, { legalName: 'Delta Incidents' }),
      ];
      const at = (time: string) => new Date(`2026-12-10T${time}Z`);
      await storeMessages(t, [
        messageRecord(acme, { msisdn: '+4917011110001', route: [carrier], submittedAt: at('08:00:00') }),
        messageRecord(acme, { msisdn: '+4917011110001', route: [other, carrier], submittedAt: at('09:00:00') }),
        messageRecord(acme, { msisdn: '+4917011110002', route: [carrier], submittedAt: at('09:59:59.999'), destinationCountry: 'AT' }),
        messageRecord(bravo, { msisdn: '+4917011110003', route: [carrier], submittedAt: at('08:30:00') }),
        messageRecord(charlie, { msisdn: '+4917011110004', route: [other], submittedAt: at('09:00:00') }), // another carrier
        messageRecord(delta, { msisdn: '+4917011110005', route: [carrier], submittedAt: at('10:00:00') }), // after the window
        messageRecord(delta, { msisdn: '+4917011110006', route: [carrier], submittedAt: at('07:59:59.999') }), // before it
      ], NOW);
      const { id } = (await report(valid()).expect(201)).body as IncidentResponse;

      const scoped = (await t.http().post(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.security)).expect(200)).body as IncidentScopeResponse;
      expect(scoped.customers.map((c) => [c.customerId, c.source, c.included, c.messageCount, c.distinctSubjects, c.destinationCountries]).sort()).toEqual([
        [acme, 'scope', true, 3, 2, ['AT', 'DE']],
        [bravo, 'scope', true, 1, 1, ['DE']],
      ].sort());
      expect(scoped.totals).toEqual({ customers: 2, messageCount: 4, distinctSubjects: 3 });
      expect(scoped.customers.find((c) => c.customerId === acme)).toMatchObject({
        readableCategories: ['body', 'msisdn'], firstMessageAt: '2026-12-10T08:00:00.000Z', lastMessageAt: '2026-12-10T09:59:59.999Z',
      });

      // The DPO excludes one with a reason and adds one scoping cannot see; security may do neither.
      const exclude = { included: false, reason: 'Bravo\'s traffic used the carrier\'s unaffected second SMSC' };
      expectProblem(await t.http().put(`/api/v1/incidents/${id}/customers/${bravo}`).set(bearer(tokens.security)).send(exclude), 403, 'forbidden');
      await t.http().put(`/api/v1/incidents/${id}/customers/${bravo}`).set(bearer(tokens.dpo)).send(exclude).expect(200);
      const added = (await t.http().put(`/api/v1/incidents/${id}/customers/${charlie}`).set(bearer(tokens.dpo))
        .send({ included: true, reason: 'Charlie\'s fallback route is known to use the same SMSC' }).expect(200)).body as IncidentScopeResponse;
      expect(added.totals).toEqual({ customers: 2, messageCount: 3, distinctSubjects: 2 });
      const badAdd = await t.http().put(`/api/v1/incidents/${id}/customers/${randomUUID()}`).set(bearer(tokens.dpo)).send({ included: true, reason: 'A customer that does not exist' });
      expectProblem(badAdd, 400, 'validation');
      expectProblem(await t.http().put(`/api/v1/incidents/${id}/customers/${delta}`).set(bearer(tokens.dpo)).send({ included: false, reason: 'Never in scope to begin with' }), 404, 'not-found');

      // More traffic turns up; scoping again updates the counts and keeps both decisions.
      await storeMessages(t, [messageRecord(bravo, { msisdn: '+4917011110007', route: [carrier], submittedAt: at('09:30:00') })], NOW);
      const again = (await t.http().post(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.dpo)).expect(200)).body as IncidentScopeResponse;
      expect(again.customers.map((c) => [c.customerId, c.source, c.included, c.messageCount]).sort()).toEqual([
        [acme, 'scope', true, 3], [bravo, 'scope', false, 2], [charlie, 'dpo', true, 0],
      ].sort());
      expect((await t.http().get(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.legal)).expect(200)).body).toEqual(again);

      const timeline = ((await t.http().get(`/api/v1/incidents/${id}`).set(bearer(tokens.auditor)).expect(200)).body as IncidentResponse).timeline!;
      expect(timeline.map((e) => [e.kind, e.text])).toEqual([
        ['reported', null],
        ['scoped', '2 customers, 4 messages, 3 people'],
        ['customer_excluded', exclude.reason],
        ['customer_included', 'Charlie\'s fallback route is known to use the same SMSC'],
        ['scoped', '2 customers, 5 messages, 4 people'],
      ]);
      expect((await auditOf(id)).map((e) => e.action)).toEqual([
        'incident.reported', 'incident.scoped', 'incident.customer_excluded', 'incident.customer_included', 'incident.scoped',
      ]);

      // Confirming the breach puts the scoped data of every included customer under a legal hold
      // for the incident's window; a customer included later gets one too.
      const holds = async () => (await t.db.superuser<{ customer_id: string; from_at: Date; to_at: Date; whole: boolean }>(
        'SELECT customer_id, from_at, to_at, msisdn_hash IS NULL AS whole FROM legal_holds WHERE incident_id = $1 AND released_at IS NULL ORDER BY customer_id', [id],
      )).map((h) => [h.customer_id, h.from_at.toISOString(), h.to_at.toISOString(), h.whole]);
      const held = (customer: string) => [customer, '2026-12-10T08:00:00.000Z', '2026-12-10T10:00:00.000Z', true];
      expect(await holds()).toEqual([]);
      await move(id, 'triage', tokens.security).expect(200);
      await move(id, 'confirmed_breach', tokens.dpo).expect(200);
      expect(await holds()).toEqual([acme, charlie].sort().map(held));
      await t.http().put(`/api/v1/incidents/${id}/customers/${bravo}`).set(bearer(tokens.dpo))
        .send({ included: true, reason: 'The second SMSC turned out to be affected as well' }).expect(200);
      expect(await holds()).toEqual([acme, bravo, charlie].sort().map(held));
      await t.http().post(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.security)).expect(200);
      expect(await holds()).toHaveLength(3);
    });

    it('lets the DPO decline the legal hold of a confirmed breach, with a reason, and only when confirming', async () => {
      await storeMessages(t, [messageRecord(acme, { msisdn: '+4917011110008', route: [carrier], submittedAt: new Date('2026-12-10T08:15:00Z') })], NOW);
      const { id } = (await report(valid()).expect(201)).body as IncidentResponse;
      await t.http().post(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.security)).expect(200);
      const early = await t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(tokens.security))
        .send({ to: 'triage', declineLegalHold: { reason: 'Nothing of this customer was exposed' } });
      expectProblem(early, 400, 'validation');
      expect(problemFields(early)).toEqual(['declineLegalHold']);
      await move(id, 'triage', tokens.security).expect(200);
      const unexplained = await t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(tokens.dpo)).send({ to: 'confirmed_breach', declineLegalHold: {} });
      expectProblem(unexplained, 400, 'validation');
      const confirmed = (await t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(tokens.dpo))
        .send({ to: 'confirmed_breach', declineLegalHold: { reason: 'The carrier\'s logs are preserved under its own forensic hold' } }).expect(200)).body as IncidentResponse;
      expect(confirmed).toMatchObject({ status: 'confirmed_breach', legalHoldDeclinedReason: 'The carrier\'s logs are preserved under its own forensic hold' });
      expect(await t.db.superuser('SELECT id FROM legal_holds WHERE incident_id = $1', [id])).toEqual([]);
    });

    it('scopes an internal-system incident only by the DPO\'s list', async () => {
      const { subprocessorIds: _s, windowFrom: _f, windowTo: _t, ...rest } = valid();
      const { id } = (await report({ ...rest, internalSystems: ['archive-db'] }).expect(201)).body as IncidentResponse;
      const res = await t.http().post(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.security));
      expectProblem(res, 409, 'conflict');
      const scope = (await t.http().put(`/api/v1/incidents/${id}/customers/${acme}`).set(bearer(tokens.dpo))
        .send({ included: true, reason: 'Acme\'s archive shard sits on the affected host' }).expect(200)).body as IncidentScopeResponse;
      expect(scope.customers).toEqual([expect.objectContaining({ customerId: acme, source: 'dpo', included: true, messageCount: 0 })]);
    });
  });

  it('takes new facts with what was learnt, rescopes when the window or sub-processors change, and refuses bad ones changing nothing', async () => {
    const late = await seedCustomer(t, { legalName: 'Late Traffic KG' });
    await storeMessages(t, [messageRecord(late, { msisdn: '+4917011119001', route: [carrier], submittedAt: new Date('2026-12-10T10:30:00Z') })], NOW);
    const { id } = (await report(valid()).expect(201)).body as IncidentResponse;
    await t.http().post(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.security)).expect(200);
    const scopeOf = async () => ((await t.http().get(`/api/v1/incidents/${id}/scope`).set(bearer(tokens.dpo)).expect(200)).body as IncidentScopeResponse)
      .customers.map((c) => c.customerId);
    expect(await scopeOf()).not.toContain(late);

    const patch = (body: Record<string, unknown>, token = tokens.security) => t.http().patch(`/api/v1/incidents/${id}`).set(bearer(token)).send(body);
    const rows = async () => ({ incident: (await t.http().get(`/api/v1/incidents/${id}`).set(bearer(tokens.dpo)).expect(200)).body as IncidentResponse, scope: await scopeOf() });
    const before = await rows();
    const refusals: [Record<string, unknown>, number, string[] | null][] = [
      [{ windowTo: '2026-12-10T07:00:00Z', reason: 'The export ran longer than first thought' }, 400, ['windowTo']],
      [{ windowTo: '2026-12-10T11:00:00Z' }, 400, ['reason']],
      [{ windowTo: '2026-12-10T10:00:00Z', reason: 'Nothing new in this at all' }, 400, ['body']],
      [{ subprocessorIds: [randomUUID()], reason: 'A second carrier was involved' }, 400, ['subprocessorIds']],
      [{ status: 'closed', reason: 'Trying to set the status directly' }, 400, ['status']],
      [{ becameAwareAt: null, detectedAt: null, reason: 'Clearing the times by mistake' }, 400, ['becameAwareAt', 'detectedAt']],
      [{ subprocessorIds: null, windowFrom: null, reason: 'Clearing the routing by mistake' }, 400, ['subprocessorIds']],
    ];
    for (const [body, status, fields] of refusals) {
      const res = await patch(body);
      expectProblem(res, status, 'validation');
      if (fields) expect(problemFields(res).sort()).toEqual(fields);
    }
    expectProblem(await patch({ windowTo: '2026-12-10T11:00:00Z', reason: 'The export ran longer than first thought' }, tokens.legal), 403, 'forbidden');
    expect(await rows()).toEqual(before);

    const updated = (await patch({ windowTo: '2026-12-10T11:00:00Z', reason: 'The carrier says the export ran until 11:00' }).expect(200)).body as IncidentResponse;
    expect(updated.windowTo).toBe('2026-12-10T11:00:00.000Z');
    expect(await scopeOf()).toContain(late);
    expect(updated.timeline!.slice(-2).map((e) => [e.kind, e.text])).toEqual([
      ['facts_changed', 'windowTo: The carrier says the export ran until 11:00'], ['scoped', expect.stringMatching(/customers/)],
    ]);
    const [facts] = (await auditOf(id)).filter((e) => e.action === 'incident.facts_changed');
    expect(facts.changes).toMatchObject({ fields: ['windowTo'] });
    expect(JSON.stringify(facts)).not.toContain('carrier says');

    await move(id, 'triage', tokens.security).expect(200);
    await move(id, 'dismissed', tokens.dpo, 'The carrier withdrew its report after review').expect(200);
    expectProblem(await patch({ maliciousIntent: false, reason: 'Turned out to be a test account' }), 409, 'conflict');
  });

  it('shows each included customer\'s deadline from the DPA in force at awareness (24 h, 48 h, the default), time left and status', async () => {
    const [h24, h48, none] = [
      await seedCustomer(t, { legalName: 'Clock 24 GmbH' }), await seedCustomer(t, { legalName: 'Clock 48 GmbH' }), await seedCustomer(t, { legalName: 'Clock None GmbH' }),
    ];
    await seedDpa(t, { customerId: h24 });
    const dpa48 = await seedDpa(t, { customerId: h48 });
    await t.db.superuser('UPDATE dpas SET breach_notice_hours = 48 WHERE id = $1', [dpa48]);
    const { subprocessorIds: _s, windowFrom: _f, windowTo: _t, ...rest } = valid();
    // Aware 20 hours before NOW.
    const { id } = (await report({ ...rest, internalSystems: ['gateway'], detectedAt: '2026-12-09T15:00:00Z', becameAwareAt: '2026-12-09T16:00:00Z' }).expect(201)).body as IncidentResponse;
    for (const customer of [h24, h48, none]) {
      await t.http().put(`/api/v1/incidents/${id}/customers/${customer}`).set(bearer(tokens.dpo)).send({ included: true, reason: 'Its messages passed the affected gateway' }).expect(200);
    }
    const clock = (await t.http().get(`/api/v1/incidents/${id}/clock`).set(bearer(tokens.legal)).expect(200)).body as { customers: Record<string, unknown>[] };
    const hour = 3_600_000;
    const unsent = { notificationId: null, sentAt: null, acknowledgedAt: null };
    expect(clock).toEqual({
      becameAwareAt: '2026-12-09T16:00:00.000Z',
      customers: [
        ...[h24, none].sort().map((customerId) => ({
          customerId, breachNoticeHours: 24, hoursFrom: customerId === h24 ? 'dpa' : 'default', deadline: '2026-12-10T16:00:00.000Z',
          timeLeftMs: 4 * hour, elapsedFraction: 20 / 24, status: 'due_soon', ...unsent,
        })),
        { customerId: h48, breachNoticeHours: 48, hoursFrom: 'dpa', deadline: '2026-12-11T16:00:00.000Z', timeLeftMs: 28 * hour, elapsedFraction: 20 / 48, status: 'pending', ...unsent },
      ],
    });
    expectProblem(await t.http().get(`/api/v1/incidents/${id}/clock`).set(bearer(tokens.customer)), 403, 'forbidden');
  });
});
