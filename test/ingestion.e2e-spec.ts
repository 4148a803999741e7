import { DataSource } from 'typeorm';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import type { IngestResponse } from '../src/messages/dto/message.dto';
import { Clock } from '../src/common/clock';
import { MessageStore } from '../src/messages/message-store';
import { Message } from '../src/messages/message.entity';
import { ADMIN, createUser, login, startTestApp, TestApp, testEnv } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { bearer, countRows, expectProblem, problemFields } from './support/http';
import { ingestKey, postBatch, wireRecord } from './support/ingestion';
import { cleanUp, ensureBuilt, spawnApp, tempDataDir } from './support/processes';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';

const NOW = new Date('2026-11-26T12:00:00.000Z');

describe('ingestion: POST /api/v1/messages/batch', () => {
  let t: TestApp;
  let key: string;
  let adminToken: string;
  let auditorToken: string;
  let customerId: string;
  let carrier: string;

  const tables = async () => ({ messages: await countRows(t, 'messages'), hops: await countRows(t, 'message_hops'), violations: await countRows(t, 'route_violations'), audit: await countRows(t, 'audit_log') });
  const post = (body: unknown) => t.http().post('/api/v1/messages/batch').set(bearer(key)).send(body as object);
  const record = (overrides: Record<string, unknown> = {}) => wireRecord(customerId, [carrier], overrides);
  const ingestedEntries = async () => ((await t.http().get('/api/v1/audit').query({ action: 'messages.ingested', limit: 200 }).set(bearer(auditorToken)).expect(200)).body as { items: AuditEntryResponse[] }).items;

  /** Runs `work` while every row inserted into `table` takes 10 ms, so that concurrent batches' inserts overlap. */
  async function withSlowInserts<T>(table: string, work: () => Promise<T>): Promise<T> {
    await t.db.superuser(`CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$`);
    await t.db.superuser(`CREATE TRIGGER slow_insert BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION slow_insert()`);
    try {
      return await work();
    } finally {
      await t.db.superuser(`DROP TRIGGER slow_insert ON ${table}`);
      await t.db.superuser('DROP FUNCTION slow_insert()');
    }
  }

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(NOW));
    adminToken = await login(t, ADMIN.email, ADMIN.password);
    auditorToken = (await createUser(t, adminToken, { email: 'auditor@ingest.test', role: 'auditor' })).token;
    key = await ingestKey(t, adminToken);
    customerId = await seedCustomer(t, { legalName: 'Acme Retail', destinationCountries: ['DE'] });
    await seedDpa(t, { customerId });
    carrier = await seedSubprocessor(t, { legalEntity: 'Carrier DE', country: 'DE', carriesCountries: ['DE'] });
  });
  afterAll(() => t.close());

  it('stores the valid records of a mixed batch, rejects the others by index with their reasons, and says which id each has', async () => {
    const before = await tables();
    const records = [
      record({ externalId: 'mixed-0', msisdn: '0049 (151) 1234-5678' }),
      record({ externalId: 'mixed-1', msisdn: 'call me' }),
      record({ externalId: 'mixed-2', direction: 'sideways', destinationCountry: 'de', route: [] }),
      record({ externalId: 'mixed-3', route: [carrier, carrier] }),
      { ...record(), externalId: undefined, submittedAt: '2026-11-26T12:06:00Z' },
      record({ externalId: 'mixed-5', submittedAt: '2026-02-30T10:00:00Z', status: 'lost', sender: '' }),
      'not an object',
      record({ externalId: 'mixed-7', route: ['not-a-uuid', carrier], body: 'x'.repeat(10_001) }),
      record({ externalId: 'mixed-8', submittedAt: '1999-12-31T23:59:59Z', destinationCountry: 'XX' }),
      record({ externalId: 'mixed-9', submittedAt: '2026-11-26T12:04:59+00:00' }),
    ];
    const res = await postBatch(t, key, records);
    expect(res.counts).toEqual({ received: 10, stored: 3, duplicates: 0, rejected: 7, violations: 0 });
    expect(res.duplicates).toEqual([]);
    expect(res.rejected.map((r) => ({ index: r.index, externalId: r.externalId, fields: r.errors.map((e) => e.field) }))).toEqual([
      { index: 1, externalId: 'mixed-1', fields: ['msisdn'] },
      { index: 2, externalId: 'mixed-2', fields: ['direction', 'route', 'destinationCountry'] },
      { index: 4, externalId: undefined, fields: ['externalId', 'submittedAt'] },
      { index: 5, externalId: 'mixed-5', fields: ['sender', 'status', 'submittedAt'] },
      { index: 6, externalId: undefined, fields: ['record'] },
      { index: 7, externalId: 'mixed-7', fields: ['body', 'route[0]'] },
      { index: 8, externalId: 'mixed-8', fields: ['destinationCountry', 'submittedAt'] },
    ]);
    const messages = Object.fromEntries(res.rejected.flatMap((r) => r.errors.map((e) => [`${r.index}.${e.field}`, e.message])));
    expect(messages['4.submittedAt']).toMatch(/5 minutes ahead/);
    expect(messages['4.externalId']).toBe('externalId is required');
    expect(messages['5.submittedAt']).toMatch(/RFC 3339/);
    expect(messages['8.submittedAt']).toMatch(/2000-01-01/);

    expect(res.ids.map((id) => id !== null)).toEqual([true, false, false, true, false, false, false, false, false, true]);
    expect(await tables()).toEqual({ ...before, messages: before.messages + 3, hops: before.hops + 4, audit: before.audit + 1 });
    const stored = await t.db.superuser<{ id: string; external_id: string; route: string; msisdn_ciphertext: Buffer; body_ciphertext: Buffer; submitted_at: Date }>(
      'SELECT id, external_id, route::text, msisdn_ciphertext, body_ciphertext, submitted_at FROM messages WHERE id = ANY($1) ORDER BY external_id', [res.ids.filter(Boolean)]);
    expect(stored.map((m) => m.external_id)).toEqual(['mixed-0', 'mixed-3', 'mixed-9']);
    expect(stored[2].submitted_at.toISOString()).toBe('2026-11-26T12:04:59.000Z');
    expect(stored[1].route).toBe(`{${carrier},${carrier}}`);
    // Normalised to E.164 before it was sealed: the decrypted number is the canonical form.
    const em = t.app.get(DataSource).manager;
    const row = await em.findOneByOrFail(Message, { id: res.ids[0]! });
    expect((await t.app.get(MessageStore).readPii(em, [row])).get(row.id)).toEqual({ msisdn: '+4915112345678', body: records[0] && (records[0] as { body: string }).body });

    const [entry] = await ingestedEntries();
    expect(entry).toMatchObject({ action: 'messages.ingested', subjectType: 'Message', subjectId: null, actorType: 'api_key' });
    expect(entry.changes).toEqual({ received: 10, stored: 3, duplicates: 0, rejected: 7, violations: 0, customers: 1 });
  });

  it('is idempotent per customer and external id: a retried batch creates nothing twice and answers with the same ids', async () => {
    const records = [record(), record(), record({ route: [carrier, carrier, carrier] })];
    const first = await postBatch(t, key, records);
    expect(first.counts).toMatchObject({ stored: 3, duplicates: 0 });
    const before = await tables();
    const again = await postBatch(t, key, [...records, record({ externalId: 'after-retry' })]);
    expect(again.counts).toEqual({ received: 4, stored: 1, duplicates: 3, rejected: 0, violations: 0 });
    expect(again.duplicates).toEqual([0, 1, 2]);
    expect(again.ids.slice(0, 3)).toEqual(first.ids);
    expect(await tables()).toEqual({ ...before, messages: before.messages + 1, hops: before.hops + 1, audit: before.audit + 1 });

    // A retry that adds nothing changes nothing, not even the audit log.
    const third = await postBatch(t, key, records);
    expect(third.counts).toEqual({ received: 3, stored: 0, duplicates: 3, rejected: 0, violations: 0 });
    expect(await tables()).toEqual({ ...before, messages: before.messages + 1, hops: before.hops + 1, audit: before.audit + 1 });

    // The same external id within one batch is stored once too.
    const twin = record({ externalId: 'twin' });
    const twins = await postBatch(t, key, [twin, { ...twin, body: 'another body' }]);
    expect(twins.counts).toMatchObject({ stored: 1, duplicates: 1 });
    expect(twins.ids[0]).toBe(twins.ids[1]);
  });

  it('refuses a batch that is not { records: [...] } or holds more than 10,000 records, storing nothing', async () => {
    const before = await tables();
    for (const body of [[record()], { records: record() }, { records: [record()], extra: true }, {}]) {
      expectProblem(await post(body), 400, 'validation');
    }
    const tooMany = Array.from({ length: 10_001 }, () => record());
    const res = await post({ records: tooMany });
    expectProblem(res, 400, 'validation');
    expect(problemFields(res)).toEqual(['records']);
    expect(await tables()).toEqual(before);
    // Exactly 10,000 is fine.
    const full = await postBatch(t, key, tooMany.slice(0, 10_000));
    expect(full.counts).toMatchObject({ stored: 10_000, rejected: 0 });
  });

  it('takes up to INGEST_BODY_LIMIT on this route only, and answers a larger body with 413 and nothing stored', async () => {
    const big = (bytes: number) => {
      const records = [];
      let size = 20;
      while (size < bytes) {
        const r = record({ body: 'b'.repeat(9_000) });
        size += JSON.stringify(r).length + 1;
        records.push(r);
      }
      return { records };
    };
    const before = await tables();
    // 3 MB: over BODY_LIMIT (1mb), which every other route keeps.
    const threeMb = big(3_000_000);
    const ok = await post(threeMb);
    expect(ok.status).toBe(200);
    expect((ok.body as { counts: { stored: number } }).counts.stored).toBe(threeMb.records.length);
    expectProblem(await t.http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send(JSON.stringify({ email: ADMIN.email, password: 'x'.repeat(1_100_000) })), 413, 'payload-too-large');
    const afterOk = await tables();
    expect(afterOk.messages).toBe(before.messages + threeMb.records.length);

    expectProblem(await post(big(10.5 * 1024 * 1024)), 413, 'payload-too-large');
    // Without a credential the big parser is not even used: BODY_LIMIT applies before the 401.
    expectProblem(await t.http().post('/api/v1/messages/batch').send(threeMb), 413, 'payload-too-large');
    expect(await tables()).toEqual(afterOk);
  });

  it('rejects unknown fields in a record, naming them, and stores the record\'s neighbours', async () => {
    const res = await postBatch(t, key, [record({ priority: 'high' }), record(), record({ 'ph+4915199999999': 1, note: 'x' })]);
    expect(res.counts).toMatchObject({ stored: 1, rejected: 2 });
    expect(res.rejected[0]).toMatchObject({ index: 0, errors: [{ field: 'priority', message: expect.stringMatching(/^unknown field/) }] });
    // A field name that does not look like one is not echoed (it could be anything, even a phone number).
    expect(res.rejected[1].errors.map((e) => e.field)).toEqual(['(unnamed)', 'note']);
    expect(JSON.stringify(res)).not.toContain('4915199999999');
  });

  it('rejects records of a customer that does not exist', async () => {
    const res = await postBatch(t, key, [wireRecord('6f0c2b3e-0000-4000-8000-000000000000', [carrier]), record()]);
    expect(res.counts).toMatchObject({ stored: 1, rejected: 1 });
    expect(res.rejected[0].errors).toEqual([{ field: 'customerId', message: 'customerId does not name an existing customer' }]);
  });

  it('rejects records whose PII retention has already ended, and records under a destroyed day key', async () => {
    // Default policy (body 30 days, msisdn 90) within the DPA's maxima: 2026-10-26's bodies expired on 2026-11-26 00:00.
    const res = await postBatch(t, key, [
      record({ submittedAt: '2026-10-26T23:59:59.999Z' }),
      record({ submittedAt: '2026-10-27T00:00:00.000Z' }),
      record({ submittedAt: '2026-05-01T00:00:00.000Z' }),
    ]);
    expect(res.counts).toMatchObject({ stored: 1, rejected: 2 });
    expect(res.rejected.map((r) => [r.index, r.errors])).toEqual([
      [0, [{ field: 'submittedAt', message: 'retention ended' }]],
      [2, [{ field: 'submittedAt', message: 'retention ended' }]],
    ]);
    expect(res.ids[1]).not.toBeNull();

    // A key already destroyed (say by an erasure) means the same: the PII cannot be kept.
    await postBatch(t, key, [record({ submittedAt: '2026-11-20T08:00:00Z' })]);
    await t.db.superuser(`UPDATE data_keys SET wrapped = NULL, destroyed_at = now() WHERE customer_id = $1 AND day = '2026-11-20' AND category = 'body'`, [customerId]);
    const late = await postBatch(t, key, [record({ submittedAt: '2026-11-20T09:00:00Z' }), record()]);
    expect(late.counts).toMatchObject({ stored: 1, rejected: 1 });
    expect(late.rejected[0]).toMatchObject({ index: 0, errors: [{ field: 'submittedAt', message: 'retention ended' }] });
  });

  it('is for ingest keys only', async () => {
    const dpo = (await createUser(t, adminToken, { email: 'dpo@ingest.test', role: 'dpo' })).token;
    for (const token of [dpo, auditorToken, adminToken]) {
      expectProblem(await t.http().post('/api/v1/messages/batch').set(bearer(token)).send({ records: [record()] }), 403, 'forbidden');
    }
    expectProblem(await t.http().post('/api/v1/messages/batch').send({ records: [record()] }), 401, 'unauthorized');
  });

  it('takes concurrent batches that need the same new day keys in different orders, without a deadlock', async () => {
    // Each batch brings the same 25 days (within the 30 days of retention) of a customer without
    // messages yet, each in its own order: every batch creates the day keys it finds missing, while the others
    // create the same ones.
    const days = Array.from({ length: 25 }, (_, i) => new Date(Date.UTC(2026, 10, 25 - i, 9)).toISOString());
    const order = (b: number) => days.map((_, i) => days[(i * (2 * b + 1) + b * 7) % days.length]);
    const fresh = await seedCustomer(t, { legalName: 'Concurrent Retail', destinationCountries: ['DE'] });
    await seedDpa(t, { customerId: fresh });
    const batches = Array.from({ length: 6 }, (_, b) => (b % 2 ? order(b).reverse() : order(b)).map((submittedAt) => wireRecord(fresh, [carrier], { submittedAt })));
    const before = await tables();
    const answers = await withSlowInserts('data_keys', () => Promise.all(batches.map((records) => post({ records }))));
    expect(answers.map((res) => [res.status, (res.body as IngestResponse).counts?.stored])).toEqual(batches.map(() => [200, 25]));
    expect(await tables()).toMatchObject({ messages: before.messages + 6 * 25, audit: before.audit + 6 });
    const keys = await t.db.superuser<{ n: number }>(
      `SELECT count(*)::int AS n FROM data_keys WHERE customer_id = $1 AND kind = 'day'`, [fresh]);
    expect(keys[0].n).toBe(25 * 2); // one key per day for the number and one for the body
  });

  it('takes concurrent retries of the same records in different orders, without a deadlock, storing each record once', async () => {
    const records = Array.from({ length: 20 }, (_, i) => record({ externalId: `retried-${i}` }));
    // The day's keys exist already (else the batches would queue behind the first one's new keys).
    await postBatch(t, key, [record()]);
    const orders = [records, [...records].reverse(), [...records.slice(10), ...records.slice(0, 10)], records.filter((_, i) => i % 2).concat(records.filter((_, i) => i % 2 === 0))];
    const before = await tables();
    const answers = await withSlowInserts('messages', () => Promise.all(orders.map((batch) => post({ records: batch }))));
    expect(answers.map((res) => res.status)).toEqual(orders.map(() => 200));
    const bodies = answers.map((res) => res.body as IngestResponse);
    expect(bodies.reduce((sum, body) => sum + body.counts.stored, 0)).toBe(20);
    // Every answer gives each record the one id it was stored under.
    const idOf = new Map<string, string>();
    orders.forEach((batch, b) => batch.forEach((r, i) => {
      const id = bodies[b].ids[i]!;
      expect(idOf.get(r.externalId as string) ?? id).toBe(id);
      idOf.set(r.externalId as string, id);
    }));
    expect(await tables()).toMatchObject({ messages: before.messages + 20 });
  });

  it('rolls the whole batch back when its transaction fails: nothing is stored, the client may retry', async () => {
    const before = await tables();
    // Make the audit append fail (the last write of the batch) for one call.
    await t.db.superuser(`CREATE FUNCTION fail_ingest_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.action = 'messages.ingested' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$`);
    await t.db.superuser('CREATE TRIGGER fail_ingest_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION fail_ingest_audit()');
    const records = [record(), record({ route: ['0d4f5a6b-1111-4111-8111-111111111111'] })];
    try {
      expectProblem(await post({ records }), 500, 'internal');
    } finally {
      await t.db.superuser('DROP TRIGGER fail_ingest_audit ON audit_log');
      await t.db.superuser('DROP FUNCTION fail_ingest_audit()');
    }
    expect(await tables()).toEqual(before);
    const retried = await postBatch(t, key, records);
    expect(retried.counts).toMatchObject({ stored: 2, duplicates: 0, violations: 1 });
  });
});

