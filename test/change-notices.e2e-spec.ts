import type { ChangeNoticePage, ChangeNoticeResponse, ObjectionPage, ObjectionResponse } from '../src/change-notices/dto/change-notice.dto';
import { Clock } from '../src/common/clock';
import type { JobRunResponse } from '../src/jobs/dto/job.dto';
import { SYSTEM_ACTOR } from '../src/jobs/jobs.service';
import { SubscribersService } from '../src/public/subscribers.service';
import type { AuthorisedSubprocessorsResponse, SubprocessorResponse } from '../src/subprocessors/dto/subprocessor.dto';
import { SubprocessorsService } from '../src/subprocessors/subprocessors.service';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem } from './support/http';
import { ReceivedMail, startSmtp, TestSmtp } from './support/smtp';

/*
 * The Art. 28(2) story on real Postgres, through HTTP, with a real SMTP server: a DPO proposes a
 * carrier; only the customers whose traffic it carries are told; objections, approvals and
 * deadlines decide, per customer, whether it may carry their data once the change takes effect.
 */

const DAY = 86_400_000;
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const day = (n: number) => new Date(T0.getTime() + n * DAY);

/** Waits for mail delivery (sent after the commit), then a little longer so a duplicate would show. */
async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for mail');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
}

interface CustomerSpec {
  name: string;
  countries: string[];
  authorisation?: 'general' | 'specific';
  windowDays?: number;
  /** active (default), draft (never activated) or ended (activated, then terminated before T0) */
  dpa?: 'active' | 'draft' | 'ended';
}

interface Seeded {
  id: string;
  dpoEmail: string;
  breachEmail: string;
}

/** Customers and DPAs straight into the tables: this file tests notices, not the customers API. */
async function seedCustomer(t: TestApp, spec: CustomerSpec): Promise<Seeded> {
  const slug = spec.name.toLowerCase();
  const dpoEmail = `dpo@${slug}.test`;
  const breachEmail = `breach@${slug}.test`;
  const [row] = await t.db.superuser<{ id: string }>(
    `INSERT INTO customers (legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
     VALUES ($1, 'DE', $2, $3, $4, $5) RETURNING id`,
    [`${spec.name} GmbH`, JSON.stringify({ name: `${spec.name} DPO`, email: dpoEmail }), [breachEmail], spec.countries, JSON.stringify({ messageKinds: ['otp'], specialCategoryData: false })],
  );
  const state = spec.dpa ?? 'active';
  await t.db.superuser(
    `INSERT INTO dpas (customer_id, version, status, objection_window_days, authorisation, max_retention_days, transfer_mechanisms, data_categories, purposes, activated_at, ended_at)
     VALUES ($1, 1, $2, $3, $4, '{"body":30,"msisdn":30,"delivery_metadata":90}', '{scc,adequacy,none}', '{body,msisdn,delivery_metadata}', '{messaging}', $5, $6)`,
    [row.id, state === 'ended' ? 'terminated' : state, spec.windowDays ?? 30, spec.authorisation ?? 'general',
      state === 'draft' ? null : new Date(T0.getTime() - 100 * DAY), state === 'ended' ? new Date(T0.getTime() - DAY) : null],
  );
  return { id: row.id, dpoEmail, breachEmail };
}

