import { randomBytes } from 'node:crypto';
import { ADMIN, testEnv } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { cleanUp, runCli, SpawnedApp, spawnApp, tempDataDir } from './support/processes';

const GENESIS = '0'.repeat(64);
const WRITES = 40;

interface Written {
  instance: number;
  kind: string;
  status: number;
  id: string;
  requestId: string | null;
}

async function call(app: SpawnedApp, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: unknown; requestId: string | null }> {
  const res = await fetch(app.url(path), {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null, requestId: res.headers.get('x-request-id') };
}

async function login(app: SpawnedApp, email: string, password: string): Promise<string> {
  const res = await call(app, 'POST', '/api/v1/auth/login', undefined, { email, password });
  expect(res.status).toBe(200);
  return (res.body as { accessToken: string }).accessToken;
}

/**
 * Two real app processes on one database, as in a fleet behind a load balancer: the audit chain
 * must stay one chain (no fork, no gap) however their writes interleave.
 */
describe('audit chain written by two app instances at once', () => {
  let db: TestDatabase;
  let apps: SpawnedApp[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = testEnv(db.url, { LOG_LEVEL: 'silent' });
    // Both boot together on an empty database: both race to create the first admin.
    apps = await Promise.all([spawnApp(tempDataDir(), env), spawnApp(tempDataDir(), env)]);
    await Promise.all(apps.map((a) => a.ready()));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop('SIGTERM')));
    await cleanUp();
    await db?.drop();
  }, 30_000);

  it('creates exactly one first-boot admin when both instances boot at once', async () => {
    expect(await db.superuser(`SELECT email, role FROM users`)).toEqual([{ email: ADMIN.email, role: 'admin' }]);
    expect(await db.superuser(`SELECT seq::int, action, actor_type, prev_hash FROM audit_log`)).toEqual([
      { seq: 1, action: 'user.created', actor_type: 'system', prev_hash: GENESIS },
    ]);
  });

  it(`${WRITES} concurrent writes split across both instances leave one gapless chain that verifies`, async () => {
    const tokens = await Promise.all(apps.map((a) => login(a, ADMIN.email, ADMIN.password)));
    const auditorEmail = `auditor-${randomBytes(4).toString('hex')}@example.test`;
    const password = 'a long enough password 123';
    expect((await call(apps[1], 'POST', '/api/v1/users', tokens[1], { email: auditorEmail, password, role: 'auditor' })).status).toBe(201);
    const before = 2;

    // Half user creations (slow: password hashing), half API key creations (fast), so that writes
    // reach the head of the chain both spread out and in a tight burst.
    const written: Written[] = await Promise.all(
      Array.from({ length: WRITES }, async (_, i) => {
        const instance = i % 2;
        const res = i % 4 < 2
          ? await call(apps[instance], 'POST', '/api/v1/users', tokens[instance], { email: `fleet-${i}-${randomBytes(3).toString('hex')}@example.test`, password, role: 'legal' })
          : await call(apps[instance], 'POST', '/api/v1/api-keys', tokens[instance], { name: `fleet ${i}`, role: 'ingest' });
        return { instance, kind: i % 4 < 2 ? 'user.created' : 'api_key.created', status: res.status, id: (res.body as { id?: string })?.id ?? '', requestId: res.requestId };
      }),
    );
    expect(written.map((w) => w.status)).toEqual(Array(WRITES).fill(201));
    expect(written.filter((w) => w.instance === 0)).toHaveLength(WRITES / 2);

    const rows = await db.superuser<{ seq: string; prev_hash: string; hash: string; subject_id: string; request_id: string | null; action: string }>(
      'SELECT seq, prev_hash, hash, subject_id, request_id, action FROM audit_log ORDER BY seq',
    );
    const total = before + WRITES;
    expect(rows).toHaveLength(total);
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // No fork: every entry names a different predecessor, and it is the entry just before it.
    expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(total);
    rows.forEach((r, i) => expect(r.prev_hash).toBe(i === 0 ? GENESIS : rows[i - 1].hash));
    for (const w of written) {
      expect(rows.filter((r) => r.subject_id === w.id).map((r) => [r.action, r.request_id])).toEqual([[w.kind, w.requestId]]);
    }
    // The instances really took turns at the head of the chain rather than one after the other.
    const order = rows.slice(before).map((r) => written.find((w) => w.id === r.subject_id)!.instance);
    const switches = order.filter((inst, i) => i > 0 && inst !== order[i - 1]).length;
    expect(switches).toBeGreaterThan(1);

    const auditor = await login(apps[0], auditorEmail, password);
    for (const app of apps) {
      const verify = await call(app, 'GET', '/api/v1/audit/verify', auditor);
      expect(verify).toMatchObject({ status: 200, body: { ok: true, checked: total, firstBadSeq: null } });
    }
    const cli = await runCli(['audit:verify'], testEnv(db.url));
    expect({ code: cli.code, result: JSON.parse(cli.stdout.trim().split('\n').pop() ?? 'null') as unknown }).toEqual({
      code: 0, result: { ok: true, checked: total, firstBadSeq: null },
    });
  });
});
