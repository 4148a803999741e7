import type { ChangeNoticeResponse } from '../src/change-notices/dto/change-notice.dto';
import { Clock } from '../src/common/clock';
import type { JobRunResponse } from '../src/jobs/dto/job.dto';
import type { HistoryPage, SubprocessorPage, SubprocessorResponse } from '../src/subprocessors/dto/subprocessor.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, countRows, expectProblem, problemFields } from './support/http';
import { startSmtp, TestSmtp } from './support/smtp';

/* The DPO's sub-processor registry through HTTP on real Postgres: validation, lifecycle, history, material changes, reminders. */

const DAY = 86_400_000;
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const day = (n: number) => new Date(T0.getTime() + n * DAY);
const dateOnly = (d: Date) => d.toISOString().slice(0, 10);

/** Waits for mail delivery (sent after the commit), then a little longer so a duplicate would show. */
async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for mail');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
}

const VALID = {
  legalEntity: 'Carrier DE GmbH',
  parentCompany: 'Carrier Holding AG',
  country: 'DE',
  role: 'mobile_operator',
  services: ['SMS termination', 'HLR lookup'],
  purpose: 'Delivers SMS to subscribers of its network',
  dataCategories: ['msisdn', 'body'],
  carriesCountries: ['DE'],
  transferMechanism: 'none',
  certifications: [{ name: 'ISO/IEC 27001', expiresAt: '2031-06-30' }],
  lastSecurityReview: '2025-11-02',
};

