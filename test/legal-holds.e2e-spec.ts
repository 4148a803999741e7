import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import { Clock } from '../src/common/clock';
import { SYSTEM_ACTOR } from '../src/jobs/jobs.service';
import { KeyRing } from '../src/messages/key-ring';
import type { LegalHoldPage, LegalHoldResponse } from '../src/retention/dto/legal-hold.dto';
import { LegalHoldsService } from '../src/retention/legal-holds.service';
import { lockAllHolds, lockCustomerHolds } from '../src/retention/retention-sql';
import { ADMIN, createUser, login, startTestApp, TestApp, testEnv } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { bearer, expectProblem, problemFields } from './support/http';
import { cleanUp, ensureBuilt, SpawnedApp, spawnApp, sleep, tempDataDir, within } from './support/processes';
import { seedCustomer } from './support/registry-fixtures';

const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;
const NOW = new Date('2026-12-10T12:00:00.000Z');
/** The planted phone number, written as a person would; none of its forms may ever come back. */
const PHONE = '+49 170 1234 5678';
const PHONE_FORMS = ['4917012345678', '170 1234 5678', '17012345678', '1234 5678'];
const REASON = 'Litigation hold: case 4 O 123/26 before the Landgericht';

function expectNoPhoneNumber(text: string, also: string[] = []): void {
  for (const form of [...PHONE_FORMS, ...also]) expect(text).not.toContain(form);
}