/**
 * A planted phone number and body must never come back in a response, an error, the audit log or
 * the service's own logs: the built service runs as a process with every log line captured.
 */
describe('ingestion never leaks PII (built service, logs captured)', () => {
  const PLANTED = '+4917655512345';
  const DIGITS = '17655512345';
  const SECRET_BODY = 'planted-secret-body-7f3a';
  let db: TestDatabase;
  let app: Awaited<ReturnType<typeof spawnApp>>;

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase();
    app = await spawnApp(tempDataDir(), { ...testEnv(db.url), LOG_LEVEL: 'trace', JOBS_ENABLED: 'false' });
    await app.ready();
  });
  afterAll(async () => {
    await cleanUp();
    await db.drop();
  });

  it('keeps the number and the body out of answers, errors, audit entries and logs', async () => {
    const call = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(app.url(path), init);
      return { status: res.status, text: await res.text() };
    };
    const json = (token: string, body: unknown) => ({
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const login = await call('/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }) });
    const admin = (JSON.parse(login.text) as { accessToken: string }).accessToken;
    const keyRes = await call('/api/v1/api-keys', json(admin, { name: 'leak test', role: 'ingest' }));
    const key = (JSON.parse(keyRes.text) as { key: string }).key;
    const auditorKey = (JSON.parse((await call('/api/v1/api-keys', json(admin, { name: 'leak test auditor', role: 'auditor' }))).text) as { key: string }).key;
    const [{ id: customerId }] = await db.superuser<{ id: string }>(
      `INSERT INTO customers (legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
       VALUES ('Leak Test', 'DE', '{"name":"D","email":"d@leak.test"}', '{b@leak.test}', '{DE}', '{"messageKinds":["otp"],"specialCategoryData":false}') RETURNING id`);
    await db.superuser(`INSERT INTO dpas (customer_id, version, status, authorisation, max_retention_days, transfer_mechanisms, data_categories, purposes, activated_at)
       VALUES ($1, 1, 'active', 'general', '{"body":30,"msisdn":90,"delivery_metadata":365}', '{scc}', '{body,msisdn}', '{otp}', '2025-01-01')`, [customerId]);
    const now = new Date().toISOString();
    const unknownHop = '0d4f5a6b-2222-4222-8222-222222222222';
    const base = { customerId, direction: 'mt', sender: 'ACME', route: [unknownHop], destinationCountry: 'DE', status: 'delivered', submittedAt: now };

    const answers = [
      // stored (with a route violation), then retried
      await call('/api/v1/messages/batch', json(key, { records: [{ ...base, externalId: 'leak-1', msisdn: PLANTED, body: SECRET_BODY }] })),
      await call('/api/v1/messages/batch', json(key, { records: [{ ...base, externalId: 'leak-1', msisdn: PLANTED, body: SECRET_BODY }] })),
      // rejected records carrying the number and body in every field that could echo them
      await call('/api/v1/messages/batch', json(key, { records: [
        { ...base, externalId: 'leak-2', msisdn: `${PLANTED}x`, body: SECRET_BODY.repeat(1000) },
        { ...base, externalId: 'leak-3', msisdn: PLANTED, body: SECRET_BODY, sender: PLANTED.repeat(10), status: PLANTED, destinationCountry: PLANTED, submittedAt: PLANTED, route: [PLANTED] },
        { ...base, externalId: 'leak-4', msisdn: PLANTED, body: SECRET_BODY, [PLANTED]: SECRET_BODY, customerId: PLANTED },
        { ...base, externalId: 'leak-5', msisdn: PLANTED, body: SECRET_BODY, submittedAt: '2020-01-01T00:00:00Z' },
      ] })),
      // malformed JSON, a batch over the limit, a wrongly shaped body
      await call('/api/v1/messages/batch', json(key, `{"records":[{"msisdn":"${PLANTED}","body":"${SECRET_BODY}"`)),
      await call('/api/v1/messages/batch', json(key, { records: [{ msisdn: PLANTED, body: SECRET_BODY.repeat(500_000) }] })),
      await call('/api/v1/messages/batch', json(key, { records: { msisdn: PLANTED, body: SECRET_BODY }, [PLANTED]: 1 })),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 400, 413, 400]);
    const violations = await call('/api/v1/route-violations', { headers: { Authorization: `Bearer ${auditorKey}` } });
    const messages = await call('/api/v1/messages', { headers: { Authorization: `Bearer ${auditorKey}` } });
    expect([violations.status, messages.status]).toEqual([200, 200]);
    expect(violations.text).toContain('unknown_subprocessor');
    const audit = await db.superuser<{ changes: unknown }>('SELECT changes FROM audit_log');
    const stored = await db.superuser('SELECT id, customer_id, external_id, sender, route, status FROM messages');
    expect(stored).toHaveLength(1);
    // Let the service flush its log lines.
    await new Promise((r) => setTimeout(r, 500));
    const logs = app.stdout() + app.stderr();
    expect(logs).toContain('/api/v1/messages/batch');
    for (const text of [...answers.map((a) => a.text), violations.text, messages.text, JSON.stringify(audit), JSON.stringify(stored), logs]) {
      expect(text).not.toContain(DIGITS);
      expect(text).not.toContain(SECRET_BODY);
    }
  });
});
