import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import type { CustomerResponse } from '../src/customers/dto/customer.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { customerBody } from './support/fixtures';
import { bearer, countRows, expectProblem, problemFields } from './support/http';

const CUSTOMER_KEYS = ['breachNotificationEmails', 'country', 'createdAt', 'dataProfile', 'destinationCountries', 'dpoContact', 'id', 'legalName', 'updatedAt'];
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const unique = (label: string) => `${label}-${randomUUID()}@example.test`;

describe('customers', () => {
  let t: TestApp;
  let adminToken: string;
  const tokens = {} as Record<'legal' | 'dpo' | 'security' | 'auditor' | 'customerA' | 'customerB', string>;
  let legalId: string;
  let a: CustomerResponse;
  let b: CustomerResponse;

  const post = (token: string, body: Record<string, unknown>) => t.http().post('/api/v1/customers').set(bearer(token)).send(body);
  const patch = (token: string, id: string, body: Record<string, unknown>) => t.http().patch(`/api/v1/customers/${id}`).set(bearer(token)).send(body);

  async function auditOf(id: string): Promise<AuditEntryResponse[]> {
    const res = await t.http().get('/api/v1/audit').query({ subjectType: 'Customer', subjectId: id }).set(bearer(tokens.auditor)).expect(200);
    return (res.body as { items: AuditEntryResponse[] }).items.slice().reverse();
  }

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    adminToken = await login(t, ADMIN.email, ADMIN.password);
    for (const role of ['legal', 'dpo', 'security', 'auditor'] as const) {
      const user = await createUser(t, adminToken, { email: unique(role), role });
      tokens[role] = user.token;
      if (role === 'legal') legalId = user.id;
    }
    a = (await post(tokens.legal, customerBody({ legalName: 'Alpha Messaging AG' })).expect(201)).body as CustomerResponse;
    b = (await post(tokens.legal, customerBody({ legalName: 'Bravo Retail SA', country: 'FR' })).expect(201)).body as CustomerResponse;
    tokens.customerA = (await createUser(t, adminToken, { email: unique('cust-a'), role: 'customer', customerId: a.id })).token;
    tokens.customerB = (await createUser(t, adminToken, { email: unique('cust-b'), role: 'customer', customerId: b.id })).token;
  });
  afterAll(() => t.close());

  describe('create', () => {
    it('creates a customer (201) with normalised codes and addresses, and audits it without contact details', async () => {
      const body = customerBody({
        legalName: '  Charlie Health Ltd  ', country: 'gb', destinationCountries: ['gb', 'IE'],
        dpoContact: { name: 'Chris Privacy', email: 'Chris.Privacy@Charlie.example' },
        breachNotificationEmails: ['SOC@charlie.example', 'legal@charlie.example'],
        dataProfile: { messageKinds: ['health', 'otp'], specialCategoryData: true },
      });
      const requestId = `create-customer-${randomUUID()}`;
      const res = await post(tokens.legal, body).set('X-Request-Id', requestId).expect(201);
      const created = res.body as CustomerResponse;
      expect(Object.keys(created).sort()).toEqual(CUSTOMER_KEYS);
      expect(created).toMatchObject({
        legalName: 'Charlie Health Ltd', country: 'GB', destinationCountries: ['GB', 'IE'],
        dpoContact: { name: 'Chris Privacy', email: 'chris.privacy@charlie.example' },
        breachNotificationEmails: ['soc@charlie.example', 'legal@charlie.example'],
        dataProfile: { messageKinds: ['health', 'otp'], specialCategoryData: true },
      });
      expect(created.createdAt).toMatch(ISO_UTC);
      expect((await t.http().get(`/api/v1/customers/${created.id}`).set(bearer(tokens.legal)).expect(200)).body).toEqual(created);

      const trail = await auditOf(created.id);
      expect(trail).toHaveLength(1);
      expect(trail[0]).toMatchObject({ action: 'customer.created', actorType: 'user', actorId: legalId, subjectId: created.id, requestId });
      expect(trail[0].changes).toMatchObject({ legalName: 'Charlie Health Ltd', country: 'GB', destinationCountries: ['GB', 'IE'] });
      const dump = JSON.stringify(trail).toLowerCase();
      for (const pii of ['chris.privacy@charlie.example', 'soc@charlie.example', 'legal@charlie.example', 'chris privacy']) expect(dump).not.toContain(pii);
    });

    it.each([
      ['an unknown country', { country: 'XX' }, ['country']],
      ['a country name instead of a code', { country: 'Germany' }, ['country']],
      ['no breach-notification address', { breachNotificationEmails: [] }, ['breachNotificationEmails']],
      ['an invalid breach-notification address', { breachNotificationEmails: ['ok@brand.example', 'not-an-address'] }, ['breachNotificationEmails']],
      ['a duplicated breach-notification address', { breachNotificationEmails: ['x@brand.example', 'X@brand.example'] }, ['breachNotificationEmails']],
      ['an unknown destination country', { destinationCountries: ['DE', 'ZZ'] }, ['destinationCountries']],
      ['no destination country', { destinationCountries: [] }, ['destinationCountries']],
      ['a DPO contact without a valid address', { dpoContact: { name: 'Dana', email: 'dana' } }, ['dpoContact.email']],
      ['a DPO contact with an unknown field', { dpoContact: { name: 'Dana', email: 'dana@brand.example', phone: '+4912345' } }, ['dpoContact.phone']],
      ['an unknown message kind', { dataProfile: { messageKinds: ['gambling'], specialCategoryData: false } }, ['dataProfile.messageKinds']],
      ['no message kinds', { dataProfile: { messageKinds: [], specialCategoryData: false } }, ['dataProfile.messageKinds']],
      ['specialCategoryData as a string', { dataProfile: { messageKinds: ['otp'], specialCategoryData: 'no' } }, ['dataProfile.specialCategoryData']],
      ['a blank legal name', { legalName: '   ' }, ['legalName']],
      ['an unknown field', { vip: true }, ['vip']],
    ])('refuses %s with 400 naming the field, and creates nothing', async (_, override, fields) => {
      const [customers, audit] = [await countRows(t, 'customers'), await countRows(t, 'audit_log')];
      const res = await post(tokens.legal, customerBody(override));
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toEqual(expect.arrayContaining(fields));
      expect(await countRows(t, 'customers')).toBe(customers);
      expect(await countRows(t, 'audit_log')).toBe(audit);
    });

    it('refuses an empty body, naming every required field', async () => {
      const res = await post(tokens.legal, {});
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toEqual(expect.arrayContaining(['legalName', 'country', 'dpoContact', 'breachNotificationEmails', 'destinationCountries', 'dataProfile']));
    });

    it.each(['dpo', 'security', 'auditor', 'customerA'] as const)('refuses creation to %s (403) and creates nothing', async (who) => {
      const before = await countRows(t, 'customers');
      expectProblem(await post(tokens[who], customerBody()), 403, 'forbidden');
      expect(await countRows(t, 'customers')).toBe(before);
    });
  });

  describe('read', () => {
    it.each(['legal', 'dpo', 'security', 'auditor'] as const)('lets %s list and read every customer', async (who) => {
      const all = (await t.db.superuser<{ id: string }>('SELECT id FROM customers')).map((r) => r.id);
      const res = await t.http().get('/api/v1/customers').query({ limit: 200 }).set(bearer(tokens[who])).expect(200);
      expect((res.body as { items: CustomerResponse[] }).items.map((c) => c.id).sort()).toEqual(all.sort());
      expect((await t.http().get(`/api/v1/customers/${b.id}`).set(bearer(tokens[who])).expect(200)).body).toEqual(b);
    });

    it('shows a customer user its own customer and nothing else exists for it', async () => {
      const list = await t.http().get('/api/v1/customers').set(bearer(tokens.customerA)).expect(200);
      expect(list.body).toEqual({ items: [a], nextCursor: null });
      expect((await t.http().get(`/api/v1/customers/${a.id}`).set(bearer(tokens.customerA)).expect(200)).body).toEqual(a);

      // Another customer's id answers exactly like one that does not exist.
      const foreign = expectProblem(await t.http().get(`/api/v1/customers/${b.id}`).set(bearer(tokens.customerA)), 404, 'not-found');
      const missing = expectProblem(await t.http().get(`/api/v1/customers/${randomUUID()}`).set(bearer(tokens.customerA)), 404, 'not-found');
      expect({ ...foreign, instance: '', requestId: '' }).toEqual({ ...missing, instance: '', requestId: '' });
      expect(JSON.stringify(foreign)).not.toContain(b.legalName);

      const listB = await t.http().get('/api/v1/customers').set(bearer(tokens.customerB)).expect(200);
      expect(listB.body).toEqual({ items: [b], nextCursor: null });
    });

    it('walks every customer exactly once with ?limit=2 cursors, by legal name', async () => {
      await Promise.all(['Delta', 'Echo', 'Foxtrot'].map((n) => post(tokens.legal, customerBody({ legalName: `${n} Telecom` })).expect(201)));
      const expected = (await t.db.superuser<{ id: string }>('SELECT id FROM customers ORDER BY legal_name, id')).map((r) => r.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 100; pages++) {
        const res = await t.http().get('/api/v1/customers').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(bearer(tokens.dpo)).expect(200);
        const page = res.body as { items: CustomerResponse[]; nextCursor: string | null };
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      expect(seen).toEqual(expected);
    });

    it.each([
      ['an unknown id', () => randomUUID()],
      ['a malformed id', () => 'not-a-uuid'],
    ])('answers %s with 404', async (_, id) => {
      expectProblem(await t.http().get(`/api/v1/customers/${id()}`).set(bearer(tokens.legal)), 404, 'not-found');
      expectProblem(await patch(tokens.legal, id(), { legalName: 'X' }), 404, 'not-found');
    });

    it('refuses a forged cursor with 400', async () => {
      const res = await t.http().get('/api/v1/customers').query({ cursor: Buffer.from('{"x":1}').toString('base64url') }).set(bearer(tokens.legal));
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toContain('cursor');
    });
  });

  describe('update', () => {
    it('changes the given fields, keeps the others, and audits what changed with contact details redacted', async () => {
      const created = (await post(tokens.legal, customerBody({ legalName: 'Golf Logistics BV', country: 'NL' })).expect(201)).body as CustomerResponse;
      const res = await patch(tokens.legal, created.id, {
        destinationCountries: ['NL', 'be'], breachNotificationEmails: ['new-soc@golf.example'], dataProfile: { messageKinds: ['marketing'], specialCategoryData: false },
      }).expect(200);
      const updated = res.body as CustomerResponse;
      expect(updated).toMatchObject({
        id: created.id, legalName: 'Golf Logistics BV', country: 'NL', destinationCountries: ['NL', 'BE'],
        breachNotificationEmails: ['new-soc@golf.example'], dpoContact: created.dpoContact, dataProfile: { messageKinds: ['marketing'], specialCategoryData: false },
      });
      expect((await t.http().get(`/api/v1/customers/${created.id}`).set(bearer(tokens.dpo)).expect(200)).body).toEqual(updated);

      const trail = await auditOf(created.id);
      expect(trail.map((e) => e.action)).toEqual(['customer.created', 'customer.updated']);
      expect(trail[1].actorId).toBe(legalId);
      expect(trail[1].changes).toEqual({
        destinationCountries: { from: ['DE', 'FR'], to: ['NL', 'BE'] },
        breachNotificationEmails: '[redacted]', // the audit log redacts e-mail lists by name
        dataProfile: { from: { messageKinds: ['otp', 'transactional'], specialCategoryData: false }, to: { messageKinds: ['marketing'], specialCategoryData: false } },
      });
      expect(JSON.stringify(trail)).not.toContain('golf.example');
    });

    it('refuses invalid values, nulls and unknown fields (400) and changes nothing', async () => {
      const audit = await countRows(t, 'audit_log');
      const cases: [Record<string, unknown>, string][] = [
        [{ country: 'XX' }, 'country'], [{ legalName: null }, 'legalName'], [{ breachNotificationEmails: null }, 'breachNotificationEmails'],
        [{ breachNotificationEmails: [] }, 'breachNotificationEmails'], [{ id: randomUUID() }, 'id'], [{ createdAt: '2020-01-01T00:00:00Z' }, 'createdAt'],
      ];
      for (const [body, field] of cases) {
        const res = await patch(tokens.legal, a.id, body);
        expectProblem(res, 400, 'validation');
        expect(problemFields(res)).toContain(field);
      }
      expect((await t.http().get(`/api/v1/customers/${a.id}`).set(bearer(tokens.legal)).expect(200)).body).toEqual(a);
      expect(await countRows(t, 'audit_log')).toBe(audit);
    });

    it('writes no audit entry for a change that changes nothing', async () => {
      const audit = await countRows(t, 'audit_log');
      await patch(tokens.legal, a.id, { legalName: a.legalName, country: a.country }).expect(200);
      expect(await countRows(t, 'audit_log')).toBe(audit);
    });

    it.each(['dpo', 'security', 'auditor', 'customerA'] as const)('refuses changes to %s (403)', async (who) => {
      expectProblem(await patch(tokens[who], a.id, { legalName: 'Hijacked' }) as Response, 403, 'forbidden');
      expect((await t.http().get(`/api/v1/customers/${a.id}`).set(bearer(tokens.legal)).expect(200)).body).toMatchObject({ legalName: a.legalName });
    });
  });

  it('keeps the audit chain intact and free of contact addresses', async () => {
    const rows = await t.db.superuser<{ dpo_contact: { email: string; name: string }; breach_notification_emails: string[] }>('SELECT dpo_contact, breach_notification_emails FROM customers');
    const dump = JSON.stringify(await t.db.superuser(`SELECT changes FROM audit_log WHERE subject_type = 'Customer'`)).toLowerCase();
    for (const r of rows) {
      for (const address of [r.dpo_contact.email, ...r.breach_notification_emails]) expect(dump).not.toContain(address.toLowerCase());
      expect(dump).not.toContain(r.dpo_contact.name.toLowerCase());
    }
    expect((await t.http().get('/api/v1/audit/verify').set(bearer(tokens.auditor)).expect(200)).body).toMatchObject({ ok: true });
  });
});