describe('change notices (Art. 28(2))', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now = T0;
  let notifyChange: jest.SpyInstance;
  const tokens: Record<string, string> = {};
  const c: Record<'alpha' | 'beta' | 'gamma' | 'delta' | 'epsilon' | 'zeta', Seeded> = {} as never;
  let ingestKey: string;
  let dpoId: string;

  const as = (who: string) => bearer(tokens[who]);
  const setNow = (d: Date) => { now = d; };
  const runJob = async (name = 'change-notices-effective') =>
    (await t.http().post(`/api/v1/jobs/${name}/run`).set(as('dpo')).expect(200)).body as JobRunResponse;
  const authorised = async (customerId: string, at: Date, who = 'dpo') =>
    (await t.http().get(`/api/v1/customers/${customerId}/authorised-subprocessors`).query({ at: at.toISOString() }).set(as(who)).expect(200)).body as AuthorisedSubprocessorsResponse;
  const mailsAbout = (noticeId: string): ReceivedMail[] => smtp.received.filter((m) => m.text.includes(noticeId));

  async function registerApproved(body: Record<string, unknown>): Promise<SubprocessorResponse> {
    const res = await t.http().post('/api/v1/subprocessors').set(as('dpo')).send({
      role: 'mobile_operator', services: ['SMS termination'], purpose: 'Delivers SMS to subscribers of its network',
      dataCategories: ['msisdn', 'body'], transferMechanism: 'none', ...body,
    }).expect(201);
    const sub = res.body as SubprocessorResponse;
    await t.http().post(`/api/v1/subprocessors/${sub.id}/transitions`).set(as('dpo')).send({ to: 'approved' }).expect(200);
    return sub;
  }

  const propose = async (subId: string, reason: string) =>
    (await t.http().post(`/api/v1/subprocessors/${subId}/change-notices`).set(as('dpo')).send({ reason }).expect(201)).body as ChangeNoticeResponse;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: 'https://custodian.example.test' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    notifyChange = jest.spyOn(t.app.get(SubscribersService), 'notifyChange');
    c.alpha = await seedCustomer(t, { name: 'Alpha', countries: ['DE'], windowDays: 30 });
    c.beta = await seedCustomer(t, { name: 'Beta', countries: ['FR'], windowDays: 14 });
    c.gamma = await seedCustomer(t, { name: 'Gamma', countries: ['AT', 'DE'], authorisation: 'specific', windowDays: 20 });
    c.delta = await seedCustomer(t, { name: 'Delta', countries: ['DE'], dpa: 'draft' });
    c.epsilon = await seedCustomer(t, { name: 'Epsilon', countries: ['DE'], dpa: 'ended' });
    c.zeta = await seedCustomer(t, { name: 'Zeta', countries: ['DE'], authorisation: 'specific', windowDays: 10 });
    tokens.admin = await login(t, ADMIN.email, ADMIN.password);
    const dpo = await createUser(t, tokens.admin, { email: 'dpo@provider.test', role: 'dpo' });
    dpoId = dpo.id;
    tokens.dpo = dpo.token;
    tokens.legal = (await createUser(t, tokens.admin, { email: 'legal@provider.test', role: 'legal' })).token;
    tokens.auditor = (await createUser(t, tokens.admin, { email: 'auditor@provider.test', role: 'auditor' })).token;
    for (const name of ['alpha', 'beta', 'gamma', 'zeta'] as const) {
      tokens[name] = (await createUser(t, tokens.admin, { email: `user@${name}.test`, role: 'customer', customerId: c[name].id })).token;
    }
    ingestKey = ((await t.http().post('/api/v1/api-keys').set(as('admin')).send({ name: 'ingest', role: 'ingest' }).expect(201)).body as { key: string }).key;
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  describe('a new carrier for Germany', () => {
    let carrier: SubprocessorResponse;
    let notice: ChangeNoticeResponse;

    beforeAll(async () => {
      setNow(T0);
      carrier = await registerApproved({ legalEntity: 'Carrier DE GmbH', country: 'DE', carriesCountries: ['DE'] });
      notice = await propose(carrier.id, 'Better delivery rates to German networks');
    });

    it('is announced to exactly the customers with an active DPA whose traffic it carries, each with its own deadline', async () => {
      expect(notice).toMatchObject({ kind: 'new_subprocessor', status: 'pending', reason: 'Better delivery rates to German networks', appliedAt: null });
      expect(notice.subprocessor).toMatchObject({ id: carrier.id, legalEntity: 'Carrier DE GmbH', country: 'DE' });
      expect(notice.proposedAt).toBe(T0.toISOString());
      // The longest window among the affected DPAs: Alpha's 30 days.
      expect(notice.effectiveAt).toBe(day(30).toISOString());
      expect(notice.recipients.map((r) => [r.customerId, r.objectionDeadline, r.approvalRequired]).sort()).toEqual([
        [c.alpha.id, day(30).toISOString(), false],
        [c.gamma.id, day(20).toISOString(), true],
        [c.zeta.id, day(10).toISOString(), true],
      ].sort());
      const sub = (await t.http().get(`/api/v1/subprocessors/${carrier.id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse;
      expect(sub.status).toBe('approved');
      expect(sub.pendingChangeNotice).toMatchObject({ id: notice.id, kind: 'new_subprocessor', effectiveAt: day(30).toISOString() });
    });

    it('mails each affected customer\'s DPO and breach contacts once, and nobody else', async () => {
      await until(() => mailsAbout(notice.id).length >= 3);
      const mails = mailsAbout(notice.id);
      expect(mails.map((m) => [...m.to].sort().join(' ')).sort()).toEqual([
        [c.alpha.breachEmail, c.alpha.dpoEmail].sort().join(' '),
        [c.gamma.breachEmail, c.gamma.dpoEmail].sort().join(' '),
        [c.zeta.breachEmail, c.zeta.dpoEmail].sort().join(' '),
      ].sort());
      const everyone = smtp.received.flatMap((m) => m.to);
      for (const other of [c.beta, c.delta, c.epsilon]) expect(everyone).not.toContain(other.dpoEmail);
      for (const m of mails) {
        expect(m.subject).toBe('Sub-processor change notice');
        expect(m.headers.get('x-custodian-mail')).toBe('change-notice');
        expect(m.text).toContain('Carrier DE GmbH');
        expect(m.text).toContain('Where: DE');
        expect(m.text).toContain('Why: Better delivery rates to German networks');
        expect(m.text).toContain(`Takes effect: ${day(30).toISOString()}`);
        expect(m.text).toContain(`https://custodian.example.test/api/v1/change-notices/${notice.id}`);
        expect(m.html).toContain(`href="https://custodian.example.test/api/v1/change-notices/${notice.id}"`);
      }
      const alphaMail = mails.find((m) => m.to.includes(c.alpha.dpoEmail))!;
      expect(alphaMail.text).toContain(`You may object until: ${day(30).toISOString()}`);
      expect(alphaMail.text).not.toMatch(/specific authorisation/);
      const gammaMail = mails.find((m) => m.to.includes(c.gamma.dpoEmail))!;
      expect(gammaMail.text).toContain(`You may object until: ${day(20).toISOString()}`);
      expect(gammaMail.text).toMatch(/specific authorisation.*until you approve/);
    });

    it('tells the public subscribers in the same breath', () => {
      expect(notifyChange).toHaveBeenCalledWith(expect.anything(), expect.objectContaining({
        noticeId: notice.id, subprocessorName: 'Carrier DE GmbH', kind: 'new_subprocessor', effectiveAt: day(30),
      }));
    });

    it('refuses a second proposal while one is pending, and a proposal for a sub-processor that is not approved', async () => {
      expectProblem(await t.http().post(`/api/v1/subprocessors/${carrier.id}/change-notices`).set(as('dpo')).send({ reason: 'again' }), 409, 'conflict');
      const proposed = (await t.http().post('/api/v1/subprocessors').set(as('dpo')).send({
        legalEntity: 'Not Yet Approved SA', country: 'FR', role: 'aggregator', services: ['SMS'], purpose: 'routing', dataCategories: ['msisdn'], carriesCountries: ['FR'], transferMechanism: 'none',
      }).expect(201)).body as SubprocessorResponse;
      const res = await t.http().post(`/api/v1/subprocessors/${proposed.id}/change-notices`).set(as('dpo')).send({ reason: 'go' });
      expect(expectProblem(res, 409, 'conflict').detail).toMatch(/approved/);
      expectProblem(await t.http().post(`/api/v1/subprocessors/${carrier.id}/change-notices`).set(as('dpo')).send({}), 400, 'validation');
      expectProblem(await t.http().post(`/api/v1/subprocessors/${carrier.id}/change-notices`).set(as('legal')).send({ reason: 'x' }), 403);
    });

    it('shows each customer only its own notices and its own deadline; others get 404', async () => {
      const alphaList = (await t.http().get('/api/v1/change-notices').set(as('alpha')).expect(200)).body as ChangeNoticePage;
      expect(alphaList.items.map((n) => n.id)).toEqual([notice.id]);
      expect(alphaList.items[0].recipients).toEqual([{ customerId: c.alpha.id, objectionDeadline: day(30).toISOString(), approvalRequired: false, approvedAt: null }]);
      const alphaOne = (await t.http().get(`/api/v1/change-notices/${notice.id}`).set(as('alpha')).expect(200)).body as ChangeNoticeResponse;
      expect(alphaOne.recipients.map((r) => r.customerId)).toEqual([c.alpha.id]);
      expect(JSON.stringify(alphaOne)).not.toContain(c.gamma.id);

      expect(((await t.http().get('/api/v1/change-notices').set(as('beta')).expect(200)).body as ChangeNoticePage).items).toEqual([]);
      const missing = await t.http().get('/api/v1/change-notices/3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b').set(as('beta'));
      const foreign = await t.http().get(`/api/v1/change-notices/${notice.id}`).set(as('beta'));
      expectProblem(foreign, 404, 'not-found');
      expect(foreign.body).toMatchObject({ detail: (missing.body as { detail: string }).detail });
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('beta')).send({ reason: 'no' }), 404, 'not-found');
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/approvals`).set(as('beta')), 404, 'not-found');

      for (const who of ['dpo', 'legal', 'auditor']) {
        const all = (await t.http().get(`/api/v1/change-notices/${notice.id}`).set(as(who)).expect(200)).body as ChangeNoticeResponse;
        expect(all.recipients.map((r) => r.customerId).sort()).toEqual([c.alpha.id, c.gamma.id, c.zeta.id].sort());
      }
    });

    it('takes an objection before the deadline, once; refuses it after', async () => {
      setNow(day(10));
      const res = await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('alpha')).send({ reason: 'Our contract forbids this operator' }).expect(201);
      const objection = res.body as ObjectionResponse;
      expect(objection).toMatchObject({ noticeId: notice.id, customerId: c.alpha.id, subprocessorId: carrier.id, raisedAt: day(10).toISOString(), resolution: null, resolvedAt: null });
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('alpha')).send({ reason: 'again' }), 409, 'conflict');
      // The DPO is told, since the objection now blocks the carrier for Alpha until resolved.
      await until(() => smtp.received.some((m) => m.headers.get('x-custodian-mail') === 'objection-raised'));
      const told = smtp.received.filter((m) => m.headers.get('x-custodian-mail') === 'objection-raised');
      expect(told.map((m) => m.to)).toEqual([['dpo@provider.test']]);
      expect(told[0].subject).toBe('Objection to a sub-processor change');
      expect(told[0].text).toContain('Alpha GmbH objected');
      expect(told[0].text).toContain('Our contract forbids this operator');
      expect(told[0].text).toContain(`/api/v1/objections/${objection.id}/resolution`);
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('alpha')).send({}), 400, 'validation');
      // The DPO has no customer to object for.
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('dpo')).send({ reason: 'x' }), 403, 'forbidden');

      // Zeta's window (10 days) closed exactly now; Gamma's (20 days) a day after day 20.
      const late = await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('zeta')).send({ reason: 'too late' });
      expect(expectProblem(late, 409, 'conflict')).toMatchObject({ objectionDeadline: day(10).toISOString() });
      setNow(day(21));
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('gamma')).send({ reason: 'too late' }), 409, 'conflict');
      const objections = (await t.http().get('/api/v1/objections').query({ noticeId: notice.id }).set(as('dpo')).expect(200)).body as ObjectionPage;
      expect(objections.items.map((o) => o.customerId)).toEqual([c.alpha.id]);
    });

    it('never shows a customer another customer\'s objections', async () => {
      const alpha = (await t.http().get('/api/v1/objections').set(as('alpha')).expect(200)).body as ObjectionPage;
      expect(alpha.items.map((o) => o.customerId)).toEqual([c.alpha.id]);
      for (const who of ['beta', 'gamma', 'zeta']) {
        expect(((await t.http().get('/api/v1/objections').set(as(who)).expect(200)).body as ObjectionPage).items).toEqual([]);
      }
      expect(((await t.http().get('/api/v1/objections').set(as('auditor')).expect(200)).body as ObjectionPage).items).toHaveLength(1);
    });

    it('takes an approval from a customer under specific authorisation only', async () => {
      setNow(day(12));
      const approved = (await t.http().post(`/api/v1/change-notices/${notice.id}/approvals`).set(as('gamma')).expect(200)).body as ChangeNoticeResponse;
      expect(approved.recipients).toEqual([{ customerId: c.gamma.id, objectionDeadline: day(20).toISOString(), approvalRequired: true, approvedAt: day(12).toISOString() }]);
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/approvals`).set(as('gamma')), 409, 'conflict');
      const general = await t.http().post(`/api/v1/change-notices/${notice.id}/approvals`).set(as('alpha'));
      expect(expectProblem(general, 409, 'conflict').detail).toMatch(/general authorisation/);
    });

    it('takes effect when its date has come, once, through the scheduled job', async () => {
      setNow(day(29));
      expect((await runJob()).counts).toEqual({ noticesApplied: 0, noticesFailed: 0 });
      expect(((await t.http().get(`/api/v1/subprocessors/${carrier.id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse).status).toBe('approved');

      setNow(day(31));
      const run = await runJob();
      expect(run).toMatchObject({ outcome: 'succeeded', counts: { noticesApplied: 1 } });
      const sub = (await t.http().get(`/api/v1/subprocessors/${carrier.id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse;
      expect(sub).toMatchObject({ status: 'active', activeSince: day(31).toISOString(), pendingChangeNotice: null });
      expect((await t.http().get(`/api/v1/change-notices/${notice.id}`).set(as('dpo')).expect(200)).body).toMatchObject({ status: 'effective', appliedAt: day(31).toISOString() });
      expect((await runJob()).counts).toEqual({ noticesApplied: 0, noticesFailed: 0 });
      const timeline = await t.db.superuser<{ status: string; at: Date }>('SELECT status, at FROM subprocessor_status_changes WHERE subprocessor_id = $1 ORDER BY at', [carrier.id]);
      expect(timeline.map((r) => r.status)).toEqual(['proposed', 'approved', 'active']);
      expect(timeline[2].at.toISOString()).toBe(day(31).toISOString());
      const history = (await t.http().get(`/api/v1/subprocessors/${carrier.id}/history`).set(as('dpo')).expect(200)).body as { items: { action: string; actorType: string; changes: Record<string, unknown> }[] };
      expect(history.items[0]).toMatchObject({ action: 'subprocessor.status_changed', actorType: 'system', changes: { status: { from: 'approved', to: 'active' }, noticeId: notice.id } });
    });

    it('is authorised after the effective date for the customers that neither objected nor owe an approval', async () => {
      const at = day(31);
      const alpha = await authorised(c.alpha.id, at);
      expect(alpha).toMatchObject({ customerId: c.alpha.id, authorisation: 'general', subprocessors: [] });
      expect(alpha.withheld).toEqual([expect.objectContaining({ id: carrier.id, reason: 'objection' })]);
      const gamma = await authorised(c.gamma.id, at);
      expect(gamma.subprocessors.map((s) => s.id)).toEqual([carrier.id]);
      const zeta = await authorised(c.zeta.id, at);
      expect(zeta.subprocessors).toEqual([]);
      expect(zeta.withheld).toEqual([expect.objectContaining({ id: carrier.id, reason: 'approval_required' })]);
      // It does not carry France; Delta and Epsilon have no DPA in force.
      expect(await authorised(c.beta.id, at)).toMatchObject({ subprocessors: [], withheld: [] });
      expect(await authorised(c.delta.id, at)).toMatchObject({ dpaId: null, authorisation: null, subprocessors: [], withheld: [] });
      expect(await authorised(c.epsilon.id, at)).toMatchObject({ dpaId: null, subprocessors: [] });
      // Before it took effect it carried nobody's data.
      expect((await authorised(c.gamma.id, day(20))).subprocessors).toEqual([]);
    });

    it('lets the customer itself, the DPO, legal, auditors and ingest keys ask, and nobody ask about another customer', async () => {
      const at = day(31).toISOString();
      await t.http().get(`/api/v1/customers/${c.gamma.id}/authorised-subprocessors`).query({ at }).set(as('gamma')).expect(200);
      for (const who of ['legal', 'auditor']) await t.http().get(`/api/v1/customers/${c.gamma.id}/authorised-subprocessors`).query({ at }).set(as(who)).expect(200);
      const viaKey = await t.http().get(`/api/v1/customers/${c.gamma.id}/authorised-subprocessors`).query({ at }).set(bearer(ingestKey)).expect(200);
      expect((viaKey.body as AuthorisedSubprocessorsResponse).subprocessors.map((s) => s.id)).toEqual([carrier.id]);
      expectProblem(await t.http().get(`/api/v1/customers/${c.alpha.id}/authorised-subprocessors`).set(as('gamma')), 404, 'not-found');
      expectProblem(await t.http().get('/api/v1/customers/3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b/authorised-subprocessors').set(as('dpo')), 404, 'not-found');
      expectProblem(await t.http().get(`/api/v1/customers/${c.gamma.id}/authorised-subprocessors`).query({ at: 'yesterday' }).set(as('dpo')), 400, 'validation');
    });

    it('becomes authorised for the objecting customer once the DPO resolves the objection as withdrawn, and not before', async () => {
      setNow(day(40));
      const [objection] = ((await t.http().get('/api/v1/objections').set(as('alpha')).expect(200)).body as ObjectionPage).items;
      expectProblem(await t.http().post(`/api/v1/objections/${objection.id}/resolution`).set(as('alpha')).send({ resolution: 'withdrawn', note: 'x' }), 403);
      expectProblem(await t.http().post(`/api/v1/objections/${objection.id}/resolution`).set(as('dpo')).send({ resolution: 'approved', note: 'x' }), 400, 'validation');
      const resolved = (await t.http().post(`/api/v1/objections/${objection.id}/resolution`).set(as('dpo'))
        .send({ resolution: 'withdrawn', note: 'Customer withdrew after a call on day 39' }).expect(200)).body as ObjectionResponse;
      expect(resolved).toMatchObject({ resolution: 'withdrawn', resolvedBy: dpoId, resolvedAt: day(40).toISOString() });
      expectProblem(await t.http().post(`/api/v1/objections/${objection.id}/resolution`).set(as('dpo')).send({ resolution: 'withdrawn', note: 'again' }), 409, 'conflict');
      expect((await authorised(c.alpha.id, day(41))).subprocessors.map((s) => s.id)).toEqual([carrier.id]);
      // Asked about the past, the answer is what it was then.
      expect((await authorised(c.alpha.id, day(35))).withheld).toEqual([expect.objectContaining({ id: carrier.id, reason: 'objection' })]);
    });
  });

  describe('a hosting provider', () => {
    it('concerns every customer with an active DPA; an objection blocks it for that customer only, and an agreed alternative route keeps it blocked', async () => {
      setNow(day(50));
      const host = await registerApproved({ legalEntity: 'Cloud Host Ltd', country: 'IE', role: 'hosting', services: ['hosting'], dataCategories: ['body', 'msisdn', 'delivery_metadata'] });
      const notice = await propose(host.id, 'Moving the message store to a new data centre');
      expect(notice.recipients.map((r) => r.customerId).sort()).toEqual([c.alpha.id, c.beta.id, c.gamma.id, c.zeta.id].sort());
      // The longest window among them is still Alpha's 30 days.
      expect(notice.effectiveAt).toBe(day(80).toISOString());
      const objection = (await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('beta')).send({ reason: 'Not in Ireland' }).expect(201)).body as ObjectionResponse;
      setNow(day(81));
      expect((await runJob()).counts).toEqual({ noticesApplied: 1, noticesFailed: 0 });
      expect((await authorised(c.alpha.id, day(81))).subprocessors.map((s) => s.legalEntity)).toEqual(['Carrier DE GmbH', 'Cloud Host Ltd']);
      expect((await authorised(c.beta.id, day(81))).withheld).toEqual([expect.objectContaining({ id: host.id, reason: 'objection' })]);
      await t.http().post(`/api/v1/objections/${objection.id}/resolution`).set(as('dpo')).send({ resolution: 'alternative_route', note: 'Beta stays on the old store' }).expect(200);
      setNow(day(82));
      const beta = await authorised(c.beta.id, day(82));
      expect(beta.subprocessors).toEqual([]);
      expect(beta.withheld).toEqual([expect.objectContaining({ id: host.id, reason: 'objection' })]);
    });
  });

  describe('withdrawing a notice', () => {
    it('stops it from taking effect and tells the customers it was sent to', async () => {
      setNow(day(90));
      const sub = await registerApproved({ legalEntity: 'Carrier AT GmbH', country: 'AT', carriesCountries: ['AT'] });
      const notice = await propose(sub.id, 'Austrian routes');
      expect(notice.recipients.map((r) => r.customerId)).toEqual([c.gamma.id]);
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/withdrawal`).set(as('gamma')).send({ reason: 'x' }), 403);
      const withdrawn = (await t.http().post(`/api/v1/change-notices/${notice.id}/withdrawal`).set(as('dpo')).send({ reason: 'Contract not signed' }).expect(200)).body as ChangeNoticeResponse;
      expect(withdrawn.status).toBe('withdrawn');
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/withdrawal`).set(as('dpo')).send({ reason: 'again' }), 409, 'conflict');
      expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('gamma')).send({ reason: 'x' }), 409, 'conflict');
      setNow(day(200));
      expect((await runJob()).counts).toEqual({ noticesApplied: 0, noticesFailed: 0 });
      expect(((await t.http().get(`/api/v1/subprocessors/${sub.id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse).status).toBe('approved');
      await until(() => smtp.received.some((m) => m.subject === 'Sub-processor change notice withdrawn'));
      const mail = smtp.received.find((m) => m.subject === 'Sub-processor change notice withdrawn');
      expect(mail?.to.sort()).toEqual([c.gamma.breachEmail, c.gamma.dpoEmail].sort());
      expect(mail?.text).toContain('Contract not signed');
    });
  });

  describe('with nobody affected', () => {
    it('takes effect at the next run of the job: there is nobody to wait for', async () => {
      setNow(day(300));
      const sub = await registerApproved({ legalEntity: 'Carrier JP KK', country: 'JP', carriesCountries: ['JP'] });
      const notice = await propose(sub.id, 'Japanese routes');
      expect(notice).toMatchObject({ recipients: [], effectiveAt: day(300).toISOString() });
      expect((await runJob()).counts).toEqual({ noticesApplied: 1, noticesFailed: 0 });
      expect(((await t.http().get(`/api/v1/subprocessors/${sub.id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse).status).toBe('active');
    });

    it('applies each due notice exactly once when two runs race', async () => {
      setNow(day(310));
      const subs = [];
      for (const n of [1, 2, 3, 4, 5]) {
        const sub = await registerApproved({ legalEntity: `Racing Carrier ${n}`, country: 'KR', carriesCountries: ['KR'] });
        await propose(sub.id, 'Korean routes');
        subs.push(sub.id);
      }
      const service = t.app.get(SubprocessorsService);
      const runs = await Promise.all([service.applyDueNotices(SYSTEM_ACTOR, day(310)), service.applyDueNotices(SYSTEM_ACTOR, day(310))]);
      expect(runs[0].noticesApplied + runs[1].noticesApplied).toBe(5);
      const rows = await t.db.superuser<{ n: number }>(
        `SELECT count(*)::int AS n FROM subprocessor_status_changes WHERE status = 'active' AND subprocessor_id = ANY($1::uuid[]) GROUP BY subprocessor_id`, [subs]);
      expect(rows.map((r) => r.n)).toEqual([1, 1, 1, 1, 1]);
      const [{ effective }] = await t.db.superuser<{ effective: number }>(
        `SELECT count(*)::int AS effective FROM audit_log WHERE action = 'change_notice.effective' AND changes->>'subprocessorId' = ANY($1::text[])`, [subs]);
      expect(effective).toBe(5);
    });
  });
});
