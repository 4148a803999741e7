import { randomUUID } from 'node:crypto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { createCustomer } from './support/fixtures';
import { bearer, countRows, expectProblem, problemFields } from './support/http';
import type { AuditEntryResponse } from '../src/audit/audit.dto';

interface UserBody {
  id: string;
  email: string;
  role: string;
  customerId: string | null;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

type AuditItem = AuditEntryResponse;

const PASSWORD = 'a long enough password 123';
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const USER_KEYS = ['createdAt', 'customerId', 'disabled', 'email', 'id', 'piiAccess', 'role', 'updatedAt'];

describe('users admin', () => {
  let t: TestApp;
  let adminToken: string;
  let adminId: string;
  let auditorToken: string;
  const admin = () => bearer(adminToken);
  const unique = (label: string) => `${label}-${randomUUID()}@example.test`;

  beforeAll(async () => {
    t = await startTestApp();
    adminToken = await login(t, ADMIN.email, ADMIN.password);
    adminId = ((await t.http().get('/api/v1/me').set(admin()).expect(200)).body as { id: string }).id;
    auditorToken = (await createUser(t, adminToken, { email: unique('auditor'), role: 'auditor' })).token;
  });
  afterAll(() => t.close());

  /** The audit trail of one user, oldest first, read the way an auditor reads it. */
  async function auditOf(userId: string): Promise<AuditItem[]> {
    const res = await t.http().get('/api/v1/audit').query({ subjectType: 'User', subjectId: userId }).set(bearer(auditorToken)).expect(200);
    return ((res.body as { items: AuditItem[] }).items).slice().reverse();
  }

  const create = (body: Record<string, unknown>, requestId?: string) => {
    const req = t.http().post('/api/v1/users').set(admin());
    if (requestId) req.set('X-Request-Id', requestId);
    return req.send(body);
  };

  describe('create', () => {
    it('creates a user (201), answers without any password material, stores an argon2id hash and audits it', async () => {
      const email = unique('Created');
      const requestId = `create-user-${randomUUID()}`;
      const res = await create({ email, password: PASSWORD, role: 'legal' }, requestId).expect(201);
      const body = res.body as UserBody;
      expect(Object.keys(body).sort()).toEqual(USER_KEYS);
      expect(body).toMatchObject({ email: email.toLowerCase(), role: 'legal', customerId: null, disabled: false });
      expect(body.createdAt).toMatch(ISO_UTC);
      expect(body.updatedAt).toMatch(ISO_UTC);
      expect(JSON.stringify(body)).not.toMatch(/password|hash|argon/i);
      expect(JSON.stringify(body)).not.toContain(PASSWORD);

      const [row] = await t.db.superuser<{ email: string; password_hash: string }>('SELECT email, password_hash FROM users WHERE id = $1', [body.id]);
      expect(row.email).toBe(email.toLowerCase());
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
      expect(row.password_hash).not.toContain(PASSWORD);

      const trail = await auditOf(body.id);
      expect(trail).toHaveLength(1);
      expect(trail[0]).toMatchObject({ action: 'user.created', actorType: 'user', actorId: adminId, subjectType: 'User', subjectId: body.id, requestId });
      expect(trail[0].changes).toMatchObject({ role: 'legal' });

      // The new user can log in with the password that was set.
      await login(t, email, PASSWORD);
    });

    it('refuses a second user with the same e-mail, whatever its letter case (409), and changes nothing', async () => {
      const email = unique('dup');
      await create({ email, password: PASSWORD, role: 'dpo' }).expect(201);
      const [users, audit] = [await countRows(t, 'users'), await countRows(t, 'audit_log')];
      expectProblem(await create({ email: email.toUpperCase(), password: PASSWORD, role: 'security' }), 409, 'conflict');
      expect(await countRows(t, 'users')).toBe(users);
      expect(await countRows(t, 'audit_log')).toBe(audit);
    });

    it('requires a customerId for the customer role and refuses one for every other role (400, field named)', async () => {
      const customerId = (await createCustomer(t)).id;
      const before = await countRows(t, 'users');
      const missing = await create({ email: unique('customer'), password: PASSWORD, role: 'customer' });
      expectProblem(missing, 400, 'validation');
      expect(problemFields(missing)).toContain('customerId');
      for (const role of ['admin', 'dpo', 'legal', 'security', 'auditor']) {
        const res = await create({ email: unique(role), password: PASSWORD, role, customerId });
        expectProblem(res, 400, 'validation');
        expect(problemFields(res)).toEqual(['customerId']);
      }
      const notUuid = await create({ email: unique('customer'), password: PASSWORD, role: 'customer', customerId: 'acme' });
      expectProblem(notUuid, 400, 'validation');
      expect(problemFields(notUuid)).toContain('customerId');
      expect(await countRows(t, 'users')).toBe(before);

      const ok = await create({ email: unique('customer'), password: PASSWORD, role: 'customer', customerId }).expect(201);
      expect(ok.body).toMatchObject({ role: 'customer', customerId });
    });

    it('refuses a customerId that names no customer (400 naming customerId, not a 500), on create and on update', async () => {
      const [users, audit] = [await countRows(t, 'users'), await countRows(t, 'audit_log')];
      const res = await create({ email: unique('ghost'), password: PASSWORD, role: 'customer', customerId: randomUUID() });
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toEqual(['customerId']);
      expect(await countRows(t, 'users')).toBe(users);
      expect(await countRows(t, 'audit_log')).toBe(audit);

      const customerId = (await createCustomer(t)).id;
      const user = (await create({ email: unique('moving'), password: PASSWORD, role: 'customer', customerId }).expect(201)).body as UserBody;
      const patched = await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ customerId: randomUUID() });
      expectProblem(patched, 400, 'validation');
      expect(problemFields(patched)).toEqual(['customerId']);
      const demoted = await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ role: 'customer', customerId: randomUUID() });
      expectProblem(demoted, 400, 'validation');
      expect((await t.http().get(`/api/v1/users/${user.id}`).set(admin()).expect(200)).body).toMatchObject({ role: 'customer', customerId });

      const other = (await createCustomer(t)).id;
      await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ customerId: other }).expect(200);
      expect((await t.http().get(`/api/v1/users/${user.id}`).set(admin()).expect(200)).body).toMatchObject({ role: 'customer', customerId: other });
    });

    it('refuses bad input with the failing fields named, and creates nothing', async () => {
      const before = await countRows(t, 'users');
      const cases: [Record<string, unknown>, string[]][] = [
        [{ email: 'not-an-email', password: PASSWORD, role: 'legal' }, ['email']],
        [{ email: unique('short'), password: 'short', role: 'legal' }, ['password']],
        [{ email: unique('role'), password: PASSWORD, role: 'superuser' }, ['role']],
        [{ email: unique('extra'), password: PASSWORD, role: 'legal', isAdmin: true }, ['isAdmin']],
        [{ email: unique('hash'), password: PASSWORD, role: 'legal', passwordHash: '$argon2id$whatever' }, ['passwordHash']],
        [{}, ['email', 'password', 'role']],
      ];
      for (const [body, fields] of cases) {
        const res = await create(body);
        expectProblem(res, 400, 'validation');
        expect(problemFields(res)).toEqual(expect.arrayContaining(fields));
        expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
      }
      expect(await countRows(t, 'users')).toBe(before);
    });
  });

  describe('list', () => {
    it('walks every user exactly once with ?limit=2 cursors', async () => {
      await Promise.all(Array.from({ length: 5 }, (_, i) => create({ email: unique(`page-${i}`), password: PASSWORD, role: 'security' }).expect(201)));
      const expected = (await t.db.superuser<{ id: string }>('SELECT id FROM users')).map((r) => r.id);
      expect(expected.length).toBeGreaterThan(5);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: Record<string, string | number> = { limit: 2, ...(cursor ? { cursor } : {}) };
        const res = await t.http().get('/api/v1/users').query(query).set(admin()).expect(200);
        const page = res.body as { items: UserBody[]; nextCursor: string | null };
        expect(page.items.length).toBeLessThanOrEqual(2);
        for (const item of page.items) {
          expect(Object.keys(item).sort()).toEqual(USER_KEYS);
          seen.push(item.id);
        }
        cursor = page.nextCursor;
        if (cursor !== null) expect(page.items).toHaveLength(2);
        pages++;
        expect(pages).toBeLessThan(100);
      } while (cursor !== null);

      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.sort()).toEqual(expected.sort());
      expect(pages).toBe(Math.ceil(expected.length / 2));
    });

    it('filters by role', async () => {
      const res = await t.http().get('/api/v1/users').query({ role: 'auditor', limit: 200 }).set(admin()).expect(200);
      const items = (res.body as { items: UserBody[] }).items;
      const expected = await t.db.superuser<{ id: string }>(`SELECT id FROM users WHERE role = 'auditor'`);
      expect(items.map((u) => u.id).sort()).toEqual(expected.map((r) => r.id).sort());
      expect(items.every((u) => u.role === 'auditor')).toBe(true);
    });

    it.each([
      [{ limit: 0 }, 'limit'],
      [{ limit: 201 }, 'limit'],
      [{ limit: 'many' }, 'limit'],
      [{ cursor: 'not a cursor!' }, 'cursor'],
      [{ cursor: Buffer.from(JSON.stringify({ forged: true })).toString('base64url') }, 'cursor'],
      [{ role: 'overlord' }, 'role'],
      [{ sort: 'password_hash' }, 'sort'],
    ])('refuses the query %j with 400 naming %s', async (query, field) => {
      const res = await t.http().get('/api/v1/users').query(query).set(admin());
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toContain(field);
    });
  });

  describe('get', () => {
    it('returns one user by id', async () => {
      const created = (await create({ email: unique('get'), password: PASSWORD, role: 'dpo' }).expect(201)).body as UserBody;
      const res = await t.http().get(`/api/v1/users/${created.id}`).set(admin()).expect(200);
      expect(res.body).toEqual(created);
    });

    it.each([
      ['an unknown id', () => randomUUID()],
      ['a malformed id', () => 'not-a-uuid'],
      ['an id that looks like SQL', () => encodeURIComponent("1' OR '1'='1")],
    ])('answers %s with a 404 problem', async (_, id) => {
      const path = `/api/v1/users/${id()}`;
      expectProblem(await t.http().get(path).set(admin()), 404, 'not-found');
      expectProblem(await t.http().patch(path).set(admin()).send({ role: 'dpo' }), 404, 'not-found');
    });
  });

  describe('update', () => {
    it('changes the role, records the change in the audit log, and answers the new state', async () => {
      const user = (await create({ email: unique('patch'), password: PASSWORD, role: 'legal' }).expect(201)).body as UserBody;
      const requestId = `patch-user-${randomUUID()}`;
      const res = await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).set('X-Request-Id', requestId).send({ role: 'security' }).expect(200);
      expect(res.body).toMatchObject({ id: user.id, role: 'security', disabled: false });
      expect((await t.http().get(`/api/v1/users/${user.id}`).set(admin()).expect(200)).body).toMatchObject({ role: 'security' });

      const trail = await auditOf(user.id);
      expect(trail.map((e) => e.action)).toEqual(['user.created', 'user.updated']);
      expect(trail[1]).toMatchObject({ actorId: adminId, requestId, changes: { role: { from: 'legal', to: 'security' } } });
    });

    it('changes a password: the new one works, the old one no longer does, and neither is logged', async () => {
      const email = unique('password');
      const user = await createUser(t, adminToken, { email, role: 'dpo', password: PASSWORD });
      const newPassword = 'an entirely new passphrase 456';
      await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ password: newPassword }).expect(200);
      await login(t, email, newPassword);
      expectProblem(await t.http().post('/api/v1/auth/login').send({ email, password: PASSWORD }), 401, 'unauthorized');

      const trail = await auditOf(user.id);
      expect(trail.map((e) => e.action)).toEqual(['user.created', 'user.updated']);
      expect(trail[1].changes).toHaveProperty('password');
      expect(JSON.stringify(trail)).not.toContain(newPassword);
    });

    it('moves a customer user to another role and drops its customerId; moving back requires one', async () => {
      const customerId = (await createCustomer(t)).id;
      const user = (await create({ email: unique('cust'), password: PASSWORD, role: 'customer', customerId }).expect(201)).body as UserBody;
      const moved = await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ role: 'legal' }).expect(200);
      expect(moved.body).toMatchObject({ role: 'legal', customerId: null });

      const back = await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ role: 'customer' });
      expectProblem(back, 400, 'validation');
      expect(problemFields(back)).toContain('customerId');
      const withCustomer = await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ customerId });
      expectProblem(withCustomer, 400, 'validation');
      expect(problemFields(withCustomer)).toContain('customerId');
      expect((await t.http().get(`/api/v1/users/${user.id}`).set(admin()).expect(200)).body).toMatchObject({ role: 'legal', customerId: null });

      await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ role: 'customer', customerId }).expect(200);
    });

    it('refuses unknown or read-only fields, naming them, and changes nothing', async () => {
      const user = (await create({ email: unique('ro'), password: PASSWORD, role: 'legal' }).expect(201)).body as UserBody;
      const audit = await countRows(t, 'audit_log');
      for (const field of ['email', 'id', 'passwordHash', 'createdAt', 'isAdmin']) {
        const res = await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ [field]: 'x', role: 'admin' });
        expectProblem(res, 400, 'validation');
        expect(problemFields(res)).toContain(field);
      }
      const invalid = await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ disabled: 'yes', role: 'root', password: 'short' });
      expectProblem(invalid, 400, 'validation');
      expect(problemFields(invalid)).toEqual(expect.arrayContaining(['disabled', 'role', 'password']));
      expect((await t.http().get(`/api/v1/users/${user.id}`).set(admin()).expect(200)).body).toEqual(user);
      expect(await countRows(t, 'audit_log')).toBe(audit);
    });

    it('disables a user, with its own audit action', async () => {
      const user = await createUser(t, adminToken, { email: unique('disable'), role: 'security' });
      const res = await t.http().patch(`/api/v1/users/${user.id}`).set(admin()).send({ disabled: true }).expect(200);
      expect(res.body).toMatchObject({ id: user.id, disabled: true });
      expectProblem(await t.http().get('/api/v1/me').set(bearer(user.token)), 401, 'unauthorized');
      const trail = await auditOf(user.id);
      expect(trail.map((e) => e.action)).toEqual(['user.created', 'user.disabled']);
      expect(trail[1].changes).toMatchObject({ disabled: { from: false, to: true } });
    });
  });

  describe('the last enabled admin', () => {
    const enabledAdmins = async () => (await t.db.superuser<{ id: string }>(`SELECT id FROM users WHERE role = 'admin' AND NOT disabled`)).map((r) => r.id);

    it('cannot be disabled or demoted (409), and nothing changes', async () => {
      expect(await enabledAdmins()).toEqual([adminId]);
      const audit = await countRows(t, 'audit_log');
      for (const change of [{ disabled: true }, { role: 'dpo' }, { role: 'auditor', disabled: true }]) {
        expectProblem(await t.http().patch(`/api/v1/users/${adminId}`).set(admin()).send(change), 409, 'conflict');
      }
      expect(await enabledAdmins()).toEqual([adminId]);
      expect(await countRows(t, 'audit_log')).toBe(audit);
      await t.http().get('/api/v1/users').set(admin()).expect(200);
    });

    it('does not count disabled admins as a replacement', async () => {
      const other = await createUser(t, adminToken, { email: unique('admin2'), role: 'admin' });
      await t.http().patch(`/api/v1/users/${other.id}`).set(admin()).send({ disabled: true }).expect(200);
      expectProblem(await t.http().patch(`/api/v1/users/${adminId}`).set(admin()).send({ disabled: true }), 409, 'conflict');
      expect(await enabledAdmins()).toEqual([adminId]);
    });

    it('can hand over: with another enabled admin, either may be demoted, but not both', async () => {
      const other = await createUser(t, adminToken, { email: unique('admin3'), role: 'admin' });
      await t.http().patch(`/api/v1/users/${other.id}`).set(admin()).send({ role: 'dpo' }).expect(200);
      expect(await enabledAdmins()).toEqual([adminId]);
      await t.http().patch(`/api/v1/users/${other.id}`).set(admin()).send({ role: 'admin' }).expect(200);
      // The other admin demotes the first one, then cannot demote itself.
      await t.http().patch(`/api/v1/users/${adminId}`).set(bearer(other.token)).send({ role: 'legal' }).expect(200);
      expectProblem(await t.http().patch(`/api/v1/users/${other.id}`).set(bearer(other.token)).send({ disabled: true }), 409, 'conflict');
      // Restore the first admin so the remaining tests keep their token's powers.
      await t.http().patch(`/api/v1/users/${adminId}`).set(bearer(other.token)).send({ role: 'admin' }).expect(200);
      await t.http().get('/api/v1/users').set(admin()).expect(200);
    });
  });

  describe('audit log', () => {
    it('has an entry for every user change and holds no password or hash', async () => {
      const users = await t.db.superuser<{ id: string; email: string; password_hash: string }>('SELECT id, email, password_hash FROM users');
      const entries = await t.db.superuser<{ subject_id: string; action: string; changes: unknown }>(
        `SELECT subject_id, action, changes FROM audit_log WHERE subject_type = 'User'`,
      );
      for (const user of users) expect(entries.filter((e) => e.subject_id === user.id && e.action === 'user.created')).toHaveLength(1);
      const dump = JSON.stringify(entries);
      expect(dump).not.toContain(PASSWORD);
      expect(dump).not.toContain(ADMIN.password);
      expect(dump).not.toContain('$argon2');
      for (const user of users) expect(dump).not.toContain(user.password_hash);
      // The log can never be erased, so it names people by id only, never by e-mail.
      for (const user of users) expect(dump.toLowerCase()).not.toContain(user.email);

      const verify = await t.http().get('/api/v1/audit/verify').set(bearer(auditorToken)).expect(200);
      expect(verify.body).toMatchObject({ ok: true, firstBadSeq: null });
      expect((verify.body as { checked: number }).checked).toBe(await countRows(t, 'audit_log'));
    });
  });
});
