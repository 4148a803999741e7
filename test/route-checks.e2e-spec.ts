import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { ChangeNoticeResponse, ObjectionPage } from '../src/change-notices/dto/change-notice.dto';
import { Clock } from '../src/common/clock';
import { hopVerdict, RouteChecker } from '../src/messages/route-checks';
import { AuthorisationAt, AuthorisationService } from '../src/subprocessors/authorisation.service';
import type { SubprocessorResponse } from '../src/subprocessors/dto/subprocessor.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer } from './support/http';
import { ingestKey, postBatch, wireRecord } from './support/ingestion';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';
import { startSmtp, TestSmtp } from './support/smtp';

const DAY = 86_400_000;
const T0 = new Date('2026-03-02T09:00:00.000Z');
const day = (n: number, plusMs = 0) => new Date(T0.getTime() + n * DAY + plusMs);

interface ViolationRow {
  message_id: string;
  subprocessor_id: string;
  position: number;
  reason: string;
}

/*
 * The Registry's rule decides, hop by hop, whether a message travelled through sub-processors the
 * customer had authorised. The registry is built through its own API here (a new carrier, a
 * customer objecting, another owing an approval), and the messages come in through the batch API.
 */
describe('route checks on ingestion', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now = T0;
  let key: string;
  const tokens: Record<string, string> = {};
  const c = {} as Record<'alpha' | 'gamma' | 'beta' | 'delta' | 'strict', string>;
  let carrier: SubprocessorResponse;
  let incumbent: string;
  let overseas: string;

  const as = (who: string) => bearer(tokens[who]);
  const violationsOf = (ids: (string | null)[]) =>
    t.db.superuser<ViolationRow>('SELECT message_id, subprocessor_id, position, reason FROM route_violations WHERE message_id = ANY($1) ORDER BY message_id, position', [ids.filter(Boolean)]);

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    tokens.admin = await login(t, ADMIN.email, ADMIN.password);
    tokens.dpo = (await createUser(t, tokens.admin, { email: 'dpo@routes.test', role: 'dpo' })).token;
    key = await ingestKey(t, tokens.admin);
    c.alpha = await seedCustomer(t, { legalName: 'Alpha GmbH', destinationCountries: ['DE'] });
    c.gamma = await seedCustomer(t, { legalName: 'Gamma GmbH', destinationCountries: ['DE'] });
    c.beta = await seedCustomer(t, { legalName: 'Beta SA', destinationCountries: ['FR'] });
    c.delta = await seedCustomer(t, { legalName: 'Delta GmbH', destinationCountries: ['DE'] });
    c.strict = await seedCustomer(t, { legalName: 'Strict AG', destinationCountries: ['DE'] });
    const since = day(-100);
    await seedDpa(t, { customerId: c.alpha, activatedAt: since });
    await seedDpa(t, { customerId: c.gamma, authorisation: 'specific', activatedAt: since });
    await seedDpa(t, { customerId: c.beta, activatedAt: since });
    await seedDpa(t, { customerId: c.strict, activatedAt: since, transferMechanisms: ['adequacy'] });
    await seedDpa(t, { customerId: c.delta, status: 'draft' });
    for (const name of ['alpha', 'gamma'] as const) {
      tokens[name] = (await createUser(t, tokens.admin, { email: `user@${name}.routes.test`, role: 'customer', customerId: c[name] })).token;
    }
    incumbent = await seedSubprocessor(t, { legalEntity: 'Incumbent Telecom AG', country: 'DE', carriesCountries: ['DE', 'FR'], activeSince: day(-200) });
    overseas = await seedSubprocessor(t, { legalEntity: 'Overseas Routing Inc', country: 'US', carriesCountries: ['DE'], transferMechanism: 'scc', activeSince: day(-200) });
    // Gamma (specific authorisation) approved the incumbent long ago.
    const [old] = await t.db.superuser<{ id: string }>(
      `INSERT INTO change_notices (subprocessor_id, kind, changes, reason, status, proposed_at, effective_at, applied_at, created_by)
       VALUES ($1, 'new_subprocessor', '{}', 'initial', 'effective', $2, $2, $2, $3) RETURNING id`, [incumbent, day(-200), randomUUID()]);
    const [gammaDpa] = await t.db.superuser<{ id: string }>('SELECT id FROM dpas WHERE customer_id = $1', [c.gamma]);
    await t.db.superuser(`INSERT INTO change_notice_recipients (notice_id, customer_id, dpa_id, objection_deadline, approval_required, approved_at)
       VALUES ($1, $2, $3, $4, true, $4)`, [old.id, c.gamma, gammaDpa.id, day(-190)]);

    // A new German carrier, through the registry's API: Alpha objects, Gamma never approves.
    const created = await t.http().post('/api/v1/subprocessors').set(as('dpo')).send({
      legalEntity: 'Grey Carrier GmbH', country: 'DE', role: 'mobile_operator', services: ['SMS termination'], purpose: 'Delivers SMS',
      dataCategories: ['msisdn', 'body'], transferMechanism: 'none', carriesCountries: ['DE'],
    }).expect(201);
    carrier = created.body as SubprocessorResponse;
    await t.http().post(`/api/v1/subprocessors/${carrier.id}/transitions`).set(as('dpo')).send({ to: 'approved' }).expect(200);
    const notice = (await t.http().post(`/api/v1/subprocessors/${carrier.id}/change-notices`).set(as('dpo')).send({ reason: 'Cheaper termination' }).expect(201)).body as ChangeNoticeResponse;
    now = day(1);
    await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('alpha')).send({ reason: 'Not in our contract' }).expect(201);
    now = day(31);
    await t.http().post('/api/v1/jobs/change-notices-effective/run').set(as('dpo')).expect(200);
    expect(((await t.http().get(`/api/v1/subprocessors/${carrier.id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse).status).toBe('active');
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('flags a route through a sub-processor the customer objected to, and stores the message anyway', async () => {
    now = day(32);
    const res = await postBatch(t, key, [
      wireRecord(c.alpha, [incumbent, carrier.id], { submittedAt: day(31, 3_600_000).toISOString() }),
      wireRecord(c.alpha, [incumbent], { submittedAt: day(31, 3_600_000).toISOString() }),
    ]);
    expect(res.counts).toMatchObject({ stored: 2, violations: 1 });
    expect(await violationsOf(res.ids)).toEqual([{ message_id: res.ids[0], subprocessor_id: carrier.id, position: 1, reason: 'objection' }]);
    expect(await t.db.superuser('SELECT id FROM messages WHERE id = ANY($1)', [res.ids])).toHaveLength(2);
  });

  it('names why each hop was not authorised: approval owed, no DPA, not carrying the country, not yet active, unknown, transfer not allowed', async () => {
    now = day(32);
    const at = day(31, 7_200_000).toISOString();
    const unknown = '5a3f3c52-9b1e-4c7d-8e2f-6a7b8c9d0e1f';
    const res = await postBatch(t, key, [
      wireRecord(c.gamma, [incumbent, carrier.id], { submittedAt: at }),
      wireRecord(c.delta, [incumbent], { submittedAt: at }),
      wireRecord(c.beta, [incumbent, carrier.id], { submittedAt: at, destinationCountry: 'FR' }),
      wireRecord(c.gamma, [carrier.id], { submittedAt: day(20).toISOString() }),
      wireRecord(c.alpha, [unknown, incumbent], { submittedAt: at }),
      wireRecord(c.strict, [incumbent, overseas], { submittedAt: at }),
      wireRecord(c.alpha, [overseas], { submittedAt: at }),
    ]);
    expect(res.counts).toMatchObject({ stored: 7, rejected: 0, violations: 6 });
    const found = await violationsOf(res.ids);
    const byRecord = res.ids.map((id) => found.filter((v) => v.message_id === id).map((v) => [v.position, v.reason]));
    expect(byRecord).toEqual([
      [[1, 'approval_required']],
      [[0, 'no_dpa']],
      [[1, 'not_authorised']],
      [[0, 'not_authorised']],
      [[0, 'unknown_subprocessor']],
      [[1, 'transfer_not_allowed']],
      [],
    ]);
  });

  it('answers for the moment the message was submitted: an objection withdrawn later still flags earlier messages', async () => {
    now = day(40);
    const [objection] = ((await t.http().get('/api/v1/objections').set(as('alpha')).expect(200)).body as ObjectionPage).items;
    await t.http().post(`/api/v1/objections/${objection.id}/resolution`).set(as('dpo')).send({ resolution: 'withdrawn', note: 'Agreed on a call' }).expect(200);
    now = day(41);
    const res = await postBatch(t, key, [
      wireRecord(c.alpha, [carrier.id], { submittedAt: day(40, 1).toISOString() }),
      wireRecord(c.alpha, [carrier.id], { submittedAt: day(40, -1).toISOString() }),
      wireRecord(c.alpha, [carrier.id], { submittedAt: day(35).toISOString() }),
    ]);
    expect((await violationsOf(res.ids)).map((v) => [res.ids.indexOf(v.message_id), v.reason]).sort()).toEqual([[1, 'objection'], [2, 'objection']]);
  });

  it('checks only records stored now: a retried batch adds no violations', async () => {
    now = day(41);
    const records = [wireRecord(c.delta, [incumbent], { submittedAt: day(41).toISOString() })];
    const first = await postBatch(t, key, records);
    const again = await postBatch(t, key, records);
    expect([first.counts.violations, again.counts.violations]).toEqual([1, 0]);
    expect(await violationsOf(first.ids)).toHaveLength(1);
  });
});

/*
 * The batch check evaluates the rule once per customer and stretch of time in which it cannot
 * change. Exact means: for any moments, the same answer as AuthorisationService.authorisedAt asked
 * record by record. The registry below changes at many instants, some with microseconds (a
 * JavaScript time has none), and the moments are drawn around those instants.
 */
describe('batch route check is exactly authorisedAt per record', () => {
  let t: TestApp;
  const W = Date.parse('2026-06-01T00:00:00.000Z');
  const at = (days: number, micros = 0) => new Date(W + days * DAY).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
  const instants: number[] = [];
  /** Instants at which some customer's answer changes. */
  const changing: number[] = [];
  const customers: string[] = [];
  const subs: string[] = [];
  const unknownSub = 'e3c1f1d2-0000-4000-8000-00000000beef';

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    const sql = t.db.superuser.bind(t.db);
    // The first millisecond at which a change stored with microseconds is in effect.
    const effectiveMs = (x: string) => Date.parse(x.replace(/(\.\d{3})\d+Z$/, '$1Z')) + (/\.\d{3}0*[1-9]\d*Z$/.test(x) ? 1 : 0);
    const times = (...ts: string[]) => ts.forEach((x) => {
      instants.push(effectiveMs(x));
      changing.push(effectiveMs(x));
    });
    // Instants where the registry changes but no answer does (still worth drawing moments around).
    const quiet = (...ts: string[]) => ts.forEach((x) => instants.push(effectiveMs(x)));
    const cA = await seedCustomer(t, { legalName: 'A', destinationCountries: ['DE'] });
    const cB = await seedCustomer(t, { legalName: 'B', destinationCountries: ['DE'] });
    const cC = await seedCustomer(t, { legalName: 'C', destinationCountries: ['FR', 'DE'] });
    const cD = await seedCustomer(t, { legalName: 'D', destinationCountries: ['DE'] });
    customers.push(cA, cB, cC, cD);
    const dpaA = await seedDpa(t, { customerId: cA, activatedAt: new Date(W - 100 * DAY), transferMechanisms: ['adequacy', 'scc'] });
    const dpaB1 = await seedDpa(t, { customerId: cB, status: 'terminated', authorisation: 'specific', transferMechanisms: ['adequacy'], activatedAt: null });
    await sql('UPDATE dpas SET activated_at = $2, ended_at = $3 WHERE id = $1', [dpaB1, at(1, 300), at(6, 250)]);
    const dpaB2 = await seedDpa(t, { customerId: cB, version: 2, authorisation: 'general', activatedAt: null });
    await sql('UPDATE dpas SET activated_at = $2 WHERE id = $1', [dpaB2, at(6, 250)]);
    const dpaC = await seedDpa(t, { customerId: cC, activatedAt: new Date(W - 10 * DAY), expiresAt: null });
    await sql('UPDATE dpas SET expires_at = $2 WHERE id = $1', [dpaC, at(4, 700)]);
    times(at(1, 300), at(6, 250), at(4, 700));

    const s1 = await seedSubprocessor(t, { legalEntity: 'S1 Carrier', country: 'DE', carriesCountries: ['DE'], activeSince: new Date(W - 200 * DAY) });
    const s2 = await seedSubprocessor(t, { legalEntity: 'S2 Carrier', country: 'DE', carriesCountries: ['DE'], status: 'approved', activeSince: null });
    await sql('DELETE FROM subprocessor_status_changes WHERE subprocessor_id = $1', [s2]);
    for (const [status, when] of [['approved', at(-1)], ['active', at(2, 500)], ['suspended', at(5)], ['active', at(5, 1)], ['suspended', at(7)]] as const) {
      await sql('INSERT INTO subprocessor_status_changes (subprocessor_id, status, at) VALUES ($1, $2, $3)', [s2, status, when]);
      (status === 'approved' ? quiet : times)(when);
    }
    const s3 = await seedSubprocessor(t, { legalEntity: 'S3 Overseas', country: 'US', carriesCountries: ['DE'], transferMechanism: 'scc', activeSince: new Date(W - 50 * DAY) });
    const s4 = await seedSubprocessor(t, { legalEntity: 'S4 Carrier', country: 'DE', carriesCountries: ['DE'], activeSince: new Date(W - 50 * DAY) });
    const s5 = await seedSubprocessor(t, { legalEntity: 'S5 Hosting', country: 'IE', role: 'hosting', services: ['hosting'], activeSince: new Date(W - 50 * DAY) });
    subs.push(s1, s2, s3, s4, s5);

    const notice = async (sub: string, kind: string, changes: unknown, appliedAt: string) => {
      const [row] = await sql<{ id: string }>(`INSERT INTO change_notices (subprocessor_id, kind, changes, reason, status, proposed_at, effective_at, applied_at, created_by)
        VALUES ($1, $2, $3, 'r', 'effective', $4, $4, $4, $5) RETURNING id`, [sub, kind, JSON.stringify(changes), appliedAt, randomUUID()]);
      (appliedAt < at(-2) ? quiet : times)(appliedAt);
      return row.id;
    };
    const n1 = await notice(s1, 'new_subprocessor', {}, at(-150));
    const n2 = await notice(s2, 'new_subprocessor', {}, at(2, 500));
    // S4 carried France only until a material change applied on day 3.
    const n4 = await notice(s4, 'material_change', { carriesCountries: { from: ['FR'], to: ['DE'] } }, at(3, 900));
    const recipient = async (n: string, customer: string, dpa: string, required: boolean, approvedAt: string | null) => {
      await sql(`INSERT INTO change_notice_recipients (notice_id, customer_id, dpa_id, objection_deadline, approval_required, approved_at) VALUES ($1, $2, $3, $4, $5, $6)`,
        [n, customer, dpa, at(0), required, approvedAt]);
      if (approvedAt) times(approvedAt);
    };
    await recipient(n1, cB, dpaB1, true, at(1, 800));
    await recipient(n2, cB, dpaB1, true, at(2, 999));
    await recipient(n4, cB, dpaB1, true, null);
    await recipient(n2, cA, dpaA, false, null);
    const objection = async (n: string, customer: string, sub: string, raisedAt: string, resolution: string | null, resolvedAt: string | null) => {
      await sql(`INSERT INTO objections (notice_id, customer_id, subprocessor_id, reason, raised_by, raised_at, resolution, resolved_by, resolved_at)
        VALUES ($1, $2, $3, 'no', $4, $5, $6, $7, $8)`, [n, customer, sub, randomUUID(), raisedAt, resolution, resolvedAt ? randomUUID() : null, resolvedAt]);
      times(raisedAt);
      // Resolved other than withdrawn, an objection keeps excluding the sub-processor.
      if (resolvedAt) (resolution === 'withdrawn' ? times : quiet)(resolvedAt);
    };
    await objection(n1, cA, s1, at(1), 'withdrawn', at(3, 1));
    await objection(n2, cC, s5, at(2), 'alternative_route', at(4));
    await objection(n4, cA, s4, at(8, 400), null, null);
    instants.sort((a, b) => a - b);
    changing.sort((a, b) => a - b);
  });
  afterAll(() => t?.close());

  const normalise = (a: AuthorisationAt) => ({
    dpa: a.dpa?.id ?? null,
    authorised: a.authorised.map((s) => `${s.id}:${s.carriesCountries.join('+')}`),
    withheld: a.withheld.map((w) => `${w.subprocessor.id}:${w.reason}`),
  });

  // Moments: exactly at a change, a millisecond or two either side, or anywhere in the fortnight.
  const moment = fc.oneof(
    fc.tuple(fc.nat(1000), fc.integer({ min: -2, max: 2 })).map(([i, d]) => new Date(instants[i % instants.length] + d)),
    fc.integer({ min: W - 2 * DAY, max: W + 10 * DAY }).map((ms) => new Date(ms)),
  );

  it('gives the same answer as authorisedAt for every customer and moment', async () => {
    const service = t.app.get(AuthorisationService);
    const em = t.app.get(DataSource).manager;
    await fc.assert(fc.asyncProperty(fc.array(fc.record({ customerId: fc.constantFrom(...customers), at: moment }), { minLength: 1, maxLength: 40 }), async (asks) => {
      const batch = await service.authorisedAtMany(em, asks);
      for (let i = 0; i < asks.length; i++) {
        expect({ ask: asks[i], answer: normalise(batch[i]) }).toEqual({ ask: asks[i], answer: normalise(await service.authorisedAt(em, asks[i].customerId, asks[i].at)) });
      }
    }), { numRuns: 60 });
  });

  it('flags exactly the hops that authorisedAt, asked record by record, does not authorise', async () => {
    const checker = t.app.get(RouteChecker);
    const service = t.app.get(AuthorisationService);
    const em = t.app.get(DataSource).manager;
    const known = new Set(subs);
    const route = fc.array(fc.constantFrom(...subs, unknownSub), { minLength: 1, maxLength: 4 });
    await fc.assert(fc.asyncProperty(fc.array(fc.record({ customerId: fc.constantFrom(...customers), submittedAt: moment, route }), { minLength: 1, maxLength: 40 }), async (records) => {
      const flagged = await checker.check(em, records);
      for (let i = 0; i < records.length; i++) {
        const answer = await service.authorisedAt(em, records[i].customerId, records[i].submittedAt);
        const expected = records[i].route.flatMap((id, position) => {
          const reason = hopVerdict(answer, known, id);
          return reason ? [{ position, subprocessorId: id, reason }] : [];
        });
        expect(flagged[i]).toEqual(expected);
      }
    }), { numRuns: 40 });
  });

  it('draws moments around registry changes that each change some answer (the property above is not vacuous)', async () => {
    const service = t.app.get(AuthorisationService);
    const em = t.app.get(DataSource).manager;
    // Each instant changes some customer's answer (no change is dead weight in the test above).
    expect(changing.length).toBeGreaterThanOrEqual(14);
    for (const instant of changing) {
      const before = await Promise.all(customers.map((c) => service.authorisedAt(em, c, new Date(instant - 1)).then(normalise)));
      const after = await Promise.all(customers.map((c) => service.authorisedAt(em, c, new Date(instant)).then(normalise)));
      expect({ instant: new Date(instant).toISOString(), changed: JSON.stringify(before) !== JSON.stringify(after) }).toEqual({ instant: new Date(instant).toISOString(), changed: true });
    }
  });
});
