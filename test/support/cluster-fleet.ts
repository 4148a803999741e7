import type { TestApp } from './app';
import type { TestDatabase } from './database';
import { SpawnedApp, spawnApp, tempDataDir } from './processes';

/*
 * Helpers for tests that run the compiled service as several processes (a fleet behind a load
 * balancer) and break things under it: plain HTTP against a spawned instance, and the schedule
 * slots a cron expression has in a window of time.
 */

export interface Answer {
  status: number;
  contentType: string | null;
  body: unknown;
  /** The raw text, for answers that are not JSON. */
  text: string;
}

/**
 * One HTTP call to a spawned instance. A connection refused or reset, or no answer within
 * `timeoutMs`, resolves with status 0 (what a load balancer sees of a dead instance).
 */
export async function call(app: SpawnedApp, method: string, path: string, options: { token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<Answer> {
  try {
    const res = await fetch(app.url(path), {
      method,
      headers: {
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    return { status: res.status, contentType: res.headers.get('content-type'), body, text };
  } catch (error) {
    return { status: 0, contentType: null, body: null, text: (error as Error).message };
  }
}

/** `call`, failing the test with the answer when the status is not the expected one. */
export async function expectCall(app: SpawnedApp, expected: number, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<unknown> {
  const res = await call(app, method, path, options);
  if (res.status !== expected) throw new Error(`${method} ${path} answered ${res.status}, expected ${expected}: ${res.text.slice(0, 1000)}`);
  return res.body;
}

export async function loginTo(app: SpawnedApp, email: string, password: string): Promise<string> {
  return ((await expectCall(app, 200, 'POST', '/api/v1/auth/login', { body: { email, password } })) as { accessToken: string }).accessToken;
}

/** Starts `n` instances of the compiled service with the same environment, each with its own DATA_DIR, and waits until all are ready. */
export async function startFleet(n: number, env: Record<string, string>): Promise<SpawnedApp[]> {
  const apps = await Promise.all(Array.from({ length: n }, () => spawnApp(tempDataDir(), env)));
  await Promise.all(apps.map((a) => a.ready(60_000)));
  return apps;
}

/** The registry fixtures take a TestApp only for its database: this lends them one without an app in process. */
export const fixturesOn = (db: TestDatabase): TestApp => ({ db }) as unknown as TestApp;

/** Polls until `condition` returns a value (not undefined), or fails naming `what` after `ms`. */
export async function until<T>(what: string, condition: () => Promise<T | undefined> | T | undefined, ms = 30_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The slots of a node-cron expression (5 fields, or 6 with seconds first; evaluated in UTC) in
 * [from, to]. Understands what the service's schedules use: `*`, `*\/n`, numbers and lists.
 */
export function cronSlots(expression: string, from: Date, to: Date): Date[] {
  const fields = expression.trim().split(/\s+/);
  if (fields.length === 5) fields.unshift('0');
  if (fields.length !== 6) throw new Error(`unsupported cron expression ${expression}`);
  const matchers = fields.map((field) => (value: number) =>
    field.split(',').some((part) => {
      if (part === '*') return true;
      const step = /^\*\/(\d+)$/.exec(part);
      if (step) return value % Number(step[1]) === 0;
      if (/^\d+$/.test(part)) return value === Number(part);
      throw new Error(`unsupported cron field ${part} in ${expression}`);
    }),
  );
  const slots: Date[] = [];
  for (let t = Math.ceil(from.getTime() / 1000) * 1000; t <= to.getTime(); t += 1000) {
    const d = new Date(t);
    const parts = [d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCDay()];
    if (parts.every((v, i) => matchers[i](v))) slots.push(d);
  }
  return slots;
}
