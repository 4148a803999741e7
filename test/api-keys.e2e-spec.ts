import { createHash, randomUUID } from 'node:crypto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, countRows, expectProblem, problemFields } from './support/http';
import { createCustomer } from './support/fixtures';
import type { ApiKeyResponse } from '../src/access/dto/api-key.dto';
import { Clock } from '../src/common/clock';

type KeyBody = ApiKeyResponse & { key?: string };

const KEY_FIELDS = ['createdAt', 'createdBy', 'expiresAt', 'id', 'name', 'prefix', 'revokedAt', 'role'];

describe('API keys', () => {
  let t: TestApp;
  let adminToken: string;
  let adminId: string;
  const admin = () => bearer(adminToken);

  beforeAll(async () => {
    t = await startTestApp();
    adminToken = await login(t, ADMIN.email, ADMIN.password);
    adminId = ((await t.http().get('/api/v1/me').set(admin()).expect(200)).body as { id: string }).id;
  });
  afterAll(() => t.close());

  const createKey = async (body: Record<string, unknown> = {}): Promise<KeyBody & { key: string }> => {
    const res = await t.http().post('/api/v1/api-keys').set(admin()).send({ name: `key ${randomUUID()}`, role: 'ingest', ...body }).expect(201);
    return res.body as KeyBody & { key: string };
  };

  /** Every page of GET /api/v1/api-keys, as the raw JSON text and the parsed items. */
  async function listAll(): Promise<{ text: string; items: KeyBody[] }> {
    let cursor: string | null = null;
    let text = '';
    const items: KeyBody[] = [];
    do {
      const res = await t.http().get('/api/v1/api-keys').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(admin()).expect(200);
      text += res.text;
      const page = res.body as { items: KeyBody[]; nextCursor: string | null };
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return { text, items };
  }

  it('returns the key once on creation, and only then', async () => {
    const created = await createKey({ name: 'platform ingest, eu-west-1' });
    expect(Object.keys(created).sort()).toEqual([...KEY_FIELDS, 'key'].sort());
    expect(created).toMatchObject({ name: 'platform ingest, eu-west-1', role: 'ingest', createdBy: adminId, expiresAt: null, revokedAt: null });
    expect(created.key.length).toBeGreaterThanOrEqual(40);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    expect(created.prefix.length).toBeLessThan(created.key.length / 2);

    await createKey();
    await createKey();
    const { text, items } = await listAll();
    const listed = items.find((k) => k.id === created.id);
    expect(listed).toBeDefined();
    for (const item of items) expect(Object.keys(item).sort()).toEqual(KEY_FIELDS);
    expect(text).not.toContain(created.key);
    expect(text).not.toContain(createHash('sha256').update(created.key).digest('hex'));
    expect(new Set(items.map((k) => k.id)).size).toBe(await countRows(t, 'api_keys'));
  });

  it('stores only a SHA-256 hash of the key, never the key', async () => {
    const created = await createKey();
    const rows = await t.db.superuser<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = $1', [created.id]);
    expect(rows).toHaveLength(1);
    for (const [column, value] of Object.entries(rows[0])) {
      expect({ column, leaks: String(value instanceof Date ? value.toISOString() : value).includes(created.key) }).toEqual({ column, leaks: false });
    }
    expect(rows[0].key_hash).toBe(createHash('sha256').update(created.key).digest('hex'));
    // Nor anywhere else in the database the application writes to.
    const audit = await t.db.superuser<{ changes: unknown }>('SELECT changes FROM audit_log');
    expect(JSON.stringify(audit)).not.toContain(created.key);
    expect(JSON.stringify(audit)).not.toContain(rows[0].key_hash as string);
  });

  it('authenticates as `Authorization: Bearer <key>` with the key\'s role', async () => {
    const created = await createKey({ role: 'ingest' });
    const me = await t.http().get('/api/v1/me').set(bearer(created.key)).expect(200);
    expect(me.body).toEqual({ id: created.id, kind: 'api_key', role: 'ingest', email: null, customerId: null });
  });

  it('gives an ingest key nothing beyond its role (403 on users, keys, audit)', async () => {
    const { key } = await createKey({ role: 'ingest' });
    const users = await countRows(t, 'users');
    for (const [method, path, body] of [
      ['get', '/api/v1/users', undefined],
      ['post', '/api/v1/users', { email: `by-key-${randomUUID()}@example.test`, password: 'a long enough password 123', role: 'admin' }],
      ['get', '/api/v1/api-keys', undefined],
      ['post', '/api/v1/api-keys', { name: 'escalation', role: 'auditor' }],
      ['get', '/api/v1/audit', undefined],
      ['get', '/api/v1/audit/verify', undefined],
    ] as const) {
      const req = t.http()[method](path).set(bearer(key));
      expectProblem(await (body ? req.send(body) : req), 403, 'forbidden');
    }
    expectProblem(await t.http().patch(`/api/v1/users/${adminId}`).set(bearer(key)).send({ disabled: true }), 403, 'forbidden');
    expect(await countRows(t, 'users')).toBe(users);
  });

  it('revokes a key at once: the next request with it is a 401, other keys keep working, and revoking again is harmless', async () => {
    const [doomed, survivor] = [await createKey(), await createKey()];
    await t.http().get('/api/v1/me').set(bearer(doomed.key)).expect(200);
    const requestId = `revoke-${randomUUID()}`;
    await t.http().delete(`/api/v1/api-keys/${doomed.id}`).set(admin()).set('X-Request-Id', requestId).expect(204);

    const refused = await t.http().get('/api/v1/me').set(bearer(doomed.key));
    expectProblem(refused, 401, 'unauthorized');
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer/);
    await t.http().get('/api/v1/me').set(bearer(survivor.key)).expect(200);

    const { items } = await listAll();
    expect(items.find((k) => k.id === doomed.id)?.revokedAt).toEqual(expect.stringMatching(/Z$/));
    expect(items.find((k) => k.id === survivor.id)?.revokedAt).toBeNull();

    const audit = await t.db.superuser<{ action: string; actor_id: string; request_id: string }>(
      `SELECT action, actor_id, request_id FROM audit_log WHERE subject_type = 'ApiKey' AND subject_id = $1 ORDER BY seq`, [doomed.id]);
    expect(audit).toEqual([
      expect.objectContaining({ action: 'api_key.created', actor_id: adminId }),
      { action: 'api_key.revoked', actor_id: adminId, request_id: requestId },
    ]);

    await t.http().delete(`/api/v1/api-keys/${doomed.id}`).set(admin()).expect(204);
    expectProblem(await t.http().get('/api/v1/me').set(bearer(doomed.key)), 401, 'unauthorized');
    expect(await t.db.superuser(`SELECT 1 FROM audit_log WHERE subject_id = $1 AND action = 'api_key.revoked'`, [doomed.id])).toHaveLength(1);
  });

  it.each([
    ['an unknown id', () => randomUUID()],
    ['a malformed id', () => 'not-a-uuid'],
  ])('answers DELETE of %s with a 404 problem', async (_, id) => {
    expectProblem(await t.http().delete(`/api/v1/api-keys/${id()}`).set(admin()), 404, 'not-found');
  });

  it('refuses an expired key with 401, and accepts it until it expires', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await createKey({ expiresAt });
    expect(created.expiresAt).toBe(expiresAt);
    await t.http().get('/api/v1/me').set(bearer(created.key)).expect(200);
    // Let the hour pass.
    const clock = jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(Date.parse(expiresAt)));
    try {
      const res = await t.http().get('/api/v1/me').set(bearer(created.key));
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    } finally {
      clock.mockRestore();
    }
  });

  it.each([
    ['an unknown key', () => `cust_${Buffer.alloc(32, 1).toString('base64url')}`],
    ['a known key with one character changed', async () => {
      const { key } = await createKey();
      return key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    }],
    ['a key\'s prefix alone', async () => (await createKey()).prefix],
  ])('refuses %s with 401', async (_, make) => {
    expectProblem(await t.http().get('/api/v1/me').set(bearer(await make())), 401, 'unauthorized');
  });

  it('refuses invalid key requests naming the field, and creates nothing', async () => {
    const before = await countRows(t, 'api_keys');
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x', role: 'admin' }, 'role'],
      [{ role: 'ingest' }, 'name'],
      [{ name: '', role: 'ingest' }, 'name'],
      [{ name: 'x', role: 'ingest', expiresAt: 'tomorrow' }, 'expiresAt'],
      [{ name: 'x', role: 'ingest', expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiresAt'],
      [{ name: 'x', role: 'ingest', key: 'cust_chosen-by-the-caller' }, 'key'],
    ];
    for (const [body, field] of cases) {
      const res = await t.http().post('/api/v1/api-keys').set(admin()).send(body);
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toContain(field);
    }
    expect(await countRows(t, 'api_keys')).toBe(before);
  });

  it('lets only admins create, list or revoke keys (403 for every other role, nothing created or revoked)', async () => {
    const target = await createKey();
    const { key: auditorKey } = await createKey({ role: 'auditor' });
    const people = await Promise.all((['dpo', 'legal', 'security', 'auditor', 'customer'] as const).map(async (role) =>
      createUser(t, adminToken, { email: `keys-${role}-${randomUUID()}@example.test`, role, ...(role === 'customer' ? { customerId: (await createCustomer(t)).id } : {}) })
        .then((u) => [role, u.token] as const)));
    const before = await countRows(t, 'api_keys');
    for (const [who, credential] of [...people, ['auditor key', auditorKey] as const]) {
      const created = await t.http().post('/api/v1/api-keys').set(bearer(credential)).send({ name: `by ${who}`, role: 'ingest' });
      expect({ who, status: created.status }).toEqual({ who, status: 403 });
      expectProblem(created, 403, 'forbidden');
      expect(created.body).not.toHaveProperty('key');
      expectProblem(await t.http().delete(`/api/v1/api-keys/${target.id}`).set(bearer(credential)), 403, 'forbidden');
    }
    expect(await countRows(t, 'api_keys')).toBe(before);
    await t.http().get('/api/v1/me').set(bearer(target.key)).expect(200);
  });
});
