import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Response } from 'supertest';
import { ADMIN, createUser, login, startTestApp, TestApp, testEnv } from './support/app';
import { bearer, countRows, expectProblem, problemFields } from './support/http';
import { runCli } from './support/processes';
import { createCustomer } from './support/fixtures';
import type { AuditEntryResponse } from '../src/audit/audit.dto';

type Entry = AuditEntryResponse;

interface AuditPage {
  items: Entry[];
  nextCursor: string | null;
}

const GENESIS = '0'.repeat(64);
const PASSWORD = 'a long enough password 123';
const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;

/** Every secret this file sends to the app; none may ever appear in the audit log. */
const secretsSent = new Set<string>([ADMIN.password, PASSWORD]);

async function auditPage(t: TestApp, token: string, query: Record<string, string | number>): Promise<AuditPage> {
  const res = await t.http().get('/api/v1/audit').query(query).set(bearer(token));
  expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: 200 });
  return res.body as AuditPage;
}

/** Follows nextCursor to the end with the given page size; fails on a page that is too big or a loop. */
async function walkAudit(t: TestApp, token: string, query: Record<string, string | number> = {}, limit = 2): Promise<Entry[]> {
  const all: Entry[] = [];
  let cursor: string | null = null;
  for (let pages = 0; ; pages++) {
    if (pages > 500) throw new Error('pagination does not end');
    const page: AuditPage = await auditPage(t, token, { ...query, limit, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    all.push(...page.items);
    if (!page.nextCursor) return all;
    expect(page.items.length).toBe(limit);
    cursor = page.nextCursor;
  }
}

const seqs = (entries: { seq: number | string }[]) => entries.map((e) => Number(e.seq));

async function dbSeqs(t: TestApp, where = 'TRUE', params: unknown[] = []): Promise<number[]> {
  return seqs(await t.db.superuser<{ seq: string }>(`SELECT seq FROM audit_log WHERE ${where} ORDER BY seq DESC`, params));
}

async function postUser(t: TestApp, token: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return t.http().post('/api/v1/users').set(bearer(token)).set(headers).send({ password: PASSWORD, ...body });
}

function requestIdOf(res: Response): string {
  const id = res.headers['x-request-id'];
  expect(typeof id).toBe('string');
  expect(id.length).toBeGreaterThan(0);
  return id as string;
}

/**
 * Runs SQL as the superuser with the append-only triggers bypassed (replication role), in its own
 * committed transaction: what somebody with the server's keys could do behind the app's back.
 */
async function behindTheAppsBack(t: TestApp, sql: string, params: unknown[] = []): Promise<number> {
  const client = new Client({ connectionString: t.db.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    const result = await client.query(sql, params);
    await client.query('COMMIT');
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/**
 * A fresh app and database whose chain holds `entries` entries: the first-boot admin, then API key
 * creations (cheap: no password hashing). The first key is an auditor key, used to call verify.
 */
async function seededChain(entries: number): Promise<{ t: TestApp; auditorKey: string }> {
  const t = await startTestApp();
  try {
    const admin = await login(t, ADMIN.email, ADMIN.password);
    const keys: string[] = [];
    for (let i = 1; i < entries; i++) {
      const res = await t.http().post('/api/v1/api-keys').set(bearer(admin)).send({ name: `seed ${i}`, role: i === 1 ? 'auditor' : 'ingest' });
      expect(res.status).toBe(201);
      keys.push((res.body as { key: string }).key);
    }
    expect(await countRows(t, 'audit_log')).toBe(entries);
    expect(await verifyViaApi(t, keys[0])).toEqual({ ok: true, checked: entries, firstBadSeq: null });
    return { t, auditorKey: keys[0] };
  } catch (error) {
    await t.close();
    throw error;
  }
}

async function verifyViaApi(t: TestApp, token: string): Promise<unknown> {
  const res = await t.http().get('/api/v1/audit/verify').set(bearer(token));
  expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: 200 });
  return res.body;
}

async function verifyViaCli(t: TestApp): Promise<{ code: number | null; result: unknown }> {
  const run = await runCli(['audit:verify'], testEnv(t.db.url));
  const line = run.stdout.trim().split('\n').pop() ?? '';
  let result: unknown;
  try {
    result = JSON.parse(line);
  } catch {
    throw new Error(`audit:verify printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return { code: run.code, result };
}

describe('audit log', () => {
  let t: TestApp;
  let admin: string;
  let adminId: string;
  let auditor: string;
  let dpo: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await login(t, ADMIN.email, ADMIN.password);
    adminId = ((await t.http().get('/api/v1/me').set(bearer(admin)).expect(200)).body as { id: string }).id;
    auditor = (await createUser(t, admin, { email: unique('auditor'), role: 'auditor' })).token;
    dpo = (await createUser(t, admin, { email: unique('dpo'), role: 'dpo' })).token;
  });
  afterAll(() => t.close());

  describe('an entry per change', () => {
    it('records the first-boot admin as created by the system, as the first link of the chain', async () => {
      const entries = await walkAudit(t, auditor, { subjectType: 'User', subjectId: adminId });
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        seq: 1,
        actorType: 'system',
        actorId: null,
        action: 'user.created',
        subjectType: 'User',
        subjectId: adminId,
        requestId: null,
        prevHash: GENESIS,
        changes: { role: 'admin', reason: 'first boot' },
      });
      expect(entries[0].hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('records a user creation with its actor, subject and request id, and no password', async () => {
      const email = unique('created');
      const res = await postUser(t, admin, { email, role: 'legal' });
      expect(res.status).toBe(201);
      const id = (res.body as { id: string }).id;

      const entries = await walkAudit(t, auditor, { subjectType: 'User', subjectId: id });
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ actorType: 'user', actorId: adminId, action: 'user.created', subjectType: 'User', subjectId: id, requestId: requestIdOf(res) });
      expect(entries[0].changes).toEqual({ role: 'legal', customerId: null, disabled: false });
    });

    it('records a role change, a password change and disabling, each with the request id of its own request', async () => {
      const created = await postUser(t, admin, { email: unique('changed'), role: 'legal' });
      expect(created.status).toBe(201);
      const id = (created.body as { id: string }).id;
      const newPassword = 'another long password 456';
      secretsSent.add(newPassword);

      const patch = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
        t.http().patch(`/api/v1/users/${id}`).set(bearer(admin)).set(headers).send(body);
      const roleChange = await patch({ role: 'dpo' });
      const passwordChange = await patch({ password: newPassword });
      // A caller's own X-Request-Id is kept, and is what the entry records.
      const callerId = `trace-${randomBytes(6).toString('hex')}`;
      const disabling = await patch({ disabled: true }, { 'X-Request-Id': callerId });
      for (const res of [roleChange, passwordChange, disabling]) expect(res.status).toBe(200);
      expect(requestIdOf(disabling)).toBe(callerId);

      const entries = await walkAudit(t, auditor, { subjectType: 'User', subjectId: id });
      expect(entries.map((e) => e.action)).toEqual(['user.disabled', 'user.updated', 'user.updated', 'user.created']);
      const [disabled, password, role, creation] = entries;
      expect(role).toMatchObject({ actorType: 'user', actorId: adminId, requestId: requestIdOf(roleChange), changes: { role: { from: 'legal', to: 'dpo' } } });
      expect(Object.keys(role.changes)).toEqual(['role']);
      expect(password).toMatchObject({ actorId: adminId, requestId: requestIdOf(passwordChange) });
      // The entry says the password changed, and nothing about it.
      expect(Object.keys(password.changes)).toEqual(['password']);
      expect(JSON.stringify(password.changes)).toMatch(/^\{"password":("\[redacted\]"|\{"from":"\[redacted\]","to":"\[redacted\]"\})\}$/);
      expect(disabled).toMatchObject({ actorId: adminId, requestId: callerId, changes: { disabled: { from: false, to: true } } });
      expect(creation.requestId).toBe(requestIdOf(created));
      expect(new Set(entries.map((e) => e.requestId)).size).toBe(4);
    });

    it('records an API key creation and its revocation, never the key itself', async () => {
      const created = await t.http().post('/api/v1/api-keys').set(bearer(admin)).send({ name: 'ingest eu-west', role: 'ingest' });
      expect(created.status).toBe(201);
      const { id, key } = created.body as { id: string; key: string };
      secretsSent.add(key);
      const revoked = await t.http().delete(`/api/v1/api-keys/${id}`).set(bearer(admin));
      expect(revoked.status).toBe(204);

      const entries = await walkAudit(t, dpo, { subjectType: 'ApiKey', subjectId: id });
      expect(entries.map((e) => e.action)).toEqual(['api_key.revoked', 'api_key.created']);
      const [revocation, creation] = entries;
      expect(creation).toMatchObject({ actorType: 'user', actorId: adminId, subjectType: 'ApiKey', subjectId: id, requestId: requestIdOf(created), changes: { name: 'ingest eu-west', role: 'ingest' } });
      expect(revocation).toMatchObject({ actorType: 'user', actorId: adminId, subjectType: 'ApiKey', subjectId: id, requestId: requestIdOf(revoked) });
      const listed = (await t.http().get('/api/v1/api-keys').set(bearer(admin)).expect(200)).body as { items: { id: string; revokedAt: string }[] };
      expect(revocation.changes).toEqual({ revokedAt: listed.items.find((k) => k.id === id)?.revokedAt });
      expect(JSON.stringify(entries)).not.toContain(key);

      // Revoking again changes nothing, so it records nothing.
      const before = await countRows(t, 'audit_log');
      await t.http().delete(`/api/v1/api-keys/${id}`).set(bearer(admin)).expect(204);
      expect(await countRows(t, 'audit_log')).toBe(before);
    });

    it('records nothing for a request that changes nothing', async () => {
      const existing = unique('dup');
      expect((await postUser(t, admin, { email: existing, role: 'legal' })).status).toBe(201);
      const before = await countRows(t, 'audit_log');
      expectProblem(await postUser(t, admin, { email: existing, role: 'legal' }), 409);
      expectProblem(await postUser(t, admin, { email: unique('bad'), role: 'emperor' }), 400);
      expectProblem(await postUser(t, dpo, { email: unique('refused'), role: 'legal' }), 403);
      expect(await countRows(t, 'audit_log')).toBe(before);
    });
  });

  describe('GET /api/v1/audit', () => {
    let otherAdminId: string;
    let otherAdminsUser: string;

    beforeAll(async () => {
      const other = await createUser(t, admin, { email: unique('admin2'), role: 'admin' });
      otherAdminId = other.id;
      const res = await postUser(t, other.token, { email: unique('by-admin2'), role: 'security' });
      expect(res.status).toBe(201);
      otherAdminsUser = (res.body as { id: string }).id;
    });

    it.each(['auditor', 'dpo'])('gives the %s every entry, newest first, across pages of 2 without gaps or repeats', async (role) => {
      const token = role === 'auditor' ? auditor : dpo;
      const entries = await walkAudit(t, token);
      const expected = await dbSeqs(t);
      expect(expected.length).toBeGreaterThan(10);
      expect(seqs(entries)).toEqual(expected);
      expect(new Set(seqs(entries)).size).toBe(entries.length);
      // Pages carry the stored entries as they are.
      const stored = await t.db.superuser<{ seq: string; hash: string; prev_hash: string }>('SELECT seq, hash, prev_hash FROM audit_log ORDER BY seq DESC');
      expect(entries.map((e) => [e.seq, e.hash, e.prevHash])).toEqual(stored.map((r) => [Number(r.seq), r.hash, r.prev_hash]));
    });

    it.each(['auditor', 'dpo'])('filters by action, and pages through the filtered list, for the %s', async (role) => {
      const token = role === 'auditor' ? auditor : dpo;
      const created = await walkAudit(t, token, { action: 'user.created' });
      expect(created.every((e) => e.action === 'user.created')).toBe(true);
      expect(seqs(created)).toEqual(await dbSeqs(t, `action = 'user.created'`));
      expect(seqs(await walkAudit(t, token, { action: 'user.disabled' }, 50))).toEqual(await dbSeqs(t, `action = 'user.disabled'`));
      expect(await dbSeqs(t, `action = 'user.disabled'`)).toHaveLength(1);
    });

    it('filters by subject type alone and with a subject id', async () => {
      const keys = await walkAudit(t, auditor, { subjectType: 'ApiKey' });
      expect(keys.length).toBeGreaterThan(0);
      expect(seqs(keys)).toEqual(await dbSeqs(t, `subject_type = 'ApiKey'`));

      const one = await walkAudit(t, auditor, { subjectType: 'User', subjectId: otherAdminsUser });
      expect(one.map((e) => [e.action, e.subjectId])).toEqual([['user.created', otherAdminsUser]]);

      expect(await auditPage(t, auditor, { subjectType: 'User', subjectId: randomUUID() })).toEqual({ items: [], nextCursor: null });
      expect(await auditPage(t, auditor, { subjectType: 'ApiKey', subjectId: otherAdminsUser })).toEqual({ items: [], nextCursor: null });
    });

    it('filters by actor', async () => {
      const byOther = await walkAudit(t, dpo, { actorId: otherAdminId });
      expect(byOther.map((e) => [e.action, e.subjectId, e.actorId])).toEqual([['user.created', otherAdminsUser, otherAdminId]]);

      const byAdmin = await walkAudit(t, dpo, { actorId: adminId });
      expect(byAdmin.every((e) => e.actorId === adminId)).toBe(true);
      expect(seqs(byAdmin)).toEqual(await dbSeqs(t, 'actor_id = $1', [adminId]));
      // The first-boot entry was made by the system, not by the admin it created.
      expect(seqs(byAdmin)).not.toContain(1);
    });

    it('filters by time: from inclusive, to exclusive', async () => {
      const all = (await walkAudit(t, auditor, {}, 200)).reverse();
      const from = all[2].at;
      const to = all[all.length - 2].at;
      expect(Date.parse(from)).toBeLessThan(Date.parse(to));
      const expected = all.filter((e) => e.at >= from && e.at < to).map((e) => e.seq).reverse();

      const window = seqs(await walkAudit(t, auditor, { from, to }));
      expect(window).toEqual(expected);
      expect(window).toContain(all[2].seq);
      expect(window).not.toContain(all[all.length - 2].seq);
      expect(window).not.toContain(all[0].seq);
      expect(window.length).toBeLessThan(all.length);

      expect(seqs(await walkAudit(t, auditor, { from: to }, 200))).toEqual(all.filter((e) => e.at >= to).map((e) => e.seq).reverse());
      expect(seqs(await walkAudit(t, auditor, { to: from }, 200))).toEqual(all.filter((e) => e.at < from).map((e) => e.seq).reverse());
    });

    it.each([
      ['characters a cursor never has', 'not a cursor!'],
      ['a cursor holding a string', Buffer.from('"abc"').toString('base64url')],
      ['a cursor holding a fraction', Buffer.from('2.5').toString('base64url')],
      ['a cursor that is not JSON', Buffer.from('{"seq":').toString('base64url')],
    ])('refuses %s with a 400 problem naming the cursor', async (_, cursor) => {
      const res = await t.http().get('/api/v1/audit').query({ cursor }).set(bearer(auditor));
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toEqual(['cursor']);
    });

    it('refuses malformed filters with a 400 problem naming them', async () => {
      const res = await t.http().get('/api/v1/audit').query({ from: 'yesterday', actorId: 'admin', limit: 0 }).set(bearer(auditor));
      expectProblem(res, 400, 'validation');
      expect(problemFields(res).sort()).toEqual(['actorId', 'from', 'limit']);
    });

    it.each(['admin', 'legal', 'security', 'customer'])('refuses the log and its verification to the %s role', async (role) => {
      const token = role === 'admin' ? admin : (await createUser(t, admin, { email: unique(role), role, ...(role === 'customer' ? { customerId: (await createCustomer(t)).id } : {}) })).token;
      expectProblem(await t.http().get('/api/v1/audit').set(bearer(token)), 403, 'forbidden');
      expectProblem(await t.http().get('/api/v1/audit/verify').set(bearer(token)), 403, 'forbidden');
    });

    it('refuses an anonymous caller', async () => {
      expectProblem(await t.http().get('/api/v1/audit'), 401, 'unauthorized');
      expectProblem(await t.http().get('/api/v1/audit/verify'), 401, 'unauthorized');
    });
  });

  describe('verification', () => {
    it.each(['auditor', 'dpo'])('GET /api/v1/audit/verify checks every entry for the %s', async (role) => {
      const rows = await countRows(t, 'audit_log');
      expect(rows).toBeGreaterThan(10);
      expect(await verifyViaApi(t, role === 'auditor' ? auditor : dpo)).toEqual({ ok: true, checked: rows, firstBadSeq: null });
    });

    // The command line's verdict on an intact chain is checked in audit-instances.e2e-spec.ts.
  });

  describe('the database keeps the log append-only', () => {
    const refused = { code: '42501', message: expect.stringMatching(/append-only/) as unknown };

    it('refuses UPDATE, DELETE and TRUNCATE from an ordinary session of the application\'s role', async () => {
      const before = await t.db.superuser('SELECT * FROM audit_log ORDER BY seq');
      const client = new Client({ connectionString: t.db.url });
      await client.connect();
      try {
        await expect(client.query(`UPDATE audit_log SET changes = '{}'::jsonb WHERE seq = 2`)).rejects.toMatchObject(refused);
        await expect(client.query(`UPDATE audit_log SET actor_id = NULL`)).rejects.toMatchObject(refused);
        await expect(client.query('DELETE FROM audit_log WHERE seq = 2')).rejects.toMatchObject(refused);
        await expect(client.query('DELETE FROM audit_log')).rejects.toMatchObject(refused);
        await expect(client.query('TRUNCATE audit_log')).rejects.toMatchObject(refused);
      } finally {
        await client.end();
      }
      expect(await t.db.superuser('SELECT * FROM audit_log ORDER BY seq')).toEqual(before);
    });

    it('refuses them to the table\'s owner too, who also cannot switch the triggers off by replication role', async () => {
      const role = `audit_owner_${randomBytes(4).toString('hex')}`;
      const password = randomBytes(12).toString('hex');
      const before = await t.db.superuser('SELECT * FROM audit_log ORDER BY seq');
      await t.db.superuser(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      const [{ owner }] = await t.db.superuser<{ owner: string }>(`SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'audit_log'`);
      await t.db.superuser(`ALTER TABLE audit_log OWNER TO ${role}`);
      const url = new URL(t.db.url);
      url.username = role;
      url.password = password;
      const client = new Client({ connectionString: url.toString() });
      try {
        await client.connect();
        const [me] = (await client.query<{ owns: boolean; superuser: boolean }>(
          `SELECT (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log') = current_user AS owns, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser`,
        )).rows;
        expect(me).toEqual({ owns: true, superuser: false });
        await expect(client.query(`UPDATE audit_log SET action = 'x' WHERE seq = 3`)).rejects.toMatchObject(refused);
        await expect(client.query('DELETE FROM audit_log WHERE seq = 3')).rejects.toMatchObject(refused);
        await expect(client.query('TRUNCATE audit_log')).rejects.toMatchObject(refused);
        await expect(client.query('SET session_replication_role = replica')).rejects.toMatchObject({ code: '42501' });
      } finally {
        await client.end().catch(() => undefined);
        await t.db.superuser(`ALTER TABLE audit_log OWNER TO ${owner}`);
        await t.db.superuser(`DROP ROLE ${role}`);
      }
      expect(await t.db.superuser('SELECT * FROM audit_log ORDER BY seq')).toEqual(before);
    });
  });

  describe('a failed audit write rolls the change back', () => {
    /** Makes the database refuse audit entries of one action, as a full disk or a bug would. */
    async function whileAuditRefuses<T>(action: string, body: () => Promise<T>): Promise<T> {
      const name = `audit_test_refuse_${randomBytes(4).toString('hex')}`;
      await t.db.superuser(`ALTER TABLE audit_log ADD CONSTRAINT ${name} CHECK (action <> '${action}') NOT VALID`);
      try {
        return await body();
      } finally {
        await t.db.superuser(`ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS ${name}`);
      }
    }

    function expectOpaque500(res: Response, ...secrets: string[]) {
      const body = expectProblem(res, 500, 'internal');
      const text = JSON.stringify(res.body);
      expect(body).not.toHaveProperty('stack');
      expect(text).not.toMatch(/audit_log|audit_test_refuse|constraint|violates|INSERT|UPDATE|SELECT|\.(ts|js):\d+|QueryFailed/i);
      for (const s of secrets) expect(text).not.toContain(s);
    }

    it('a user creation whose entry cannot be written answers 500 and leaves no user behind', async () => {
      const email = unique('rolled-back');
      const users = await countRows(t, 'users');
      const entries = await countRows(t, 'audit_log');

      const res = await whileAuditRefuses('user.created', () => postUser(t, admin, { email, role: 'legal' }));
      expectOpaque500(res, email, PASSWORD);
      expect(await countRows(t, 'users')).toBe(users);
      expect(await t.db.superuser('SELECT id FROM users WHERE email = $1', [email])).toEqual([]);
      expect(await countRows(t, 'audit_log')).toBe(entries);

      // The very same request succeeds once entries can be written again: the audit write was the cause.
      expect((await postUser(t, admin, { email, role: 'legal' })).status).toBe(201);
      expect(await countRows(t, 'users')).toBe(users + 1);
    });

    it('a disabling whose entry cannot be written answers 500 and leaves the user enabled', async () => {
      const target = await createUser(t, admin, { email: unique('stays-enabled'), role: 'legal' });
      const entries = await countRows(t, 'audit_log');

      const res = await whileAuditRefuses('user.disabled', () => t.http().patch(`/api/v1/users/${target.id}`).set(bearer(admin)).send({ disabled: true }));
      expectOpaque500(res);
      expect(await t.db.superuser('SELECT disabled FROM users WHERE id = $1', [target.id])).toEqual([{ disabled: false }]);
      expect(await countRows(t, 'audit_log')).toBe(entries);
      await t.http().get('/api/v1/me').set(bearer(target.token)).expect(200);
    });

    it('an API key whose entry cannot be written is not created and does not work', async () => {
      const keys = await countRows(t, 'api_keys');
      const res = await whileAuditRefuses('api_key.created', () => t.http().post('/api/v1/api-keys').set(bearer(admin)).send({ name: 'never', role: 'auditor' }));
      expectOpaque500(res);
      expect(await countRows(t, 'api_keys')).toBe(keys);
    });
  });

  describe('concurrent writers in one process', () => {
    it('30 parallel user creations extend one gapless chain that verifies', async () => {
      const before = await countRows(t, 'audit_log');
      const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => postUser(t, admin, { email: unique(`parallel${i}`), role: 'legal' })));
      expect(responses.map((r) => r.status)).toEqual(Array(30).fill(201));

      const rows = await t.db.superuser<{ seq: string; prev_hash: string; hash: string; subject_id: string; request_id: string; action: string }>(
        'SELECT seq, prev_hash, hash, subject_id, request_id, action FROM audit_log ORDER BY seq',
      );
      const total = before + 30;
      expect(seqs(rows)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(total);
      rows.forEach((r, i) => expect(r.prev_hash).toBe(i === 0 ? GENESIS : rows[i - 1].hash));
      for (const res of responses) {
        const id = (res.body as { id: string }).id;
        expect(rows.filter((r) => r.subject_id === id).map((r) => [r.action, r.request_id])).toEqual([['user.created', requestIdOf(res)]]);
      }
      expect(await verifyViaApi(t, auditor)).toEqual({ ok: true, checked: total, firstBadSeq: null });
    });
  });

  it('holds no password, password hash, API key, key hash or e-mail address anywhere in the log', async () => {
    const log = (await t.db.superuser<{ row: string }>('SELECT row_to_json(a)::text AS row FROM audit_log a')).map((r) => r.row).join('\n');
    const emails = (await t.db.superuser<{ email: string }>('SELECT email FROM users')).map((r) => r.email);
    expect(emails.length).toBeGreaterThan(30);
    for (const email of emails) expect(log).not.toContain(email);
    const hashes = [
      ...(await t.db.superuser<{ h: string }>('SELECT password_hash AS h FROM users')),
      ...(await t.db.superuser<{ h: string }>('SELECT key_hash AS h FROM api_keys')),
    ].map((r) => r.h);
    expect(hashes.length).toBeGreaterThan(30);
    expect(secretsSent.size).toBeGreaterThanOrEqual(4);
    for (const secret of [...secretsSent, ...hashes]) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/\$argon2/);
    expect(log).not.toMatch(/"(password|passwordHash|keyHash|key)":\s*"(?!\[redacted\])/);
  });
});