describe('legal holds', () => {
  let t: TestApp;
  let admin: string;
  const tokens: Record<'dpo' | 'legal' | 'auditor' | 'security' | 'customer', string> = {} as never;
  let dpoId: string;
  let acme: string;
  let globex: string;

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(NOW));
    admin = await login(t, ADMIN.email, ADMIN.password);
    acme = await seedCustomer(t, { legalName: 'Acme Retail' });
    globex = await seedCustomer(t, { legalName: 'Globex' });
    const dpo = await createUser(t, admin, { email: unique('dpo'), role: 'dpo' });
    dpoId = dpo.id;
    tokens.dpo = dpo.token;
    for (const role of ['legal', 'auditor', 'security'] as const) tokens[role] = (await createUser(t, admin, { email: unique(role), role })).token;
    tokens.customer = (await createUser(t, admin, { email: unique('cust'), role: 'customer', customerId: acme })).token;
  });
  afterAll(() => t.close());

  const place = (body: Record<string, unknown>, token = tokens.dpo) => t.http().post('/api/v1/legal-holds').set(bearer(token)).send(body);
  const release = (id: string, reason = 'The case was settled out of court', token = tokens.dpo) =>
    t.http().post(`/api/v1/legal-holds/${id}/release`).set(bearer(token)).send({ reason });
  const auditOf = async (subjectId: string): Promise<AuditEntryResponse[]> => {
    const res = await t.http().get('/api/v1/audit').query({ subjectType: 'LegalHold', subjectId }).set(bearer(tokens.auditor)).expect(200);
    return (res.body as { items: AuditEntryResponse[] }).items.reverse();
  };
  const holdRows = () => t.db.superuser<{ n: string }>('SELECT count(*) AS n FROM legal_holds').then(([r]) => Number(r.n));

  describe('placing', () => {
    it('places a hold on a whole customer, audited', async () => {
      const res = await place({ customerId: acme, reason: REASON });
      expect(res.status).toBe(201);
      const hold = res.body as LegalHoldResponse;
      expect(hold).toEqual({
        id: expect.any(String), customerId: acme, phoneNumber: null, from: null, to: null, reason: REASON, incidentId: null,
        placedBy: dpoId, placedAt: NOW.toISOString(), active: true, releasedAt: null, releasedBy: null, releaseReason: null,
      });
      const [entry] = await auditOf(hold.id);
      expect(entry).toMatchObject({ action: 'legal_hold.placed', actorId: dpoId, subjectType: 'LegalHold', subjectId: hold.id });
      expect(entry.changes).toEqual({ customerId: acme, scope: 'whole_customer', from: null, to: null, incidentId: null });
    });

    it('narrows a hold to one phone number and a time range, keeping only the number\'s blind index', async () => {
      const incidentId = randomUUID();
      const res = await place({ customerId: acme, msisdn: PHONE, from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z', reason: REASON, incidentId });
      expect(res.status).toBe(201);
      const hold = res.body as LegalHoldResponse;
      expect(hold).toMatchObject({ phoneNumber: 'set', from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', incidentId });
      const [row] = await t.db.superuser<{ msisdn_hash: Buffer }>('SELECT msisdn_hash FROM legal_holds WHERE id = $1', [hold.id]);
      const index = t.app.get(KeyRing).blindIndex(acme, '+4917012345678');
      expect(row.msisdn_hash.equals(index)).toBe(true);

      const hashForms = [index.toString('hex'), index.toString('base64')];
      expectNoPhoneNumber(JSON.stringify(res.body), hashForms);
      expectNoPhoneNumber((await t.http().get(`/api/v1/legal-holds/${hold.id}`).set(bearer(tokens.auditor)).expect(200)).text, hashForms);
      expectNoPhoneNumber((await t.http().get('/api/v1/legal-holds').set(bearer(tokens.security)).expect(200)).text, hashForms);
      const [entry] = await auditOf(hold.id);
      expect(entry.changes).toEqual({ customerId: acme, scope: 'one_phone_number', from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', incidentId });
      const [raw] = await t.db.superuser<{ changes: unknown }>('SELECT changes FROM audit_log WHERE subject_id = $1', [hold.id]);
      expectNoPhoneNumber(JSON.stringify(raw), hashForms);
    });

    it('refuses a phone number that is not one without repeating it', async () => {
      const before = await holdRows();
      const planted = 'call 0170-98765432 please';
      const res = await place({ customerId: acme, msisdn: planted, reason: REASON });
      const body = expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toEqual(['msisdn']);
      expect(res.text).not.toContain('98765432');
      expect(body.detail).not.toContain('0170');
      expectProblem(await place({ customerId: acme, msisdn: '', reason: REASON }), 400, 'validation');
      expect(await holdRows()).toBe(before);
    });

    it('refuses an empty time range, a short reason, unknown customers and unknown fields', async () => {
      const before = await holdRows();
      const cases: [Record<string, unknown>, string][] = [
        [{ customerId: acme, reason: REASON, from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:00:00Z' }, 'to'],
        [{ customerId: acme, reason: REASON, from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' }, 'to'],
        [{ customerId: acme, reason: 'too short' }, 'reason'],
        [{ customerId: acme, reason: 'x'.repeat(1001) }, 'reason'],
        [{ customerId: acme }, 'reason'],
        [{ customerId: randomUUID(), reason: REASON }, 'customerId'],
        [{ customerId: 'acme', reason: REASON }, 'customerId'],
        [{ customerId: acme, reason: REASON, incidentId: 'INC-1' }, 'incidentId'],
        [{ customerId: acme, reason: REASON, from: '2026-12-01' }, 'from'],
        [{ customerId: acme, reason: REASON, scope: 'all' }, 'scope'],
      ];
      for (const [body, field] of cases) {
        const res = await place(body);
        expectProblem(res, 400, 'validation');
        expect(problemFields(res)).toEqual([field]);
      }
      expect(await holdRows()).toBe(before);
    });

    it('waits for the customer\'s hold lock, which the purge holds while it settles that customer\'s held days', async () => {
      // Another connection does what the purge does before destroying a key a hold may touch.
      const purge = t.app.get(DataSource).createQueryRunner();
      await purge.connect();
      try {
        await purge.startTransaction();
        await lockCustomerHolds(purge.manager, globex);
        const pending = place({ customerId: globex, reason: REASON }).then((res) => res);
        expect(await within(pending, 500)).toBeUndefined();
        // Another customer's holds do not wait.
        expect((await place({ customerId: acme, reason: REASON })).status).toBe(201);
        await purge.commitTransaction();
        expect((await pending).status).toBe(201);
      } finally {
        if (purge.isTransactionActive) await purge.rollbackTransaction();
        await purge.release();
      }
    });

    it('waits, for every customer, while the purge destroys all unheld expired keys in one statement', async () => {
      const purge = t.app.get(DataSource).createQueryRunner();
      await purge.connect();
      try {
        await purge.startTransaction();
        await lockAllHolds(purge.manager);
        const pending = [acme, globex].map((customerId) => place({ customerId, reason: REASON }).then((res) => res));
        expect(await within(Promise.race(pending), 500)).toBeUndefined();
        await purge.commitTransaction();
        expect((await Promise.all(pending)).map((res) => res.status)).toEqual([201, 201]);
      } finally {
        if (purge.isTransactionActive) await purge.rollbackTransaction();
        await purge.release();
      }
    });

    it('lets other modules place a hold inside their own transaction, which commits or rolls back with it', async () => {
      const holds = t.app.get(LegalHoldsService);
      const ds = t.app.get(DataSource);
      const before = await holdRows();
      await expect(ds.transaction(async (em) => {
        await holds.place(em, SYSTEM_ACTOR, { customerId: globex, reason: 'Incident INC-7: scope under investigation' });
        throw new Error('the incident step failed');
      })).rejects.toThrow('the incident step failed');
      expect(await holdRows()).toBe(before);

      const incidentId = randomUUID();
      const hold = await ds.transaction((em) => holds.place(em, SYSTEM_ACTOR, {
        customerId: globex, msisdn: '+4917012345678', from: new Date('2026-12-01T00:00:00Z'), reason: 'Incident INC-7: scope under investigation', incidentId,
      }));
      expect(hold).toMatchObject({ customerId: globex, incidentId, placedBy: null, releasedAt: null });
      const [entry] = await auditOf(hold.id);
      expect(entry).toMatchObject({ action: 'legal_hold.placed', actorType: 'system', actorId: null });
      await expect(ds.transaction((em) => holds.place(em, SYSTEM_ACTOR, { customerId: globex, msisdn: PHONE.replace('+', 'x'), reason: REASON })))
        .rejects.toMatchObject({ status: 400, errors: [{ field: 'msisdn', messages: [expect.not.stringContaining('170')] }] });
    });
  });

  describe('listing and releasing', () => {
    it('lists newest first with cursors, filtered by customer and by active', async () => {
      const all: LegalHoldResponse[] = [];
      let cursor: string | null = null;
      do {
        const res = await t.http().get('/api/v1/legal-holds').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(bearer(tokens.auditor)).expect(200);
        const page = res.body as LegalHoldPage;
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      expect(all.length).toBe(await holdRows());
      const [{ ids }] = await t.db.superuser<{ ids: string[] }>('SELECT array_agg(id ORDER BY placed_at DESC, id DESC) AS ids FROM legal_holds');
      expect(all.map((h) => h.id)).toEqual(ids);

      const globexOnly = (await t.http().get('/api/v1/legal-holds').query({ customerId: globex }).set(bearer(tokens.dpo)).expect(200)).body as LegalHoldPage;
      expect(globexOnly.items.length).toBeGreaterThan(0);
      expect(globexOnly.items.every((h) => h.customerId === globex)).toBe(true);
      expectProblem(await t.http().get('/api/v1/legal-holds').query({ active: 'yes' }).set(bearer(tokens.dpo)), 400, 'validation');
    });

    it('releases a hold once, audited; a second release is a conflict', async () => {
      const { id } = (await place({ customerId: acme, reason: REASON })).body as LegalHoldResponse;
      jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date('2026-12-11T08:00:00.000Z'));
      try {
        const res = await release(id);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id, active: false, releasedAt: '2026-12-11T08:00:00.000Z', releasedBy: dpoId, releaseReason: 'The case was settled out of court' });
        const again = expectProblem(await release(id, 'Released twice by mistake'), 409, 'conflict');
        expect(again.releasedAt).toBe('2026-12-11T08:00:00.000Z');
      } finally {
        jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(NOW));
      }
      const entries = await auditOf(id);
      expect(entries.map((e) => e.action)).toEqual(['legal_hold.placed', 'legal_hold.released']);
      expect(entries[1].changes).toEqual({ customerId: acme, releasedAt: '2026-12-11T08:00:00.000Z' });

      const active = (await t.http().get('/api/v1/legal-holds').query({ active: 'true', limit: 200 }).set(bearer(tokens.dpo)).expect(200)).body as LegalHoldPage;
      const released = (await t.http().get('/api/v1/legal-holds').query({ active: 'false', limit: 200 }).set(bearer(tokens.dpo)).expect(200)).body as LegalHoldPage;
      expect(active.items.map((h) => h.id)).not.toContain(id);
      expect(released.items.map((h) => h.id)).toEqual([id]);
      expect(released.items[0].active).toBe(false);
    });

    it('needs a reason to release, and answers 404 for unknown holds', async () => {
      const { id } = (await place({ customerId: acme, reason: REASON })).body as LegalHoldResponse;
      const res = await t.http().post(`/api/v1/legal-holds/${id}/release`).set(bearer(tokens.dpo)).send({});
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toEqual(['reason']);
      expectProblem(await release(randomUUID()), 404, 'not-found');
      expectProblem(await release('nope'), 404, 'not-found');
      expectProblem(await t.http().get(`/api/v1/legal-holds/${randomUUID()}`).set(bearer(tokens.dpo)), 404, 'not-found');
    });
  });

  describe('who may', () => {
    let holdId: string;
    beforeAll(async () => {
      holdId = ((await place({ customerId: acme, reason: REASON })).body as LegalHoldResponse).id;
    });

    it('lets only the DPO place and release holds', async () => {
      const before = await holdRows();
      for (const token of [tokens.legal, tokens.auditor, tokens.security, tokens.customer, admin]) {
        expectProblem(await place({ customerId: acme, reason: REASON }, token), 403, 'forbidden');
        expectProblem(await release(holdId, 'Not mine to release at all', token), 403, 'forbidden');
      }
      expect(await holdRows()).toBe(before);
      expect(((await t.http().get(`/api/v1/legal-holds/${holdId}`).set(bearer(tokens.dpo)).expect(200)).body as LegalHoldResponse).active).toBe(true);
    });

    it('lets DPO, auditor and security read holds; legal, customers and admin may not', async () => {
      for (const token of [tokens.dpo, tokens.auditor, tokens.security]) {
        await t.http().get('/api/v1/legal-holds').set(bearer(token)).expect(200);
        await t.http().get(`/api/v1/legal-holds/${holdId}`).set(bearer(token)).expect(200);
      }
      for (const token of [tokens.legal, tokens.customer, admin]) {
        expectProblem(await t.http().get('/api/v1/legal-holds').set(bearer(token)), 403, 'forbidden');
        expectProblem(await t.http().get(`/api/v1/legal-holds/${holdId}`).set(bearer(token)), 403, 'forbidden');
      }
      expectProblem(await t.http().get('/api/v1/legal-holds'), 401, 'unauthorized');
    });
  });
});

describe('legal holds: the phone number stays out of the logs', () => {
  let db: TestDatabase;
  let app: SpawnedApp;

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase();
    app = await spawnApp(tempDataDir(), testEnv(db.url, { LOG_LEVEL: 'debug', JOBS_ENABLED: 'false' }));
    await app.ready();
  }, 60_000);
  afterAll(async () => {
    await app?.stop('SIGTERM');
    await cleanUp();
    await db?.drop();
  }, 30_000);

  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(app.url(path), {
      method,
      headers: { ...(token ? bearer(token) : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, text: await res.text() };
  };

  it('logs requests that place, refuse and read holds without the number in any form', async () => {
    const adminToken = JSON.parse((await call('POST', '/api/v1/auth/login', undefined, ADMIN)).text).accessToken as string;
    const email = unique('dpo');
    expect((await call('POST', '/api/v1/users', adminToken, { email, role: 'dpo', password: 'a long enough password 123' })).status).toBe(201);
    const dpo = JSON.parse((await call('POST', '/api/v1/auth/login', undefined, { email, password: 'a long enough password 123' })).text).accessToken as string;
    const [{ id: customerId }] = await db.superuser<{ id: string }>(
      `INSERT INTO customers (legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
       VALUES ('Initech', 'DE', '{"name":"D","email":"d@initech.example"}', '{b@initech.example}', '{DE}', '{"messageKinds":["otp"],"specialCategoryData":false}') RETURNING id`,
    );
    const placed = await call('POST', '/api/v1/legal-holds', dpo, { customerId, msisdn: PHONE, reason: REASON });
    expect(placed.status).toBe(201);
    const refused = await call('POST', '/api/v1/legal-holds', dpo, { customerId, msisdn: '+49 170 1234 5678 0000 1', reason: REASON });
    expect(refused.status).toBe(400);
    expect((await call('GET', '/api/v1/legal-holds', dpo)).status).toBe(200);
    expectNoPhoneNumber(placed.text + refused.text);
    await sleep(200); // let the last log lines reach the pipe
    const output = app.stdout() + app.stderr();
    expect(output).toContain('/api/v1/legal-holds'); // the requests were logged ...
    expectNoPhoneNumber(output); // ... without the number
  });
});
