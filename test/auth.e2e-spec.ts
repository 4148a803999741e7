import { randomUUID } from 'node:crypto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { until } from './support/cluster-fleet';
import { bearer, decodeJwtPart, expectProblem, ProblemBody, signJwt, unsignedJwt } from './support/http';
import { createCustomer } from './support/fixtures';

const PASSWORD = 'a long enough password 123';

describe('authentication', () => {
  const TTL = 120;
  let t: TestApp;
  let adminToken: string;
  let adminId: string;

  beforeAll(async () => {
    t = await startTestApp({ JWT_TTL_SECONDS: String(TTL) });
    adminToken = await login(t, ADMIN.email, ADMIN.password);
    adminId = ((await t.http().get('/api/v1/me').set(bearer(adminToken)).expect(200)).body as { id: string }).id;
  });
  afterAll(() => t.close());

  describe('first boot', () => {
    it('created exactly one admin from ADMIN_EMAIL / ADMIN_PASSWORD, hashed with argon2id at OWASP parameters, and audited it', async () => {
      const users = await t.db.superuser<{ id: string; email: string; role: string; disabled: boolean; password_hash: string }>(
        'SELECT id, email, role, disabled, password_hash FROM users',
      );
      expect(users).toHaveLength(1);
      expect(users[0]).toMatchObject({ id: adminId, email: ADMIN.email, role: 'admin', disabled: false });
      expect(users[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=1\$/);
      const [, m, tc] = /m=(\d+),t=(\d+)/.exec(users[0].password_hash)!;
      expect(Number(m)).toBeGreaterThanOrEqual(19 * 1024);
      expect(Number(tc)).toBeGreaterThanOrEqual(2);
      expect(users[0].password_hash).not.toContain(ADMIN.password);

      const [entry] = await t.db.superuser<{ seq: string; actor_type: string; action: string; subject_id: string; changes: Record<string, unknown> }>(
        'SELECT seq, actor_type, action, subject_id, changes FROM audit_log ORDER BY seq LIMIT 1',
      );
      expect(entry).toMatchObject({ seq: '1', actor_type: 'system', action: 'user.created', subject_id: adminId });
      expect(JSON.stringify(entry.changes)).not.toContain(ADMIN.password);
    });

    it('lets the first-boot admin log in and see itself', async () => {
      const me = await t.http().get('/api/v1/me').set(bearer(adminToken)).expect(200);
      expect(me.body).toEqual({ id: adminId, kind: 'user', role: 'admin', email: ADMIN.email, customerId: null });
    });

    it('accepts the e-mail in any letter case', async () => {
      await t.http().post('/api/v1/auth/login').send({ email: ADMIN.email.toUpperCase(), password: ADMIN.password }).expect(200);
    });
  });

  describe('login', () => {
    it('returns a Bearer HS256 JWT with the configured expiry and audience', async () => {
      const res = await t.http().post('/api/v1/auth/login').send({ email: ADMIN.email, password: ADMIN.password }).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(Object.keys(res.body as object).sort()).toEqual(['accessToken', 'expiresIn', 'tokenType']);
      const body = res.body as { accessToken: string; tokenType: string; expiresIn: number };
      expect(body.tokenType).toBe('Bearer');
      expect(body.expiresIn).toBe(TTL);
      expect(body.accessToken.split('.')).toHaveLength(3);
      expect(decodeJwtPart(body.accessToken, 0)).toMatchObject({ alg: 'HS256' });
      const claims = decodeJwtPart(body.accessToken, 1) as { sub: string; aud: string; iat: number; exp: number };
      expect(claims.sub).toBe(adminId);
      expect(claims.aud).toBe('custodian-api');
      expect(claims.exp - claims.iat).toBe(TTL);
      expect(Math.abs(claims.iat - Date.now() / 1000)).toBeLessThan(30);
      // The token carries no password material.
      expect(JSON.stringify(claims)).not.toContain(ADMIN.password);
    });

    it('answers an unknown e-mail exactly like a wrong password', async () => {
      const wrongPassword = await t.http().post('/api/v1/auth/login').send({ email: ADMIN.email, password: 'not the password at all' });
      const unknownEmail = await t.http().post('/api/v1/auth/login').send({ email: 'nobody@example.test', password: 'not the password at all' });
      for (const res of [wrongPassword, unknownEmail]) expectProblem(res, 401, 'unauthorized');
      const comparable = (res: typeof wrongPassword) => {
        const { requestId: _requestId, instance: _instance, ...rest } = res.body as ProblemBody;
        return { status: res.status, contentType: res.headers['content-type'], wwwAuthenticate: res.headers['www-authenticate'], body: rest };
      };
      expect(comparable(unknownEmail)).toEqual(comparable(wrongPassword));
      expect(JSON.stringify(unknownEmail.body)).not.toContain('nobody@example.test');
    });

    it('answers a disabled account exactly like a wrong password', async () => {
      const email = `disabled-login-${randomUUID()}@example.test`;
      const user = await createUser(t, adminToken, { email, role: 'legal', password: PASSWORD });
      await t.http().patch(`/api/v1/users/${user.id}`).set(bearer(adminToken)).send({ disabled: true }).expect(200);
      const disabled = await t.http().post('/api/v1/auth/login').send({ email, password: PASSWORD });
      const wrong = await t.http().post('/api/v1/auth/login').send({ email: ADMIN.email, password: 'not the password at all' });
      expectProblem(disabled, 401, 'unauthorized');
      expect((disabled.body as ProblemBody).detail).toBe((wrong.body as ProblemBody).detail);
      expect((disabled.body as ProblemBody).title).toBe((wrong.body as ProblemBody).title);
    });
  });

  describe('bearer tokens', () => {
    const now = () => Math.floor(Date.now() / 1000);

    it('accepts a token signed like the app signs them (control for the refusals below)', async () => {
      const token = signJwt({ sub: adminId }, { expiresIn: 60 });
      await t.http().get('/api/v1/me').set(bearer(token)).expect(200);
    });

    it('refuses a token it accepted before, once the token expires', async () => {
      const expiresAt = now() + 2;
      const token = signJwt({ sub: adminId, iat: now(), exp: expiresAt });
      await t.http().get('/api/v1/me').set(bearer(token)).expect(200);
      await new Promise((r) => setTimeout(r, expiresAt * 1000 - Date.now() + 20));
      expectProblem(await t.http().get('/api/v1/me').set(bearer(token)), 401, 'unauthorized');
    });

    const forged: [string, () => string][] = [
      ['signed with another secret', () => signJwt({ sub: adminId }, { secret: 'another-secret-that-is-long-enough-9876543210', expiresIn: 60 })],
      ['with alg none', () => unsignedJwt({ sub: adminId, aud: 'custodian-api', iss: 'custodian', iat: now(), exp: now() + 60 })],
      ['with another algorithm than HS256 (HS512, right secret)', () => signJwt({ sub: adminId }, { algorithm: 'HS512', expiresIn: 60 })],
      ['for another audience', () => signJwt({ sub: adminId }, { audience: 'some-other-api', expiresIn: 60 })],
      ['from another issuer', () => signJwt({ sub: adminId }, { issuer: 'someone-else', expiresIn: 60 })],
      ['that expired', () => signJwt({ sub: adminId, iat: now() - 600, exp: now() - 300 })],
      ['without an expiry', () => signJwt({ sub: adminId })],
      ['for a user that does not exist', () => signJwt({ sub: randomUUID() }, { expiresIn: 60 })],
      ['whose subject is not a uuid', () => signJwt({ sub: "' OR 1=1 --" }, { expiresIn: 60 })],
      ['with a tampered payload', () => {
        const [h, , s] = signJwt({ sub: randomUUID() }, { expiresIn: 60 }).split('.');
        const payload = Buffer.from(JSON.stringify({ sub: adminId, aud: 'custodian-api', iss: 'custodian', iat: now(), exp: now() + 60 })).toString('base64url');
        return `${h}.${payload}.${s}`;
      }],
      ['that is not a JWT at all', () => 'not-a-token'],
    ];

    it.each(forged)('refuses a token %s with 401 problem+json and WWW-Authenticate', async (_, make) => {
      const res = await t.http().get('/api/v1/me').set(bearer(make()));
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it.each([
      ['no Authorization header', undefined],
      ['an empty bearer', 'Bearer '],
      ['another scheme', `Basic ${Buffer.from(`${ADMIN.email}:${ADMIN.password}`).toString('base64')}`],
    ])('refuses a request with %s with 401 problem+json and WWW-Authenticate', async (_, header) => {
      const req = t.http().get('/api/v1/me');
      if (header !== undefined) req.set('Authorization', header);
      const res = await req;
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });
  });

  describe('changes to a user take effect on the very next request', () => {
    it('locks a disabled user out even with a still-valid token, and lets them back in once enabled', async () => {
      const user = await createUser(t, adminToken, { email: `lockout-${randomUUID()}@example.test`, role: 'legal' });
      await t.http().get('/api/v1/me').set(bearer(user.token)).expect(200);

      await t.http().patch(`/api/v1/users/${user.id}`).set(bearer(adminToken)).send({ disabled: true }).expect(200);
      const refused = await t.http().get('/api/v1/me').set(bearer(user.token));
      expectProblem(refused, 401, 'unauthorized');
      expect(refused.headers['www-authenticate']).toMatch(/^Bearer/);

      await t.http().patch(`/api/v1/users/${user.id}`).set(bearer(adminToken)).send({ disabled: false }).expect(200);
      await t.http().get('/api/v1/me').set(bearer(user.token)).expect(200);
    });

    it('applies a role change (legal → auditor → legal) to the next request with the same token', async () => {
      const user = await createUser(t, adminToken, { email: `role-change-${randomUUID()}@example.test`, role: 'legal' });
      expectProblem(await t.http().get('/api/v1/audit').set(bearer(user.token)), 403, 'forbidden');

      await t.http().patch(`/api/v1/users/${user.id}`).set(bearer(adminToken)).send({ role: 'auditor' }).expect(200);
      const allowed = await t.http().get('/api/v1/audit').set(bearer(user.token)).expect(200);
      expect(Array.isArray((allowed.body as { items: unknown[] }).items)).toBe(true);
      expect((await t.http().get('/api/v1/me').set(bearer(user.token)).expect(200)).body).toMatchObject({ role: 'auditor' });

      await t.http().patch(`/api/v1/users/${user.id}`).set(bearer(adminToken)).send({ role: 'legal' }).expect(200);
      expectProblem(await t.http().get('/api/v1/audit').set(bearer(user.token)), 403, 'forbidden');
    });

    it('refuses the token of a user removed behind the application\'s back, as soon as PostgreSQL tells it (under a second)', async () => {
      const user = await createUser(t, adminToken, { email: `removed-${randomUUID()}@example.test`, role: 'security' });
      await t.http().get('/api/v1/me').set(bearer(user.token)).expect(200);
      await t.db.superuser('DELETE FROM users WHERE id = $1', [user.id]);
      // Another connection's change reaches this instance through a notification (see ReadCache), not with the statement's answer.
      const refused = await until('the token refused', async () => {
        const res = await t.http().get('/api/v1/me').set(bearer(user.token));
        return res.status === 200 ? undefined : res;
      }, 1000, 10);
      expectProblem(refused, 401, 'unauthorized');
    });
  });

  describe('route access by role', () => {
    type Caller = 'admin' | 'dpo' | 'legal' | 'security' | 'auditor' | 'customer' | 'ingest key' | 'auditor key';
    const CALLERS: Caller[] = ['admin', 'dpo', 'legal', 'security', 'auditor', 'customer', 'ingest key', 'auditor key'];
    const credentials = {} as Record<Caller, string>;
    /** A user the matrix reads and changes by id, and how many allowed changes it has had. */
    let target = '';
    let patchesAllowed = 0;

    beforeAll(async () => {
      credentials.admin = adminToken;
      const people = await Promise.all((['dpo', 'legal', 'security', 'auditor', 'customer'] as const).map(async (role) =>
        createUser(t, adminToken, { email: `matrix-${role}-${randomUUID()}@example.test`, role, ...(role === 'customer' ? { customerId: (await createCustomer(t)).id } : {}) })
          .then((u) => [role, u.token] as const)));
      for (const [role, token] of people) credentials[role] = token;
      target = (await createUser(t, adminToken, { email: `matrix-target-${randomUUID()}@example.test`, role: 'security' })).id;
      for (const role of ['ingest', 'auditor'] as const) {
        const res = await t.http().post('/api/v1/api-keys').set(bearer(adminToken)).send({ name: `matrix ${role}`, role }).expect(201);
        credentials[`${role} key`] = (res.body as { key: string }).key;
      }
    });

    interface RouteCase {
      method: 'get' | 'post' | 'patch';
      path: string;
      /** The real path, for routes with an id. */
      url?: () => string;
      allowed: Caller[];
      body?: () => Record<string, unknown>;
      created?: (body: Record<string, unknown>) => Promise<boolean>;
    }
    const ROUTES: RouteCase[] = [
      // Access review is audit evidence: auditors may read (never change) users and API keys.
      { method: 'get', path: '/api/v1/users', allowed: ['admin', 'auditor', 'auditor key'] },
      {
        method: 'post', path: '/api/v1/users', allowed: ['admin'],
        body: () => ({ email: `made-by-matrix-${randomUUID()}@example.test`, password: PASSWORD, role: 'legal' }),
        created: async (body) => (await t.db.superuser('SELECT 1 FROM users WHERE email = $1', [body.email])).length > 0,
      },
      { method: 'get', path: '/api/v1/users/:id', url: () => `/api/v1/users/${target}`, allowed: ['admin', 'auditor', 'auditor key'] },
      {
        method: 'patch', path: '/api/v1/users/:id', url: () => `/api/v1/users/${target}`, allowed: ['admin'],
        body: () => ({ password: `changed by matrix ${randomUUID()}` }),
        // The password changed only when the call was allowed.
        created: async () => (await t.db.superuser<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE subject_id = $1 AND action = 'user.updated'`, [target]))[0].n > patchesAllowed,
      },
      { method: 'get', path: '/api/v1/api-keys', allowed: ['admin', 'auditor', 'auditor key'] },
      {
        method: 'post', path: '/api/v1/api-keys', allowed: ['admin'],
        body: () => ({ name: `made-by-matrix-${randomUUID()}`, role: 'ingest' }),
        created: async (body) => (await t.db.superuser('SELECT 1 FROM api_keys WHERE name = $1', [body.name])).length > 0,
      },
      { method: 'get', path: '/api/v1/audit', allowed: ['auditor', 'dpo', 'auditor key'] },
      { method: 'get', path: '/api/v1/audit/verify', allowed: ['auditor', 'dpo', 'auditor key'] },
      { method: 'get', path: '/api/v1/me', allowed: CALLERS },
    ];
    const cases = ROUTES.flatMap((route) => CALLERS.map((caller) => ({ ...route, caller, allow: route.allowed.includes(caller) })));

    it.each(cases.map((c) => [`${c.method.toUpperCase()} ${c.path}`, c.caller, c.allow ? 'allowed (2xx)' : 'refused (403)', c] as const))(
      '%s as %s: %s',
      async (_route, caller, _outcome, c) => {
        const body = c.body?.();
        const req = t.http()[c.method](c.url ? c.url() : c.path).set(bearer(credentials[caller]));
        const res = await (body ? req.send(body) : req);
        if (c.allow) {
          expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: c.method === 'post' ? 201 : 200 });
          expect(res.headers['content-type']).toMatch(/^application\/json/);
        } else {
          expectProblem(res, 403, 'forbidden');
        }
        if (body && c.created) expect(await c.created(body)).toBe(c.allow);
        if (c.method === 'patch' && c.allow) patchesAllowed++;
      },
    );
  });
});

describe('login throttling', () => {
  const WINDOW = 600;
  const MAX_ACCOUNT = 3;
  const MAX_ADDRESS = 5;
  let t: TestApp;
  let adminToken: string;
  let addressCounter = 0;
  // One proxy hop is trusted, so each test can act from its own client address.
  const newAddress = () => `198.51.100.${++addressCounter}`;

  beforeAll(async () => {
    t = await startTestApp({
      LOGIN_MAX_FAILURES_PER_ACCOUNT: String(MAX_ACCOUNT),
      LOGIN_MAX_FAILURES_PER_ADDRESS: String(MAX_ADDRESS),
      LOGIN_THROTTLE_WINDOW_SECONDS: String(WINDOW),
      TRUST_PROXY_HOPS: '1',
    });
    adminToken = await login(t, ADMIN.email, ADMIN.password);
  });
  afterAll(() => t.close());

  const attempt = (email: string, password: string, address: string) =>
    t.http().post('/api/v1/auth/login').set('X-Forwarded-For', address).send({ email, password });

  const newUser = async () => {
    const email = `throttle-${randomUUID()}@example.test`;
    await createUser(t, adminToken, { email, role: 'legal', password: PASSWORD });
    return email;
  };

  function expectThrottled(res: Awaited<ReturnType<typeof attempt>>) {
    const body = expectProblem(res, 429, 'too-many-requests');
    const retryAfter = res.headers['retry-after'];
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(WINDOW);
    expect(body.retryAfterSeconds).toBe(Number(retryAfter));
    expect(res.body).not.toHaveProperty('accessToken');
  }

  it(`throttles an account after ${MAX_ACCOUNT} failures, even with the right password`, async () => {
    const email = await newUser();
    const address = newAddress();
    for (let i = 0; i < MAX_ACCOUNT; i++) expectProblem(await attempt(email, 'wrong password here', address), 401, 'unauthorized');
    expectThrottled(await attempt(email, PASSWORD, address));
    expectThrottled(await attempt(email, 'wrong password here', address));
  });

  it('counts an account\'s failures across client addresses', async () => {
    const email = await newUser();
    for (let i = 0; i < MAX_ACCOUNT; i++) expectProblem(await attempt(email, 'wrong password here', newAddress()), 401, 'unauthorized');
    expectThrottled(await attempt(email, PASSWORD, newAddress()));
  });

  it('throttles one account without affecting another', async () => {
    const [locked, other] = [await newUser(), await newUser()];
    const address = newAddress();
    for (let i = 0; i < MAX_ACCOUNT; i++) await attempt(locked, 'wrong password here', address);
    expectThrottled(await attempt(locked, PASSWORD, address));
    await attempt(other, PASSWORD, address).expect(200);
  });

  it('throttles unknown e-mails the same way, so a 429 does not reveal whether an account exists', async () => {
    const address = newAddress();
    const email = `nobody-${randomUUID()}@example.test`;
    for (let i = 0; i < MAX_ACCOUNT; i++) expectProblem(await attempt(email, 'wrong password here', address), 401, 'unauthorized');
    expectThrottled(await attempt(email, 'wrong password here', address));
  });

  it('resets an account\'s counter after a successful login', async () => {
    const email = await newUser();
    const address = newAddress();
    for (let i = 0; i < MAX_ACCOUNT - 1; i++) expectProblem(await attempt(email, 'wrong password here', address), 401, 'unauthorized');
    await attempt(email, PASSWORD, address).expect(200);
    // Without the reset, the first of these would already be over the limit.
    for (let i = 0; i < MAX_ACCOUNT; i++) expectProblem(await attempt(email, 'wrong password here', address), 401, 'unauthorized');
    expectThrottled(await attempt(email, PASSWORD, address));
  });

  it(`throttles one client address after ${MAX_ADDRESS} failures across different e-mails, and only that address`, async () => {
    const address = newAddress();
    for (let i = 0; i < MAX_ADDRESS; i++) {
      // Each e-mail fails once only, far below the per-account limit.
      expectProblem(await attempt(`spray-${i}-${randomUUID()}@example.test`, 'wrong password here', address), 401, 'unauthorized');
    }
    const email = await newUser();
    expectThrottled(await attempt(email, PASSWORD, address));
    expectThrottled(await attempt(ADMIN.email, ADMIN.password, address));
    await attempt(email, PASSWORD, newAddress()).expect(200);
  });

  it('lets the account in again once the window has passed', async () => {
    const email = await newUser();
    const address = newAddress();
    for (let i = 0; i < MAX_ACCOUNT; i++) await attempt(email, 'wrong password here', address);
    expectThrottled(await attempt(email, PASSWORD, address));
    await t.db.superuser(`UPDATE login_throttle SET window_started_at = window_started_at - make_interval(secs => $1)`, [WINDOW + 1]);
    await attempt(email, PASSWORD, address).expect(200);
  });

  it('keeps the throttle table free of e-mail addresses', async () => {
    const rows = await t.db.superuser<{ key: string }>('SELECT key FROM login_throttle');
    expect(rows.length).toBeGreaterThan(0);
    for (const { key } of rows) expect(key).not.toMatch(/@/);
  });
});