describe('audit log tampered with behind the application\'s back', () => {
  it('an edited entry in the middle is reported at exactly its seq, by the API and the command line', async () => {
    const { t, auditorKey } = await seededChain(5);
    try {
      expect(await behindTheAppsBack(t, `UPDATE audit_log SET changes = jsonb_set(changes, '{role}', '"admin"') WHERE seq = 3`)).toBe(1);
      const [api, cli] = await Promise.all([verifyViaApi(t, auditorKey), verifyViaCli(t)]);
      expect(api).toMatchObject({ ok: false, firstBadSeq: 3 });
      expect(cli.code).toBe(1);
      expect(cli.result).toMatchObject({ ok: false, firstBadSeq: 3 });
    } finally {
      await t.close();
    }
  });

  it('an entry whose actor was swapped is reported at exactly its seq', async () => {
    const { t, auditorKey } = await seededChain(5);
    try {
      const [{ id: someoneElse }] = await t.db.superuser<{ id: string }>(`SELECT id FROM api_keys WHERE role = 'auditor'`);
      expect(await behindTheAppsBack(t, 'UPDATE audit_log SET actor_id = $1 WHERE seq = 4', [someoneElse])).toBe(1);
      expect(await verifyViaApi(t, auditorKey)).toMatchObject({ ok: false, firstBadSeq: 4 });
    } finally {
      await t.close();
    }
  });

  it('a deleted entry in the middle is reported as the missing seq, even after later writes', async () => {
    const { t, auditorKey } = await seededChain(5);
    try {
      expect(await behindTheAppsBack(t, 'DELETE FROM audit_log WHERE seq = 3')).toBe(1);
      expect(await verifyViaApi(t, auditorKey)).toMatchObject({ ok: false, firstBadSeq: 3 });

      // The app keeps appending after the gap; that must not paper over it.
      const admin = await login(t, ADMIN.email, ADMIN.password);
      await t.http().post('/api/v1/api-keys').set(bearer(admin)).send({ name: 'after the gap', role: 'ingest' }).expect(201);
      const [api, cli] = await Promise.all([verifyViaApi(t, auditorKey), verifyViaCli(t)]);
      expect(api).toMatchObject({ ok: false, firstBadSeq: 3 });
      expect(cli.code).toBe(1);
      expect(cli.result).toMatchObject({ ok: false, firstBadSeq: 3 });
    } finally {
      await t.close();
    }
  });
});
