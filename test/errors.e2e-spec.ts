import { randomUUID } from 'node:crypto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, countRows, expectProblem, problemFields } from './support/http';

const PASSWORD = 'a long enough password 123';
const PROBLEM_MEMBERS = ['detail', 'instance', 'requestId', 'status', 'title', 'type'];

describe('errors, headers and operations', () => {
  const BODY_LIMIT_BYTES = 2048;
  let t: TestApp;
  let adminToken: string;
  let legalToken: string;

  beforeAll(async () => {
    t = await startTestApp({ BODY_LIMIT: `${BODY_LIMIT_BYTES}b` });
    adminToken = await login(t, ADMIN.email, ADMIN.password);
    legalToken = (await createUser(t, adminToken, { email: `legal-${randomUUID()}@example.test`, role: 'legal' })).token;
  });
  afterAll(() => t.close());

  const postUser = (body: unknown, token = adminToken) => t.http().post('/api/v1/users').set(bearer(token)).send(body as object);

  describe('problem+json', () => {
    it('lists every failing field of a validation error', async () => {
      const res = await postUser({ email: 'not-an-email', password: 'short', role: 'boss' });
      const body = expectProblem(res, 400, 'validation');
      expect(problemFields(res).sort()).toEqual(['email', 'password', 'role']);
      expect(body.detail).toMatch(/email/);
    });

    it('rejects an unknown body field, naming it', async () => {
      const res = await t.http().post('/api/v1/auth/login').send({ email: ADMIN.email, password: ADMIN.password, rememberMe: true });
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toEqual(['rememberMe']);
      expect(res.body).not.toHaveProperty('accessToken');
    });

    it('rejects a body that is not a JSON object', async () => {
      for (const body of ['[]', '"just a string"', '42', 'null']) {
        const res = await t.http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expectProblem(res, 400);
        expect(res.body).not.toHaveProperty('accessToken');
      }
    });

    it.each([
      ['cut short', '{"email": "victim@example.test", "password": '],
      ['with a bare word', '{"email": victim@example.test, "password": "hunter2-secret"}'],
      ['that is not JSON at all', 'victim@example.test hunter2-secret'],
    ])('answers malformed JSON (%s) with 400, without echoing any of the body', async (_, text) => {
      const res = await t.http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send(text);
      const body = expectProblem(res, 400, 'bad-request');
      expect(body.detail).toMatch(/JSON/);
      // The parser's own message quotes the input, which may hold e-mails and passwords.
      expect(res.text).not.toMatch(/victim|hunter2/);
    });

    it(`answers a body over BODY_LIMIT (${BODY_LIMIT_BYTES} bytes) with 413, and accepts one just under it`, async () => {
      const padded = (size: number) => {
        const base = JSON.stringify({ email: ADMIN.email, password: '' });
        return JSON.stringify({ email: ADMIN.email, password: 'x'.repeat(size - base.length) });
      };
      const over = await t.http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send(padded(BODY_LIMIT_BYTES + 1));
      expectProblem(over, 413, 'payload-too-large');
      // Just under the limit the body is read and judged on its content (password too long).
      const under = await t.http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send(padded(BODY_LIMIT_BYTES - 10));
      expectProblem(under, 400, 'validation');
      expect(problemFields(under)).toEqual(['password']);
    });

    it.each([
      ['GET', '/api/v1/no-such-route'],
      ['GET', '/no-such-route'],
      ['DELETE', '/api/v1/users'],
      ['POST', '/api/v1/me'],
    ])('answers an unknown route (%s %s) with 404, signed in or not', async (method, path) => {
      for (const token of [undefined, adminToken]) {
        const req = t.http()[method.toLowerCase() as 'get'](path);
        if (token) req.set(bearer(token));
        expectProblem(await req, 404, 'not-found');
      }
    });

    it('answers a missing or invalid credential with 401 and WWW-Authenticate', async () => {
      for (const header of [undefined, 'Bearer nonsense', 'Token abc']) {
        const req = t.http().get('/api/v1/users');
        if (header) req.set('Authorization', header);
        const res = await req;
        expectProblem(res, 401, 'unauthorized');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    });

    it('answers a forbidden route with 403', async () => {
      expectProblem(await t.http().get('/api/v1/users').set(bearer(legalToken)), 403, 'forbidden');
    });

    it('answers a missing row with 404', async () => {
      const body = expectProblem(await t.http().get(`/api/v1/users/${randomUUID()}`).set(bearer(adminToken)), 404, 'not-found');
      expect(Object.keys(body).sort()).toEqual(PROBLEM_MEMBERS);
    });

    it('reports the path, not the query string, as the instance', async () => {
      const res = await t.http().get('/api/v1/users').query({ limit: 0, email: 'someone@example.test' }).set(bearer(adminToken));
      const body = expectProblem(res, 400, 'validation');
      expect(body.instance).toBe('/api/v1/users');
      expect(JSON.stringify(body)).not.toContain('someone@example.test');
    });

    it('changes nothing when input is bad', async () => {
      const before = { users: await countRows(t, 'users'), audit: await countRows(t, 'audit_log'), keys: await countRows(t, 'api_keys') };
      const email = `never-${randomUUID()}@example.test`;
      await postUser({ email, password: 'short', role: 'legal' }).expect(400);
      await postUser({ email, password: PASSWORD, role: 'legal', admin: true }).expect(400);
      await postUser({ email, password: PASSWORD, role: 'customer' }).expect(400);
      await t.http().post('/api/v1/users').set(bearer(adminToken)).set('Content-Type', 'application/json').send(`{"email":"${email}",`).expect(400);
      await t.http().post('/api/v1/users').set(bearer(adminToken)).set('Content-Type', 'application/json')
        .send(JSON.stringify({ email, password: PASSWORD, role: 'legal', pad: 'x'.repeat(BODY_LIMIT_BYTES) })).expect(413);
      await postUser({ email, password: PASSWORD, role: 'legal' }, legalToken).expect(403);
      await t.http().post('/api/v1/users').send({ email, password: PASSWORD, role: 'legal' }).expect(401);
      await t.http().post('/api/v1/api-keys').set(bearer(adminToken)).send({ name: 'x', role: 'root' }).expect(400);
      expect({ users: await countRows(t, 'users'), audit: await countRows(t, 'audit_log'), keys: await countRows(t, 'api_keys') }).toEqual(before);
      expect(await t.db.superuser('SELECT 1 FROM users WHERE email = $1', [email])).toHaveLength(0);
    });
  });

  describe('500', () => {
    it('says nothing about the cause: no stack, SQL, table names', async () => {
      await t.db.superuser('ALTER TABLE api_keys RENAME TO api_keys_hidden');
      try {
        const res = await t.http().get('/api/v1/api-keys').set(bearer(adminToken));
        const body = expectProblem(res, 500, 'internal');
        expect(Object.keys(body).sort()).toEqual(PROBLEM_MEMBERS);
        expect(res.text).not.toMatch(/api_keys|relation|does not exist|select|from|QueryFailed|stack|\.ts\b|node_modules|at \w+ \(/i);
      } finally {
        await t.db.superuser('ALTER TABLE api_keys_hidden RENAME TO api_keys');
      }
      await t.http().get('/api/v1/api-keys').set(bearer(adminToken)).expect(200);
    });

    it('leaks no personal data from a failed write, and rolls the write back', async () => {
      const email = `pii-${randomUUID()}@example.test`;
      await t.db.superuser(`CREATE FUNCTION explode_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refusing row for %', NEW.email USING DETAIL = 'email=' || NEW.email; END $$`);
      await t.db.superuser('CREATE TRIGGER explode AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION explode_on_insert()');
      const before = { users: await countRows(t, 'users'), audit: await countRows(t, 'audit_log') };
      try {
        const res = await postUser({ email, password: PASSWORD, role: 'legal' });
        const body = expectProblem(res, 500, 'internal');
        expect(Object.keys(body).sort()).toEqual(PROBLEM_MEMBERS);
        expect(res.text).not.toContain(email);
        expect(res.text).not.toContain('pii-');
        expect(res.text).not.toContain(PASSWORD);
        expect(res.text).not.toMatch(/refusing row|explode|trigger/i);
      } finally {
        await t.db.superuser('DROP TRIGGER explode ON users');
        await t.db.superuser('DROP FUNCTION explode_on_insert()');
      }
      expect({ users: await countRows(t, 'users'), audit: await countRows(t, 'audit_log') }).toEqual(before);
    });
  });

  describe('request ids', () => {
    it('echoes a sane X-Request-Id on success and in problems', async () => {
      const id = `trace-${randomUUID()}`;
      const ok = await t.http().get('/api/v1/me').set(bearer(adminToken)).set('X-Request-Id', id).expect(200);
      expect(ok.headers['x-request-id']).toBe(id);
      const problem = await t.http().get('/api/v1/users').set(bearer(legalToken)).set('X-Request-Id', id);
      expect(expectProblem(problem, 403).requestId).toBe(id);
    });

    it('replaces an unusable X-Request-Id with its own', async () => {
      for (const given of ['has spaces and <script>', 'x'.repeat(129), 'new\u00e9line']) {
        const res = await t.http().get('/api/v1/users').set(bearer(legalToken)).set('X-Request-Id', given);
        const body = expectProblem(res, 403);
        expect(body.requestId).not.toBe(given);
        expect(body.requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      }
    });

    it('gives every request its own id when none is sent', async () => {
      const [a, b] = [await t.http().get('/health').expect(200), await t.http().get('/health').expect(200)];
      expect(a.headers['x-request-id']).toEqual(expect.any(String));
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });
  });

  describe('security headers', () => {
    it.each([
      ['a success', () => t.http().get('/api/v1/me').set(bearer(adminToken))],
      ['a 401', () => t.http().get('/api/v1/me')],
      ['a 404', () => t.http().get('/api/v1/nothing-here')],
      ['a 400 for malformed JSON', () => t.http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{')],
      ['a 413', () => t.http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send(JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT_BYTES) }))],
      ['the health check', () => t.http().get('/health')],
    ])('are set on %s', async (_, send) => {
      const res = await send();
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBeDefined();
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(res.headers['referrer-policy']).toBeDefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
    });
  });

  describe('operations', () => {
    it('serves an OpenAPI document listing the routes, without login', async () => {
      const res = await t.http().get('/docs-json').expect(200);
      const doc = res.body as { openapi: string; paths: Record<string, Record<string, unknown>>; components?: { securitySchemes?: Record<string, unknown> } };
      expect(doc.openapi).toMatch(/^3\./);
      const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
      expect(routes).toEqual(expect.arrayContaining([
        'POST /api/v1/auth/login',
        'GET /api/v1/me',
        'GET /api/v1/users',
        'POST /api/v1/users',
        'GET /api/v1/users/{id}',
        'PATCH /api/v1/users/{id}',
        'GET /api/v1/api-keys',
        'POST /api/v1/api-keys',
        'DELETE /api/v1/api-keys/{id}',
        'GET /api/v1/audit',
        'GET /api/v1/audit/verify',
        'GET /health',
        'GET /health/ready',
      ]));
      expect(Object.values(doc.components?.securitySchemes ?? {})).toEqual(expect.arrayContaining([expect.objectContaining({ scheme: 'bearer' })]));
    });

    it('answers /health and /health/ready with 200, without login', async () => {
      expect((await t.http().get('/health').expect(200)).body).toEqual({ status: 'ok' });
      const ready = await t.http().get('/health/ready').expect(200);
      expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
    });
  });
});
