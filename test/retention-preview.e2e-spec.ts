import { randomBytes, randomUUID } from 'node:crypto';
import { Clock } from '../src/common/clock';
import type { PreviewCategory, RetentionPreviewResponse } from '../src/retention/dto/retention-preview.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem } from './support/http';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer, seedDpa } from './support/registry-fixtures';

const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;
const at = (iso: string) => new Date(iso);
const HELD_PHONE = '+4917099990001';

/*
 * Retention counts whole UTC days after the day of submission: data of UTC day D kept N days
 * expires at D + 1 + N, 00:00 UTC. Short (customer) retention makes the arithmetic visible:
 *
 *   Shortlived: body 5, msisdn 10, delivery_metadata 10 days (own policies)
 *     2026-11-20 (3 messages, one of them HELD_PHONE's): body expires 11-26, msisdn 12-01, metadata 12-01
 *     2026-11-28 (2 messages):                           body expires 12-04, msisdn 12-09, metadata 12-09
 *     2026-12-08 (1 message):                            body expires 12-14, msisdn 12-19
 *   Longlived: defaults (body 30, msisdn 90, delivery_metadata 180), DPA caps body at 20
 *     2026-11-01 (2 messages): body expires 11-22 (capped), msisdn 2027-01-31
 */
describe('retention preview', () => {
  let t: TestApp;
  let admin: string;
  let dpo: string;
  let auditor: string;
  let shortlived: string;
  let longlived: string;
  let quiet: string;
  const clock = (iso: string) => jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(iso));

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    clock('2026-11-15T00:00:00Z');
    admin = await login(t, ADMIN.email, ADMIN.password);
    dpo = (await createUser(t, admin, { email: unique('dpo'), role: 'dpo' })).token;
    auditor = (await createUser(t, admin, { email: unique('auditor'), role: 'auditor' })).token;
    shortlived = await seedCustomer(t, { legalName: 'Shortlived SMS' });
    longlived = await seedCustomer(t, { legalName: 'Longlived Bank' });
    quiet = await seedCustomer(t, { legalName: 'Quiet Ltd' });
    await seedDpa(t, { customerId: longlived, maxRetentionDays: { body: 20, msisdn: 90, delivery_metadata: 365 } });
    for (const [category, days] of [['msisdn', 10], ['body', 5], ['delivery_metadata', 10]] as const) {
      await t.http().put(`/api/v1/customers/${shortlived}/retention/${category}`).set(bearer(dpo)).send({ days }).expect(200);
    }
    await storeMessages(t, [
      messageRecord(shortlived, { submittedAt: at('2026-11-20T01:00:00Z'), msisdn: HELD_PHONE }),
      messageRecord(shortlived, { submittedAt: at('2026-11-20T12:00:00Z') }),
      messageRecord(shortlived, { submittedAt: at('2026-11-20T23:59:59.999Z') }),
      messageRecord(shortlived, { submittedAt: at('2026-11-28T00:00:00Z') }),
      messageRecord(shortlived, { submittedAt: at('2026-11-28T18:00:00Z') }),
      messageRecord(shortlived, { submittedAt: at('2026-12-08T09:00:00Z') }),
      messageRecord(longlived, { submittedAt: at('2026-11-01T10:00:00Z') }),
      messageRecord(longlived, { submittedAt: at('2026-11-01T11:00:00Z') }),
    ]);
  });
  afterAll(() => t.close());

  const preview = async (query: Record<string, string> = {}, token = dpo): Promise<RetentionPreviewResponse> => {
    const res = await t.http().get('/api/v1/retention/preview').query(query).set(bearer(token));
    expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: 200 });
    return res.body as RetentionPreviewResponse;
  };
  const of = (p: RetentionPreviewResponse, customerId: string, category: string): PreviewCategory | undefined =>
    p.customers.find((c) => c.customerId === customerId)?.categories.find((c) => c.category === category);
  const counts = (c: PreviewCategory | undefined) => c && [c.keys, c.messages, c.heldMessages];

  it('shows nothing before anything has expired', async () => {
    clock('2026-11-21T00:00:00Z');
    const p = await preview();
    expect(p.at).toBe('2026-11-21T00:00:00.000Z');
    expect(p.customers).toEqual([]);
  });

  it('takes a whole UTC day at once, at midnight after its last retained day', async () => {
    clock('2026-11-25T23:59:59.999Z');
    expect(of(await preview(), shortlived, 'body')).toBeUndefined();
    clock('2026-11-26T00:00:00.000Z');
    const p = await preview();
    expect(of(p, shortlived, 'body')).toEqual({
      category: 'body', keys: 1, messages: 3, heldMessages: 0, earliestExpiry: '2026-11-26T00:00:00.000Z', overdueSeconds: 0,
      days: { from: '2026-11-20', to: '2026-11-20' },
    });
    expect(counts(of(p, shortlived, 'msisdn'))).toEqual([0, 0, 0]);
    // The DPA's cap (20 days) is what expires the other customer's bodies, not the default (30).
    expect(counts(of(p, longlived, 'body'))).toEqual([1, 2, 0]);
    expect(of(p, longlived, 'body')!.earliestExpiry).toBe('2026-11-22T00:00:00.000Z');
    expect(p.customers.map((c) => c.legalName)).toEqual(['Longlived Bank', 'Shortlived SMS']);
  });

  it('counts per customer and category, and how late the purge already is', async () => {
    clock('2026-12-10T12:00:00Z');
    const p = await preview();
    expect(counts(of(p, shortlived, 'body'))).toEqual([2, 5, 0]);
    expect(counts(of(p, shortlived, 'msisdn'))).toEqual([2, 5, 0]);
    expect(of(p, shortlived, 'body')).toMatchObject({ earliestExpiry: '2026-11-26T00:00:00.000Z', overdueSeconds: 14.5 * 86_400, days: { from: '2026-11-20', to: '2026-11-28' } });
    expect(of(p, shortlived, 'msisdn')).toMatchObject({ earliestExpiry: '2026-12-01T00:00:00.000Z', overdueSeconds: 9.5 * 86_400 });
    // Metadata has expired too, but a row goes only once its phone number and body are gone.
    expect(of(p, shortlived, 'delivery_metadata')).toEqual({
      category: 'delivery_metadata', keys: null, messages: 0, heldMessages: 0, earliestExpiry: null, overdueSeconds: null, days: null,
    });
    expect(counts(of(p, longlived, 'msisdn'))).toEqual([0, 0, 0]);
    expect(p.customers.map((c) => c.customerId)).not.toContain(quiet);
  });

  it('counts what legal holds keep back apart from what goes', async () => {
    clock('2026-12-10T12:00:00Z');
    const byPhone = await t.http().post('/api/v1/legal-holds').set(bearer(dpo)).send({ customerId: shortlived, msisdn: HELD_PHONE, reason: 'Complaint by the data subject under review' }).expect(201);
    const byTime = await t.http().post('/api/v1/legal-holds').set(bearer(dpo))
      .send({ customerId: shortlived, from: '2026-11-28T00:00:00Z', to: '2026-11-28T12:00:00Z', reason: 'Carrier dispute about delivery on 28 November' }).expect(201);
    const p = await preview();
    expect(counts(of(p, shortlived, 'body'))).toEqual([2, 3, 2]);
    expect(counts(of(p, shortlived, 'msisdn'))).toEqual([2, 3, 2]);
    // A whole-customer hold on the other customer keeps everything of it, its key included.
    const all = await t.http().post('/api/v1/legal-holds').set(bearer(dpo)).send({ customerId: longlived, reason: 'Regulator inquiry into the whole account' }).expect(201);
    expect(counts(of(await preview(), longlived, 'body'))).toEqual([0, 0, 2]);
    expect(of(await preview(), longlived, 'body')!.earliestExpiry).toBeNull();

    for (const hold of [byPhone, byTime, all]) {
      await t.http().post(`/api/v1/legal-holds/${(hold.body as { id: string }).id}/release`).set(bearer(dpo)).send({ reason: 'No longer needed for the case' }).expect(200);
    }
    const released = await preview();
    expect(counts(of(released, shortlived, 'body'))).toEqual([2, 5, 0]);
    expect(counts(of(released, longlived, 'body'))).toEqual([1, 2, 0]);
  });

  it('counts values under hold keys: kept while held, due once released', async () => {
    clock('2026-12-10T12:00:00Z');
    // As the purge does for held values: one 2026-11-28 body moved under a hold key before its day key went.
    const [message] = await t.db.superuser<{ id: string }>(`SELECT id FROM messages WHERE customer_id = $1 AND submitted_at = '2026-11-28T00:00:00Z'`, [shortlived]);
    const holdKey = randomUUID();
    await t.db.superuser(`INSERT INTO data_keys (id, customer_id, day, category, kind, wrapped, master_key_id) VALUES ($1, $2, '2026-11-28', 'body', 'hold', '\\x00', 'test')`, [holdKey, shortlived]);
    await t.db.superuser('UPDATE messages SET body_key_id = $1 WHERE id = $2', [holdKey, message.id]);
    const hold = await t.http().post('/api/v1/legal-holds').set(bearer(dpo))
      .send({ customerId: shortlived, from: '2026-11-28T00:00:00Z', to: '2026-11-28T00:00:01Z', reason: 'Carrier dispute about one message' }).expect(201);
    // The day key (1 value left) goes; the hold key, all of whose values are held, stays.
    expect(counts(of(await preview(), shortlived, 'body'))).toEqual([2, 4, 1]);
    await t.http().post(`/api/v1/legal-holds/${(hold.body as { id: string }).id}/release`).set(bearer(dpo)).send({ reason: 'Dispute settled with the carrier' }).expect(200);
    expect(counts(of(await preview(), shortlived, 'body'))).toEqual([3, 5, 0]);
    await t.db.superuser('UPDATE messages SET body_key_id = (SELECT id FROM data_keys WHERE customer_id = $1 AND day = $2 AND category = $3 AND kind = $4) WHERE id = $5', [shortlived, '2026-11-28', 'body', 'day', message.id]);
    await t.db.superuser('DELETE FROM data_keys WHERE id = $1', [holdKey]);
  });

  it('counts message rows whose metadata expired once their phone number and body are gone', async () => {
    clock('2026-12-10T12:00:00Z');
    const hold = await t.http().post('/api/v1/legal-holds').set(bearer(dpo)).send({ customerId: shortlived, msisdn: HELD_PHONE, reason: 'Complaint by the data subject under review' }).expect(201);
    // What a purge would have done to 2026-11-20: both keys destroyed (the held message's values moved away first).
    await t.db.superuser(`UPDATE data_keys SET wrapped = NULL, destroyed_at = '2026-12-01T00:05:00Z' WHERE customer_id = $1 AND day = '2026-11-20'`, [shortlived]);
    const p = await preview();
    expect(counts(of(p, shortlived, 'body'))).toEqual([1, 2, 0]);
    expect(of(p, shortlived, 'delivery_metadata')).toEqual({
      category: 'delivery_metadata', keys: null, messages: 2, heldMessages: 1, earliestExpiry: '2026-12-01T00:00:00.000Z', overdueSeconds: 9.5 * 86_400,
      days: { from: '2026-11-20', to: '2026-11-20' },
    });
    await t.http().post(`/api/v1/legal-holds/${(hold.body as { id: string }).id}/release`).set(bearer(dpo)).send({ reason: 'No longer needed for the case' }).expect(200);
    expect(of(await preview(), shortlived, 'delivery_metadata')).toMatchObject({ messages: 3, heldMessages: 0 });
  });

  it('filters by customer, showing one with nothing due as all zeros', async () => {
    clock('2026-12-10T12:00:00Z');
    const p = await preview({ customerId: quiet }, auditor);
    expect(p.customers).toEqual([{
      customerId: quiet, legalName: 'Quiet Ltd',
      categories: ['body', 'msisdn', 'delivery_metadata'].map((category) => ({
        category, keys: category === 'delivery_metadata' ? null : 0, messages: 0, heldMessages: 0, earliestExpiry: null, overdueSeconds: null, days: null,
      })),
    }]);
    expect((await preview({ customerId: longlived })).customers.map((c) => c.customerId)).toEqual([longlived]);
    expectProblem(await t.http().get('/api/v1/retention/preview').query({ customerId: randomUUID() }).set(bearer(dpo)), 404, 'not-found');
    expectProblem(await t.http().get('/api/v1/retention/preview').query({ customerId: 'x' }).set(bearer(dpo)), 400, 'validation');
  });

  it('changes nothing', async () => {
    clock('2027-06-01T00:00:00Z');
    const snapshot = () => t.db.superuser(`SELECT
      (SELECT count(*) FROM data_keys WHERE destroyed_at IS NULL) AS live_keys,
      (SELECT count(*) FROM messages) AS messages,
      (SELECT count(*) FROM messages WHERE body_ciphertext IS NOT NULL AND msisdn_ciphertext IS NOT NULL) AS sealed,
      (SELECT max(seq) FROM audit_log) AS audit_head,
      (SELECT count(*) FROM purge_runs) AS runs,
      (SELECT count(*) FROM deletion_certificates) AS certificates`);
    const before = await snapshot();
    const p = await preview();
    expect(counts(of(p, longlived, 'msisdn'))).toEqual([1, 2, 0]);
    expect(await snapshot()).toEqual(before);
  });

  it('is for the DPO and auditors only', async () => {
    for (const role of ['legal', 'security', 'admin', 'customer'] as const) {
      const token = role === 'admin' ? admin
        : (await createUser(t, admin, { email: unique(role), role, ...(role === 'customer' ? { customerId: shortlived } : {}) })).token;
      expectProblem(await t.http().get('/api/v1/retention/preview').set(bearer(token)), 403, 'forbidden');
    }
    expectProblem(await t.http().get('/api/v1/retention/preview'), 401, 'unauthorized');
  });
});
