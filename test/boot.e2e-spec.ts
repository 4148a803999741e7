import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanUp,
  ensureBuilt,
  isListening,
  isRunning,
  postgresServing,
  postmasterPid,
  sleep,
  spawnApp,
  SpawnedApp,
  tempDataDir,
  within,
} from './support/processes';

/**
 * Boot as a user experiences it: the compiled service (`node dist/src/main.js`, built by
 * `npm test`) spawned with its own DATA_DIR, no DATABASE_URL, so it runs its own embedded
 * PostgreSQL. Every spawned process and every database it leaves behind is stopped in afterAll.
 */

async function login(app: SpawnedApp, email: string, password: string): Promise<Response> {
  return fetch(app.url('/api/v1/auth/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
}

async function tokenFor(app: SpawnedApp, email: string, password: string): Promise<string> {
  const res = await login(app, email, password);
  expect(res.status).toBe(200);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

async function me(app: SpawnedApp, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(app.url('/api/v1/me'), { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Runs an app that is expected to fail, watching its port the whole time it lives. */
async function expectRefusedBoot(app: SpawnedApp): Promise<{ code: number | null; portEverOpened: boolean }> {
  let portEverOpened = false;
  let done = false;
  const watching = (async () => {
    while (!done) {
      if (await isListening(app.port)) portEverOpened = true;
      await sleep(25);
    }
  })();
  const exit = await within(app.exited, 20_000);
  done = true;
  await watching;
  if (!exit) throw new Error(`expected the boot to be refused, but the app still runs\n${app.stdout()}\n${app.stderr()}`);
  if (await isListening(app.port)) portEverOpened = true;
  return { code: exit.code, portEverOpened };
}

/** No postgres process serves the folder any more, and it left no postmaster.pid behind. */
function expectNoPostgres(pgDir: string) {
  expect(postgresServing(pgDir)).toEqual([]);
  expect(existsSync(join(pgDir, 'postmaster.pid'))).toBe(false);
}

beforeAll(() => ensureBuilt());
afterAll(() => cleanUp());

describe('boot: a bad environment stops it', () => {
  it('exits with 78, names every bad variable on stderr, and never opens the port or the database', async () => {
    const dataDir = tempDataDir();
    const app = await spawnApp(dataDir, { DATABASE_POOL_SIZE: 'lots', JWT_SECRET: 'short', LOG_LEVEL: 'loud' });
    const { code, portEverOpened } = await expectRefusedBoot(app);

    expect(code).toBe(78);
    expect(app.stderr()).toMatch(/DATABASE_POOL_SIZE/);
    expect(app.stderr()).toMatch(/JWT_SECRET/);
    expect(app.stderr()).toMatch(/LOG_LEVEL/);
    // Variables with good values are not blamed.
    expect(app.stderr()).not.toMatch(/\bPORT\b|DATA_DIR|MASTER_KEY/);
    expect(portEverOpened).toBe(false);
    // The boot stopped before touching the database or generating secrets.
    expect(existsSync(join(dataDir, 'pg'))).toBe(false);
    expect(existsSync(join(dataDir, 'secrets.json'))).toBe(false);
  });

  it('in production refuses to start without DATABASE_URL, JWT_SECRET and MASTER_KEY, naming all three', async () => {
    const dataDir = tempDataDir();
    const app = await spawnApp(dataDir, { NODE_ENV: 'production' });
    const { code, portEverOpened } = await expectRefusedBoot(app);

    expect(code).toBe(78);
    for (const name of ['DATABASE_URL', 'JWT_SECRET', 'MASTER_KEY']) expect(app.stderr()).toContain(name);
    expect(portEverOpened).toBe(false);
    expect(existsSync(join(dataDir, 'pg'))).toBe(false);
    expect(existsSync(join(dataDir, 'secrets.json'))).toBe(false);
  });
});

describe('boot: embedded PostgreSQL, first and second start on one DATA_DIR', () => {
  let dataDir: string;
  let pgDir: string;
  let first: SpawnedApp;
  let password: string;
  let firstToken: string;
  const email = 'admin@custodian.local';

  beforeAll(() => {
    dataDir = tempDataDir();
    pgDir = join(dataDir, 'pg');
  });

  it('first boot creates DATA_DIR/pg, prints a generated admin password exactly once, and that password logs in', async () => {
    // LOG_LEVEL=info so that the structured log is in the output too: the password must not be in it.
    first = await spawnApp(dataDir, { LOG_LEVEL: 'info' });
    await first.ready();

    const printed = [...first.stdout().matchAll(/password:\s*(\S+)/g)].map((m) => m[1]);
    expect(printed).toHaveLength(1);
    password = printed[0];
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(first.stdout()).toContain(email);

    firstToken = await tokenFor(first, email, password);
    const whoami = await me(first, firstToken);
    expect(whoami.status).toBe(200);
    expect(whoami.body).toMatchObject({ email, role: 'admin' });
    expect((await login(first, email, `${password}x`)).status).toBe(401);

    // The data lives in DATA_DIR/pg, served by a postgres process on that folder, not on 5432.
    expect(existsSync(join(pgDir, 'PG_VERSION'))).toBe(true);
    const postmaster = postmasterPid(pgDir);
    expect(postmaster).toBeDefined();
    expect(postgresServing(pgDir)).toEqual([postmaster]);
    const owner = JSON.parse(readFileSync(join(dataDir, 'embedded.json'), 'utf8')) as { pid: number; url: string };
    expect(owner.pid).toBe(first.pid);
    expect(new URL(owner.url).port).not.toBe('5432');

    // Shown once, to the terminal: never in a log line, never on stderr.
    expect(first.stdout().split(password)).toHaveLength(2);
    expect(first.stderr()).not.toContain(password);
    const logLines = first.stdout().split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(password);
  });

  it('SIGINT stops the app and then its database: exit code 0, no postgres left on the folder', async () => {
    expect(first).toBeDefined();
    const postmaster = postmasterPid(pgDir)!;
    expect(isRunning(postmaster)).toBe(true);

    const exit = await first.stop('SIGINT');

    expect(exit).toEqual({ code: 0, signal: null });
    expect(isRunning(postmaster)).toBe(false);
    expectNoPostgres(pgDir);
    expect(existsSync(join(dataDir, 'embedded.json'))).toBe(false);
    expect(await isListening(first.port)).toBe(false);
  });

  it('a second start reuses the data: same admin and password, earlier token still valid, no new password printed', async () => {
    expect(password).toBeDefined();
    const second = await spawnApp(dataDir, { LOG_LEVEL: 'info' });
    await second.ready();

    expect(second.stdout()).not.toMatch(/password:/);
    expect(second.stdout()).not.toMatch(/First boot/i);
    expect(second.stdout()).not.toMatch(/initiali[sz]ed a new PostgreSQL cluster/);
    const token = await tokenFor(second, email, password);
    expect((await me(second, token)).body).toMatchObject({ email, role: 'admin' });
    // The development secrets were kept in DATA_DIR, so a token signed by the first run still works.
    expect((await me(second, firstToken)).status).toBe(200);

    const exit = await second.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expectNoPostgres(pgDir);
  });
});

describe('boot: one service per DATA_DIR, and recovery after kill -9', () => {
  const admin = { email: 'owner@example.test', password: 'a long enough admin password' };
  const creds = { ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password };
  let dataDir: string;
  let pgDir: string;
  let first: SpawnedApp;
  let orphan: number;
  const dpo = { email: 'dpo@example.test', password: 'another long password 42', role: 'dpo' };

  beforeAll(() => {
    dataDir = tempDataDir();
    pgDir = join(dataDir, 'pg');
  });

  it('refuses a second service on a DATA_DIR whose database another live service owns, without disturbing it', async () => {
    first = await spawnApp(dataDir, creds);
    await first.ready();
    const postmaster = postmasterPid(pgDir);
    expect(postmaster).toBeDefined();
    // A row written at run time, to find again after the crash.
    const token = await tokenFor(first, admin.email, admin.password);
    const created = await fetch(first.url('/api/v1/users'), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(dpo),
    });
    expect(created.status).toBe(201);

    const intruder = await spawnApp(dataDir, creds);
    const { code, portEverOpened } = await expectRefusedBoot(intruder);

    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(intruder.stderr()).toContain('another Custodian process');
    expect(intruder.stderr()).toContain(`pid ${first.pid}`);
    expect(portEverOpened).toBe(false);
    // The first service and its database are untouched.
    expect(postmasterPid(pgDir)).toBe(postmaster);
    expect(isRunning(postmaster!)).toBe(true);
    expect((await fetch(first.url('/health/ready'))).status).toBe(200);
    expect((await login(first, dpo.email, dpo.password)).status).toBe(200);
  });

  it('kill -9 of the app leaves its PostgreSQL running as an orphan', async () => {
    expect(first).toBeDefined();
    const postmaster = postmasterPid(pgDir)!;

    const exit = await first.stop('SIGKILL');

    expect(exit.signal).toBe('SIGKILL');
    // This is the situation the next start has to recover from (see ENVIRONMENT.md).
    expect(isRunning(postmaster)).toBe(true);
    expect(postgresServing(pgDir)).toEqual([postmaster]);
    orphan = postmaster;
  });

  it('the next start on that DATA_DIR stops the orphan, serves the same data, and stops cleanly', async () => {
    expect(orphan).toBeDefined();
    const next = await spawnApp(dataDir, creds);
    await next.ready();

    expect(isRunning(orphan)).toBe(false);
    const postmaster = postmasterPid(pgDir);
    expect(postmaster).toBeDefined();
    expect(postmaster).not.toBe(orphan);
    expect(postgresServing(pgDir)).toEqual([postmaster]);
    // Same data: the user created before the crash logs in; no new cluster, no second first-boot admin.
    const token = await tokenFor(next, dpo.email, dpo.password);
    expect((await me(next, token)).body).toMatchObject({ email: dpo.email, role: 'dpo' });
    expect(next.stdout()).not.toMatch(/initiali[sz]ed a new PostgreSQL cluster/);

    const exit = await next.stop('SIGINT');
    expect(exit).toEqual({ code: 0, signal: null });
    expectNoPostgres(pgDir);
  });

  it('starts after both the app and its PostgreSQL were killed (a stale postmaster.pid is left behind)', async () => {
    const app = await spawnApp(dataDir, creds);
    await app.ready();
    const postmaster = postmasterPid(pgDir)!;
    await app.stop('SIGKILL');
    process.kill(postmaster, 'SIGKILL');
    // Wait until the dead postmaster is reaped, as init does at once on a normal machine. (In
    // some sandboxes PID 1 reaps only every second or so; a zombie still answers kill(pid, 0).)
    const deadline = Date.now() + 15_000;
    while (existsSync(`/proc/${postmaster}`) && Date.now() < deadline) await sleep(50);
    expect(existsSync(`/proc/${postmaster}`)).toBe(false);
    expect(postmasterPid(pgDir)).toBe(postmaster); // stale

    const next = await spawnApp(dataDir, creds);
    await next.ready();
    expect(postmasterPid(pgDir)).not.toBe(postmaster);
    expect(postgresServing(pgDir)).toEqual([postmasterPid(pgDir)]);
    expect((await login(next, admin.email, admin.password)).status).toBe(200);

    expect(await next.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expectNoPostgres(pgDir);
  });
});

describe('boot: two services started at the same moment on one fresh DATA_DIR', () => {
  it('exactly one gets the folder; the other is refused without disturbing it', async () => {
    const dataDir = tempDataDir();
    const creds = { ADMIN_EMAIL: 'race@example.test', ADMIN_PASSWORD: 'a long enough admin password' };
    const [a, b] = await Promise.all([spawnApp(dataDir, creds), spawnApp(dataDir, creds)]);
    const outcomes = await Promise.all([a, b].map((app) => app.ready().then(() => 'ready' as const, () => 'refused' as const)));

    expect([...outcomes].sort()).toEqual(['ready', 'refused']);
    const [winner, loser] = outcomes[0] === 'ready' ? [a, b] : [b, a];
    expect((await loser.exited).code).not.toBe(0);
    expect(loser.stderr()).toContain(`another Custodian process (pid ${winner.pid})`);
    expect((await login(winner, creds.ADMIN_EMAIL, creds.ADMIN_PASSWORD)).status).toBe(200);
    expect(postgresServing(join(dataDir, 'pg'))).toHaveLength(1);

    expect(await winner.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expectNoPostgres(join(dataDir, 'pg'));
  });
});
