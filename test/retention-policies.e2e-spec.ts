import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { Response } from 'supertest';
import { Clock } from '../src/common/clock';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import type { CustomerRetentionResponse, RetentionPolicyPage, RetentionPolicyResponse } from '../src/retention/dto/retention-policy.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem, problemFields } from './support/http';
import { sleep } from './support/processes';
import { seedCustomer, seedDpa } from './support/registry-fixtures';

const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;
const NOW = new Date('2026-12-10T12:00:00.000Z');

describe('retention policies', () => {
  let t: TestApp;
  let admin: string;
  const tokens: Record<'dpo' | 'legal' | 'auditor' | 'security' | 'customerA' | 'customerB', string> = {} as never;
  let capped: string; // active DPA: body ≤ 30, msisdn ≤ 60, delivery_metadata ≤ 365
  let free: string; // no DPA in force
  let shortMetadata: string; // active DPA whose delivery_metadata maximum (20) is below the msisdn default

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(NOW));
    admin = await login(t, ADMIN.email, ADMIN.password);
    capped = await seedCustomer(t, { legalName: 'Capped Telecom' });
    free = await seedCustomer(t, { legalName: 'Free Retail' });
    shortMetadata = await seedCustomer(t, { legalName: 'Short Metadata Bank' });
    await seedDpa(t, { customerId: capped, maxRetentionDays: { body: 30, msisdn: 60, delivery_metadata: 365 } });
    await seedDpa(t, { customerId: shortMetadata, maxRetentionDays: { body: 30, msisdn: 90, delivery_metadata: 20 } });
    for (const role of ['dpo', 'legal', 'auditor', 'security'] as const) tokens[role] = (await createUser(t, admin, { email: unique(role), role })).token;
    tokens.customerA = (await createUser(t, admin, { email: unique('cust-a'), role: 'customer', customerId: capped })).token;
    tokens.customerB = (await createUser(t, admin, { email: unique('cust-b'), role: 'customer', customerId: free })).token;
  });
  afterAll(() => t.close());

  const effective = async (customerId: string, token = tokens.dpo): Promise<CustomerRetentionResponse> => {
    const res = await t.http().get(`/api/v1/customers/${customerId}/retention`).set(bearer(token));
    expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: 200 });
    return res.body as CustomerRetentionResponse;
  };
  const category = (view: CustomerRetentionResponse, name: string) => view.categories.find((c) => c.category === name)!;
  const put = (customerId: string, cat: string, days: unknown, token = tokens.dpo) =>
    t.http().put(`/api/v1/customers/${customerId}/retention/${cat}`).set(bearer(token)).send({ days });
  const putDefault = (cat: string, days: unknown, token = tokens.dpo) => t.http().put(`/api/v1/retention/policies/default/${cat}`).set(bearer(token)).send({ days });
  const auditOf = async (query: Record<string, string>): Promise<AuditEntryResponse[]> => {
    const res = await t.http().get('/api/v1/audit').query({ subjectType: 'RetentionPolicy', limit: 200, ...query }).set(bearer(tokens.auditor)).expect(200);
    return (res.body as { items: AuditEntryResponse[] }).items;
  };
  const policyRows = () => t.db.superuser<{ customer_id: string | null; category: string; days: number }>(
    'SELECT customer_id, category, days FROM retention_policies ORDER BY customer_id NULLS FIRST, category',
  );

  describe('reading', () => {
    it('lists the seeded default policy first', async () => {
      const res = await t.http().get('/api/v1/retention/policies').set(bearer(tokens.legal)).expect(200);
      const page = res.body as RetentionPolicyPage;
      expect(page.items.slice(0, 3).map((p) => [p.customerId, p.category, p.days])).toEqual([
        [null, 'body', 30], [null, 'delivery_metadata', 180], [null, 'msisdn', 90],
      ]);
    });

    it('shows where each effective number comes from: default, or the DPA maximum capping it', async () => {
      const view = await effective(capped, tokens.customerA);
      expect(view).toMatchObject({ customerId: capped, at: NOW.toISOString(), minimumDays: 1, dpa: { version: 1 } });
      expect(category(view, 'body')).toEqual({
        category: 'body', days: 30, source: 'default', customerPolicyDays: null, defaultDays: 30, dpaMaximumDays: 30, oldestRetainedDay: '2026-11-10',
      });
      expect(category(view, 'msisdn')).toMatchObject({ days: 60, source: 'dpa_maximum', defaultDays: 90, dpaMaximumDays: 60, oldestRetainedDay: '2026-10-11' });
      expect(category(view, 'delivery_metadata')).toMatchObject({ days: 180, source: 'default', dpaMaximumDays: 365 });
      const noDpa = await effective(free, tokens.customerB);
      expect(noDpa.dpa).toBeNull();
      expect(noDpa.categories.map((c) => [c.category, c.days, c.source, c.dpaMaximumDays])).toEqual([
        ['body', 30, 'default', null], ['msisdn', 90, 'default', null], ['delivery_metadata', 180, 'default', null],
      ]);
    });

    it('answers a customer user about another customer exactly like about a missing one', async () => {
      const foreign = await t.http().get(`/api/v1/customers/${free}/retention`).set(bearer(tokens.customerA));
      const missing = await t.http().get('/api/v1/customers/00000000-0000-4000-8000-000000000000/retention').set(bearer(tokens.customerA));
      expect(expectProblem(foreign, 404, 'not-found').detail).toBe(expectProblem(missing, 404, 'not-found').detail);
      expectProblem(await t.http().get('/api/v1/customers/not-a-uuid/retention').set(bearer(tokens.dpo)), 404, 'not-found');
    });

    it('lists only the customer\'s own policies to a customer user', async () => {
      expect((await put(free, 'body', 10)).status).toBe(200);
      expect((await put(capped, 'body', 20)).status).toBe(200);
      const res = await t.http().get('/api/v1/retention/policies').set(bearer(tokens.customerA)).expect(200);
      expect((res.body as RetentionPolicyPage).items.map((p) => [p.customerId, p.category, p.days])).toEqual([[capped, 'body', 20]]);
      const dpoView = await t.http().get('/api/v1/retention/policies').query({ customerId: free }).set(bearer(tokens.dpo)).expect(200);
      expect((dpoView.body as RetentionPolicyPage).items.map((p) => [p.customerId, p.category])).toEqual([[free, 'body']]);
      await t.http().delete(`/api/v1/customers/${free}/retention/body`).set(bearer(tokens.dpo)).expect(200);
    });

    it('pages through every policy with cursors', async () => {
      const seen: RetentionPolicyResponse[] = [];
      let cursor: string | null = null;
      do {
        const res = await t.http().get('/api/v1/retention/policies').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(bearer(tokens.auditor)).expect(200);
        const page = res.body as RetentionPolicyPage;
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      const rows = await policyRows();
      expect(seen.map((p) => [p.customerId, p.category, p.days])).toEqual(rows.map((r) => [r.customer_id, r.category, r.days]));
      expectProblem(await t.http().get('/api/v1/retention/policies').query({ cursor: 'bm9wZQ' }).set(bearer(tokens.dpo)), 400, 'validation');
    });
  });

  describe('changing', () => {
    it('sets a customer\'s own policy, shows it as such and audits before and after', async () => {
      const res = await put(capped, 'msisdn', 45);
      expect(res.status).toBe(200);
      expect(category(res.body as CustomerRetentionResponse, 'msisdn')).toMatchObject({ days: 45, source: 'customer_policy', customerPolicyDays: 45, dpaMaximumDays: 60 });
      expect(category(await effective(capped, tokens.customerA), 'msisdn').days).toBe(45);
      const [entry] = await auditOf({ action: 'retention_policy.created' }).then((es) => es.filter((e) => e.changes.customerId === capped && e.changes.category === 'msisdn'));
      expect(entry.changes).toEqual({ customerId: capped, category: 'msisdn', days: { from: null, to: 45 }, effectiveDays: { from: 60, to: 45 } });

      expect((await put(capped, 'msisdn', 50)).status).toBe(200);
      const [update] = await auditOf({ action: 'retention_policy.updated' }).then((es) => es.filter((e) => e.changes.customerId === capped && e.changes.category === 'msisdn'));
      expect(update.changes).toMatchObject({ days: { from: 45, to: 50 }, effectiveDays: { from: 45, to: 50 } });
      expect(update.actorType).toBe('user');
    });

    it('refuses more than the active DPA allows, naming the maximum, and changes nothing', async () => {
      const before = await policyRows();
      const body = expectProblem(await put(capped, 'body', 31), 409, 'conflict');
      expect(body.detail).toMatch(/at most 30 days of body/);
      expect(body.maximumDays).toBe(30);
      expect(await policyRows()).toEqual(before);
      // Without a DPA in force there is no cap beyond the field's own bound.
      expect((await put(free, 'delivery_metadata', 400)).status).toBe(200);
      const tooLong = await put(free, 'delivery_metadata', 4000);
      expectProblem(tooLong, 400, 'validation');
      expect(problemFields(tooLong)).toEqual(['days']);
      await t.http().delete(`/api/v1/customers/${free}/retention/delivery_metadata`).set(bearer(tokens.dpo)).expect(200);
    });

    it('refuses less than the platform minimum, naming it', async () => {
      const body = expectProblem(await put(free, 'body', 0), 400, 'validation');
      expect(body.detail).toMatch(/at least 1/);
      expect(body.minimumDays).toBe(1);
      const negative = await putDefault('body', -5);
      expect(expectProblem(negative, 400, 'validation').minimumDays).toBe(1);
      expect(problemFields(negative)).toEqual(['days']);
    });

    it('refuses delivery metadata shorter than the same customer\'s phone numbers or bodies, and says why', async () => {
      const before = await policyRows();
      const auditBefore = (await auditOf({})).length;
      const res = await put(free, 'delivery_metadata', 60); // msisdn is 90 by default
      const body = expectProblem(res, 409, 'conflict');
      expect(body.detail).toMatch(/delivery_metadata must be kept at least as long as msisdn and body/);
      expect(body.detail).toMatch(/purge deletes it only after its phone number and body are gone/);
      expect(body.shortfalls).toEqual([{ customerId: free, category: 'msisdn', days: 90, deliveryMetadataDays: 60 }]);
      expect(await policyRows()).toEqual(before);
      expect((await auditOf({})).length).toBe(auditBefore);

      // Shortening the PII first makes the same change possible.
      expect((await put(free, 'msisdn', 60)).status).toBe(200);
      expect((await put(free, 'delivery_metadata', 60)).status).toBe(200);
      // ... and the PII can no longer outgrow it.
      expectProblem(await put(free, 'body', 61), 409, 'conflict');
      // Removing the metadata policy brings back the default (180): allowed; removing the msisdn one (back to 90 > 60) is not.
      expectProblem(await t.http().delete(`/api/v1/customers/${free}/retention/msisdn`).set(bearer(tokens.dpo)), 409, 'conflict');
      await t.http().delete(`/api/v1/customers/${free}/retention/delivery_metadata`).set(bearer(tokens.dpo)).expect(200);
      await t.http().delete(`/api/v1/customers/${free}/retention/msisdn`).set(bearer(tokens.dpo)).expect(200);
    });

    it('takes changes one at a time, so two that are fine alone cannot break the rule together', async () => {
      // msisdn 150 (metadata stays 180) and metadata 120 (msisdn stays 90) are each allowed; both at once are not.
      // Writes to the table are held back until both requests are inside their transactions.
      const blocker = new Client({ connectionString: t.db.url });
      await blocker.connect();
      let results: Response[];
      try {
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE retention_policies IN EXCLUSIVE MODE');
        const pending = Promise.all([put(free, 'msisdn', 150), put(free, 'delivery_metadata', 120)]);
        // Both requests wait on a lock (the table, or the other's policy lock) before the table is released.
        for (let waiting = 0; waiting < 2; await sleep(20)) {
          const [row] = await t.db.superuser<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
          waiting = row.n;
        }
        await blocker.query('COMMIT');
        results = await pending;
      } finally {
        await blocker.end();
      }
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      const view = await effective(free);
      expect(category(view, 'delivery_metadata').days!).toBeGreaterThanOrEqual(category(view, 'msisdn').days!);
      for (const cat of ['msisdn', 'delivery_metadata']) await t.http().delete(`/api/v1/customers/${free}/retention/${cat}`).set(bearer(tokens.dpo)).expect(200);
    });

    it('applies the metadata rule to the default for every customer that inherits it', async () => {
      const res = await putDefault('msisdn', 200);
      const body = expectProblem(res, 409, 'conflict');
      expect(body.shortfalls).toEqual(expect.arrayContaining([
        { customerId: null, category: 'msisdn', days: 200, deliveryMetadataDays: 180 },
        { customerId: free, category: 'msisdn', days: 200, deliveryMetadataDays: 180 },
      ]));
      expect((await policyRows()).find((r) => r.customer_id === null && r.category === 'msisdn')!.days).toBe(90);
    });

    it('lets a gap that a DPA causes be narrowed but not widened', async () => {
      // The DPA caps delivery_metadata at 20 while msisdn (default 90) and body (30) are longer.
      const view = await effective(shortMetadata);
      // What the purge applies: phone numbers and bodies never outlive the message row, so they go at 20 days too.
      expect(view.categories.map((c) => [c.category, c.days, c.source])).toEqual([['body', 20, 'delivery_metadata'], ['msisdn', 20, 'delivery_metadata'], ['delivery_metadata', 20, 'dpa_maximum']]);
      expect((await put(shortMetadata, 'msisdn', 40)).status).toBe(200);
      expect((await put(shortMetadata, 'body', 20)).status).toBe(200);
      expectProblem(await put(shortMetadata, 'msisdn', 41), 409, 'conflict');
      expectProblem(await put(shortMetadata, 'delivery_metadata', 15), 409, 'conflict');
      // Lowering a default never opens a gap, whoever has one already.
      expect((await putDefault('msisdn', 85)).status).toBe(200);
      await putDefault('msisdn', 90);
    });

    it('changes the default, which every customer without its own policy follows', async () => {
      const res = await putDefault('body', 20);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ customerId: null, category: 'body', days: 20 });
      expect(category(await effective(free), 'body')).toMatchObject({ days: 20, source: 'default', defaultDays: 20 });
      const [entry] = await auditOf({ action: 'retention_policy.updated' }).then((es) => es.filter((e) => e.changes.customerId === null && e.changes.category === 'body'));
      expect(entry.changes).toMatchObject({ customerId: null, category: 'body', days: { from: 30, to: 20 } });
      expect(entry.changes.customersAffected).toBeGreaterThanOrEqual(1);
      expect(entry.subjectId).toBe(res.body.id);
      await putDefault('body', 30);
    });

    it('goes back to the default when the customer\'s own policy is removed', async () => {
      expect((await put(capped, 'delivery_metadata', 200)).status).toBe(200);
      const res = await t.http().delete(`/api/v1/customers/${capped}/retention/delivery_metadata`).set(bearer(tokens.dpo)).expect(200);
      expect(category(res.body as CustomerRetentionResponse, 'delivery_metadata')).toMatchObject({ days: 180, source: 'default', customerPolicyDays: null });
      const [entry] = await auditOf({ action: 'retention_policy.deleted' }).then((es) => es.filter((e) => e.changes.customerId === capped));
      expect(entry.changes).toEqual({ customerId: capped, category: 'delivery_metadata', days: { from: 200, to: null }, effectiveDays: { from: 200, to: 180 } });
      // Removing what is not there changes nothing and records nothing.
      const count = (await auditOf({})).length;
      await t.http().delete(`/api/v1/customers/${capped}/retention/delivery_metadata`).set(bearer(tokens.dpo)).expect(200);
      expect((await auditOf({})).length).toBe(count);
    });

    it('checks the minimum that RETENTION_MIN_DAYS configures', async () => {
      const strict = await startTestApp({ RETENTION_MIN_DAYS: '7', JOBS_ENABLED: 'false' });
      try {
        const dpo = (await createUser(strict, await login(strict, ADMIN.email, ADMIN.password), { email: unique('dpo'), role: 'dpo' })).token;
        const body = expectProblem(await strict.http().put('/api/v1/retention/policies/default/body').set(bearer(dpo)).send({ days: 6 }), 400, 'validation');
        expect(body.detail).toMatch(/at least 7/);
        expect(body.minimumDays).toBe(7);
        expect((await strict.http().put('/api/v1/retention/policies/default/body').set(bearer(dpo)).send({ days: 7 })).status).toBe(200);
      } finally {
        await strict.close();
      }
    });

    it('refuses unknown categories, non-integer days and unknown fields', async () => {
      const cases: [Promise<import('supertest').Response>, string][] = [
        [put(free, 'photos', 10), 'category'],
        [put(free, 'body', 10.5), 'days'],
        [put(free, 'body', '10'), 'days'],
        [t.http().put(`/api/v1/customers/${free}/retention/body`).set(bearer(tokens.dpo)).send({ days: 10, customerId: capped }), 'customerId'],
      ];
      for (const [pending, field] of cases) {
        const res = await pending;
        expectProblem(res, 400, 'validation');
        expect(problemFields(res)).toEqual([field]);
      }
      expectProblem(await put('00000000-0000-4000-8000-000000000000', 'body', 10), 404, 'not-found');
    });
  });

  describe('who may', () => {
    it('lets only the DPO change policies', async () => {
      const before = await policyRows();
      for (const role of ['legal', 'auditor', 'security', 'customerA'] as const) {
        expectProblem(await put(capped, 'body', 10, tokens[role]), 403, 'forbidden');
        expectProblem(await putDefault('body', 10, tokens[role]), 403, 'forbidden');
        expectProblem(await t.http().delete(`/api/v1/customers/${capped}/retention/body`).set(bearer(tokens[role])), 403, 'forbidden');
      }
      expectProblem(await put(capped, 'body', 10, admin), 403, 'forbidden');
      expect(await policyRows()).toEqual(before);
    });

    it('lets DPO, legal, auditor and customers read, but not security or admin', async () => {
      for (const token of [tokens.dpo, tokens.legal, tokens.auditor]) await effective(capped, token);
      for (const token of [tokens.security, admin]) {
        expectProblem(await t.http().get(`/api/v1/customers/${capped}/retention`).set(bearer(token)), 403, 'forbidden');
        expectProblem(await t.http().get('/api/v1/retention/policies').set(bearer(token)), 403, 'forbidden');
      }
      expectProblem(await t.http().get('/api/v1/retention/policies'), 401, 'unauthorized');
    });
  });
});