describe('sub-processor registry', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now = T0;
  const tokens: Record<string, string> = {};
  let dpoId: string;
  let customerId: string;

  const as = (who: string) => bearer(tokens[who]);
  const create = (body: Record<string, unknown>, who = 'dpo') => t.http().post('/api/v1/subprocessors').set(as(who)).send(body);
  const transition = (id: string, to: string, reason?: string) => t.http().post(`/api/v1/subprocessors/${id}/transitions`).set(as('dpo')).send({ to, ...(reason ? { reason } : {}) });
  const get = async (id: string) => (await t.http().get(`/api/v1/subprocessors/${id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse;
  const runJob = async (name: string) => (await t.http().post(`/api/v1/jobs/${name}/run`).set(as('dpo')).expect(200)).body as JobRunResponse;
  const history = async (id: string, who = 'dpo') => ((await t.http().get(`/api/v1/subprocessors/${id}/history`).set(as(who)).expect(200)).body as HistoryPage).items;

  /** Active the only way there is: a change notice that has taken effect. */
  async function activate(id: string): Promise<ChangeNoticeResponse> {
    if ((await get(id)).status === 'proposed') await transition(id, 'approved').expect(200);
    const notice = (await t.http().post(`/api/v1/subprocessors/${id}/change-notices`).set(as('dpo')).send({ reason: 'needed' }).expect(201)).body as ChangeNoticeResponse;
    const before = now;
    now = new Date(notice.effectiveAt);
    await runJob('change-notices-effective');
    now = before;
    expect((await get(id)).status).toBe('active');
    return notice;
  }

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    tokens.admin = await login(t, ADMIN.email, ADMIN.password);
    const dpo = await createUser(t, tokens.admin, { email: 'dpo@provider.test', role: 'dpo' });
    [dpoId, tokens.dpo] = [dpo.id, dpo.token];
    tokens.dpo2 = (await createUser(t, tokens.admin, { email: 'deputy-dpo@provider.test', role: 'dpo' })).token;
    tokens.legal = (await createUser(t, tokens.admin, { email: 'legal@provider.test', role: 'legal' })).token;
    // One German customer with an active DPA (14-day window), so notices about German carriers reach somebody.
    const [c] = await t.db.superuser<{ id: string }>(
      `INSERT INTO customers (legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
       VALUES ('Brand GmbH', 'DE', '{"name":"Brand DPO","email":"dpo@brand.test"}', '{breach@brand.test}', '{DE}', '{"messageKinds":["otp"],"specialCategoryData":false}') RETURNING id`,
    );
    customerId = c.id;
    await t.db.superuser(
      `INSERT INTO dpas (customer_id, version, status, objection_window_days, max_retention_days, transfer_mechanisms, data_categories, purposes, activated_at)
       VALUES ($1, 1, 'active', 14, '{"body":30,"msisdn":30,"delivery_metadata":90}', '{none}', '{body,msisdn}', '{messaging}', $2)`,
      [customerId, new Date(T0.getTime() - 100 * DAY)],
    );
    tokens.customer = (await createUser(t, tokens.admin, { email: 'user@brand.test', role: 'customer', customerId })).token;
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  describe('registration', () => {
    it('registers a proposed sub-processor, records its first status at the clock\'s time and audits it', async () => {
      const res = await create(VALID).expect(201);
      const sub = res.body as SubprocessorResponse;
      expect(sub).toMatchObject({ ...VALID, status: 'proposed', global: false, activeSince: null, pendingChangeNotice: null });
      const rows = await t.db.superuser<{ status: string; at: Date }>('SELECT status, at FROM subprocessor_status_changes WHERE subprocessor_id = $1', [sub.id]);
      expect(rows.map((r) => [r.status, r.at.toISOString()])).toEqual([['proposed', T0.toISOString()]]);
      expect(await history(sub.id)).toEqual([expect.objectContaining({ action: 'subprocessor.created', actorType: 'user', actorId: dpoId, at: T0.toISOString() })]);
    });

    it('refuses a transfer to a non-adequate third country without a mechanism, naming transferMechanism, and stores nothing', async () => {
      const before = await countRows(t, 'subprocessors');
      for (const country of ['IN', 'BR', 'US']) {
        const res = await create({ ...VALID, country, transferMechanism: 'none' });
        expectProblem(res, 400, 'validation');
        expect(problemFields(res)).toEqual(['transferMechanism']);
        expect((res.body as { errors: { messages: string[] }[] }).errors[0].messages[0]).toContain(country);
      }
      expect(problemFields(await create({ ...VALID, country: 'IN', transferMechanism: 'adequacy' }))).toEqual(['transferMechanism']);
      expect(await countRows(t, 'subprocessors')).toBe(before);
    });

    it('accepts the EU/EEA and adequate countries without a mechanism, and third countries with SCCs or BCRs', async () => {
      await create({ ...VALID, legalEntity: 'Swiss AG', country: 'CH' }).expect(201);
      await create({ ...VALID, legalEntity: 'Norsk AS', country: 'NO' }).expect(201);
      await create({ ...VALID, legalEntity: 'India Pvt Ltd', country: 'IN', transferMechanism: 'scc' }).expect(201);
      await create({ ...VALID, legalEntity: 'US Inc', country: 'us', transferMechanism: 'adequacy' }).expect(201).expect((r) => expect(r.body).toMatchObject({ country: 'US' }));
    });

    it('validates every field and refuses unknown ones', async () => {
      const cases: [Record<string, unknown>, string[]][] = [
        [{ ...VALID, legalEntity: '' }, ['legalEntity']],
        [{ ...VALID, country: 'XX' }, ['country']],
        [{ ...VALID, role: 'reseller' }, ['role']],
        [{ ...VALID, services: [] }, ['services']],
        [{ ...VALID, dataCategories: ['passwords'] }, ['dataCategories']],
        [{ ...VALID, carriesCountries: ['DEU'] }, ['carriesCountries']],
        [{ ...VALID, carriesCountries: [] }, ['carriesCountries']],
        [{ ...VALID, global: true }, ['carriesCountries']],
        [{ ...VALID, transferMechanism: 'trust me' }, ['transferMechanism']],
        [{ ...VALID, certifications: [{ name: 'SOC 2', expiresAt: 'next year' }] }, ['certifications.0.expiresAt']],
        [{ ...VALID, lastSecurityReview: '2025-13-01' }, ['lastSecurityReview']],
        [{ ...VALID, status: 'active' }, ['status']],
      ];
      for (const [body, fields] of cases) {
        const res = await create(body);
        expectProblem(res, 400);
        expect({ body, fields: problemFields(res) }).toEqual({ body, fields: expect.arrayContaining(fields) });
      }
      await create({ ...VALID, legalEntity: 'Global Aggregator', role: 'aggregator', carriesCountries: [], global: true }).expect(201);
      await create({ ...VALID, legalEntity: 'Support Desk', role: 'support', carriesCountries: [] }).expect(201);
    });

    it('is the DPO\'s: legal and security read, customers see nothing, nobody else writes', async () => {
      expectProblem(await create(VALID, 'legal'), 403);
      const page = (await t.http().get('/api/v1/subprocessors').set(as('legal')).expect(200)).body as SubprocessorPage;
      expect(page.items.length).toBeGreaterThan(0);
      expectProblem(await t.http().get('/api/v1/subprocessors').set(as('customer')), 403);
      expectProblem(await t.http().get(`/api/v1/subprocessors/${page.items[0].id}`).set(as('customer')), 403);
      expectProblem(await t.http().get('/api/v1/subprocessors/not-a-uuid').set(as('dpo')), 404, 'not-found');
      expectProblem(await t.http().get('/api/v1/subprocessors/3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b').set(as('dpo')), 404, 'not-found');
    });

    it('lists in pages by name, filtered by status', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await t.http().get('/api/v1/subprocessors').query({ limit: 2, status: 'proposed', ...(cursor ? { cursor } : {}) }).set(as('dpo')).expect(200);
        const page = res.body as SubprocessorPage;
        expect(page.items.every((s) => s.status === 'proposed')).toBe(true);
        seen.push(...page.items.map((s) => s.legalEntity));
        cursor = page.nextCursor;
      } while (cursor);
      const [{ n }] = await t.db.superuser<{ n: string }>(`SELECT count(*)::text AS n FROM subprocessors WHERE status = 'proposed'`);
      expect(seen).toHaveLength(Number(n));
      expect(seen).toEqual([...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    });
  });

  describe('lifecycle', () => {
    let id: string;
    beforeAll(async () => {
      id = ((await create({ ...VALID, legalEntity: 'Lifecycle Telecom', country: 'JP', carriesCountries: ['JP'] }).expect(201)).body as SubprocessorResponse).id;
    });

    it('allows only the listed transitions and names the allowed ones otherwise', async () => {
      const skip = await transition(id, 'active');
      expect(expectProblem(skip, 409, 'invalid-transition')).toMatchObject({ from: 'proposed', to: 'active', allowed: ['approved'] });
      now = day(1);
      await transition(id, 'approved', 'Due diligence done').expect(200).expect((r) => expect(r.body).toMatchObject({ status: 'approved' }));
      const direct = await transition(id, 'active');
      const problem = expectProblem(direct, 409, 'conflict');
      expect(problem.detail).toMatch(/change notice/);
      expect(problem.detail).toContain('/change-notices');
      expect(expectProblem(await transition(id, 'suspended'), 409, 'invalid-transition')).toMatchObject({ allowed: [] });
      expectProblem(await transition(id, 'paused'), 400, 'validation');
    });

    it('goes active through a notice, then active ⇄ suspended → offboarded, each change timed and recorded', async () => {
      now = day(2);
      await activate(id); // nobody's traffic goes to Japan: effective at once
      now = day(3);
      await transition(id, 'suspended', 'Security incident under review').expect(200);
      now = day(4);
      await transition(id, 'active').expect(200).expect((r) => expect(r.body).toMatchObject({ status: 'active', activeSince: day(2).toISOString() }));
      expect(expectProblem(await transition(id, 'offboarded'), 409, 'invalid-transition')).toMatchObject({ allowed: ['suspended'] });
      now = day(5);
      await transition(id, 'suspended').expect(200);
      await transition(id, 'offboarded', 'Contract ended').expect(200);
      expect(expectProblem(await transition(id, 'active'), 409, 'invalid-transition')).toMatchObject({ allowed: [] });
      const rows = await t.db.superuser<{ status: string; at: Date }>('SELECT status, at FROM subprocessor_status_changes WHERE subprocessor_id = $1 ORDER BY at', [id]);
      expect(rows.map((r) => r.status)).toEqual(['proposed', 'approved', 'active', 'suspended', 'active', 'suspended', 'offboarded']);
      expect(rows.slice(1, 5).map((r) => r.at.toISOString())).toEqual([day(1), day(2), day(3), day(4)].map((d) => d.toISOString()));
      // Two changes in one instant (suspended, then offboarded) stay ordered: the later is a microsecond on.
      const [order] = await t.db.superuser<{ later: boolean }>(
        `SELECT (SELECT at FROM subprocessor_status_changes WHERE subprocessor_id = $1 AND status = 'offboarded') >
                (SELECT max(at) FROM subprocessor_status_changes WHERE subprocessor_id = $1 AND status = 'suspended') AS later`, [id]);
      expect(order.later).toBe(true);
    });

    it('shows who changed what, when, newest first, to the DPO, legal and auditors', async () => {
      const items = await history(id, 'legal');
      expect(items.map((e) => e.action)).toEqual([
        'subprocessor.status_changed', 'subprocessor.status_changed', 'subprocessor.status_changed', 'subprocessor.status_changed',
        'subprocessor.status_changed', 'subprocessor.change_proposed', 'subprocessor.status_changed', 'subprocessor.created',
      ]);
      expect(items.map((e) => (e.changes.status as { to?: string } | undefined)?.to ?? null)).toEqual(['offboarded', 'suspended', 'active', 'suspended', 'active', null, 'approved', null]);
      expect(items[0]).toMatchObject({ actorType: 'user', actorId: dpoId, at: day(5).toISOString(), changes: { reason: 'Contract ended' } });
      expect(items[4]).toMatchObject({ actorType: 'system', actorId: null, at: day(2).toISOString() });
      expect(items.map((e) => e.seq)).toEqual([...items.map((e) => e.seq)].sort((a, b) => b - a));
      const page = (await t.http().get(`/api/v1/subprocessors/${id}/history`).query({ limit: 3 }).set(as('dpo')).expect(200)).body as HistoryPage;
      expect(page.items.map((e) => e.seq)).toEqual(items.slice(0, 3).map((e) => e.seq));
      const next = (await t.http().get(`/api/v1/subprocessors/${id}/history`).query({ limit: 3, cursor: page.nextCursor }).set(as('dpo')).expect(200)).body as HistoryPage;
      expect(next.items.map((e) => e.seq)).toEqual(items.slice(3, 6).map((e) => e.seq));
      expectProblem(await t.http().get(`/api/v1/subprocessors/${id}/history`).set(as('customer')), 403);
    });
  });

  describe('changes to a sub-processor in service', () => {
    let sub: SubprocessorResponse;
    let notice: ChangeNoticeResponse;

    beforeAll(async () => {
      now = day(10);
      sub = (await create({ ...VALID, legalEntity: 'Material Telecom GmbH' }).expect(201)).body as SubprocessorResponse;
      await activate(sub.id);
    });

    it('applies non-material fields at once and announces material ones in a change notice instead', async () => {
      now = day(30);
      const res = await t.http().patch(`/api/v1/subprocessors/${sub.id}`).set(as('dpo'))
        .send({ purpose: 'Delivers SMS and RCS', lastSecurityReview: '2026-01-15', country: 'FR', parentCompany: 'New Owner SA', reason: 'Acquired; processing moves to Paris' })
        .expect(200);
      const body = res.body as SubprocessorResponse;
      expect(body).toMatchObject({ purpose: 'Delivers SMS and RCS', lastSecurityReview: '2026-01-15', country: 'DE', parentCompany: 'Carrier Holding AG', status: 'active' });
      expect(body.pendingChangeNotice).toMatchObject({
        kind: 'material_change', effectiveAt: day(44).toISOString(),
        changes: { country: { from: 'DE', to: 'FR' }, parentCompany: { from: 'Carrier Holding AG', to: 'New Owner SA' } },
      });
      notice = (await t.http().get(`/api/v1/change-notices/${body.pendingChangeNotice!.id}`).set(as('dpo')).expect(200)).body as ChangeNoticeResponse;
      expect(notice).toMatchObject({ kind: 'material_change', status: 'pending', reason: 'Acquired; processing moves to Paris', recipients: [expect.objectContaining({ customerId })] });
      expect(Object.keys(notice.changes).sort()).toEqual(['country', 'parentCompany']);
      const mails = await t.db.superuser<{ recipients: string[]; subject: string; text: string }>(`SELECT recipients, subject, text FROM mails WHERE subject_id = $1`, [notice.id]);
      expect(mails).toHaveLength(1);
      expect(mails[0].recipients.sort()).toEqual(['breach@brand.test', 'dpo@brand.test']);
      expect(mails[0].subject).toBe('Sub-processor change notice');
      expect(mails[0].text).toContain('Country: DE -> FR');
      const actions = (await history(sub.id)).slice(0, 2).map((e) => e.action);
      expect(actions).toEqual(['subprocessor.change_proposed', 'subprocessor.updated']);
    });

    it('refuses another material change while one is pending, and one without a reason', async () => {
      const again = await t.http().patch(`/api/v1/subprocessors/${sub.id}`).set(as('dpo')).send({ services: ['SMS'], reason: 'x' });
      expect(expectProblem(again, 409, 'conflict')).toMatchObject({ pendingChangeNotice: notice.id });
      const other = ((await create({ ...VALID, legalEntity: 'Reasonless GmbH', country: 'AT', carriesCountries: ['AT'] }).expect(201)).body as SubprocessorResponse);
      await activate(other.id);
      const noReason = await t.http().patch(`/api/v1/subprocessors/${other.id}`).set(as('dpo')).send({ dataCategories: ['msisdn'] });
      expect(problemFields(noReason)).toEqual(['reason']);
      // Widening the countries it carries reaches customers who were never told: material too.
      const wider = await t.http().patch(`/api/v1/subprocessors/${other.id}`).set(as('dpo')).send({ carriesCountries: ['AT', 'DE'], reason: 'new routes' }).expect(200);
      expect((wider.body as SubprocessorResponse)).toMatchObject({ carriesCountries: ['AT'], pendingChangeNotice: { changes: { carriesCountries: { from: ['AT'], to: ['AT', 'DE'] } } } });
      expect(problemFields(await t.http().patch(`/api/v1/subprocessors/${other.id}`).set(as('dpo')).send({ unknown: 1 }))).toContain('unknown');
    });

    it('applies the announced change when it takes effect', async () => {
      now = day(43);
      expect((await runJob('change-notices-effective')).counts).toEqual({ noticesApplied: 0, noticesFailed: 0 });
      expect((await get(sub.id)).country).toBe('DE');
      now = day(44);
      // This one and the wider-coverage notice of the test before, made the same day.
      expect((await runJob('change-notices-effective')).counts).toEqual({ noticesApplied: 2, noticesFailed: 0 });
      expect(await get(sub.id)).toMatchObject({ country: 'FR', parentCompany: 'New Owner SA', purpose: 'Delivers SMS and RCS', status: 'active', pendingChangeNotice: null });
      const [latest] = await history(sub.id);
      expect(latest).toMatchObject({ action: 'subprocessor.updated', actorType: 'system', changes: { country: { from: 'DE', to: 'FR' }, noticeId: notice.id } });
    });

    it('before a sub-processor is in service, every change applies at once', async () => {
      const proposed = (await create({ ...VALID, legalEntity: 'Early GmbH' }).expect(201)).body as SubprocessorResponse;
      const res = await t.http().patch(`/api/v1/subprocessors/${proposed.id}`).set(as('dpo')).send({ country: 'AT', carriesCountries: ['AT'] }).expect(200);
      expect(res.body).toMatchObject({ country: 'AT', carriesCountries: ['AT'], pendingChangeNotice: null });
      expectProblem(await t.http().patch(`/api/v1/subprocessors/${proposed.id}`).set(as('dpo')).send({ country: 'IN' }), 400, 'validation');
    });
  });

  describe('certification expiry reminders', () => {
    const certMails = () => smtp.received.filter((m) => m.headers.get('x-custodian-mail') === 'certification-expiry');

    it('mails the DPO users once per certification, 30 days before it expires', async () => {
      now = day(100);
      const sub = (await create({
        ...VALID, legalEntity: 'Certified GmbH',
        certifications: [{ name: 'ISO/IEC 27001', expiresAt: dateOnly(day(120)) }, { name: 'SOC 2 Type II', expiresAt: dateOnly(day(160)) }],
      }).expect(201)).body as SubprocessorResponse;
      // An offboarded one is nobody's concern any more.
      const gone = (await create({ ...VALID, legalEntity: 'Gone GmbH', country: 'JP', carriesCountries: ['JP'], certifications: [{ name: 'ISO/IEC 27001', expiresAt: dateOnly(day(110)) }] }).expect(201)).body as SubprocessorResponse;
      await activate(gone.id);
      await transition(gone.id, 'suspended').expect(200);
      await transition(gone.id, 'offboarded').expect(200);

      const first = await runJob('certification-expiry-reminders');
      expect(first.counts).toMatchObject({ remindersSent: 1 });
      await until(() => certMails().length >= 1);
      expect(certMails()).toHaveLength(1);
      expect(certMails()[0].to.sort()).toEqual(['deputy-dpo@provider.test', 'dpo@provider.test']);
      expect(certMails()[0].subject).toBe('Sub-processor certification expiring');
      expect(certMails()[0].text).toContain('Certified GmbH');
      expect(certMails()[0].text).toContain(`ISO/IEC 27001 certification`);
      expect(certMails()[0].text).toContain(`/api/v1/subprocessors/${sub.id}`);

      now = day(101);
      expect((await runJob('certification-expiry-reminders')).counts).toMatchObject({ remindersSent: 0 });
      now = day(131); // the SOC 2 report is now 29 days from expiry
      expect((await runJob('certification-expiry-reminders')).counts).toMatchObject({ remindersSent: 1 });
      await until(() => certMails().length >= 2);
      expect(certMails().map((m) => m.text.includes('SOC 2 Type II'))).toEqual([false, true]);
      const keys = await t.db.superuser<{ key: string }>(`SELECT key FROM sent_reminders WHERE key LIKE 'cert-expiry:%' ORDER BY key`);
      expect(keys.map((k) => k.key).sort()).toEqual([
        `cert-expiry:${sub.id}:ISO/IEC 27001:${dateOnly(day(120))}`,
        `cert-expiry:${sub.id}:SOC 2 Type II:${dateOnly(day(160))}`,
      ].sort());
    });
  });
});
