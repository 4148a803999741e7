import { randomBytes, randomUUID } from 'node:crypto';
import type { MatrixCall, Outcome } from '../access-matrix';
import { type Caller, pdf, type World } from './access-world';

/** An id of the right shape that names nothing. */
export const MISSING = randomUUID();

/** One answer, kept whole for the canary and PII checks. */
export interface Answer {
  route: string;
  call: number;
  caller: Caller;
  url: string;
  /** What the caller sent (URL and body), to tell an id it named itself from one that leaked. */
  sent: string;
  status: number;
  contentType: string;
  text: string;
  headers: string;
}

export const isSuccess = (status: number) => status >= 200 && status < 300;

/** Replaces "@name" by the world's resource, "@fresh.x" by this call's fresh one, "{unique}" by a unique value, "{an hour ago}" by that moment. */
export function resolve(value: unknown, world: World, fresh: Record<string, string> = {}): unknown {
  if (typeof value === 'string') {
    if (value === '@missing') return MISSING;
    if (value.startsWith('@fresh.')) {
      const v = fresh[value.slice('@fresh.'.length)];
      if (v === undefined) throw new Error(`${value}: the call has no such fresh value`);
      return v;
    }
    if (value.startsWith('@')) {
      const v = world.refs[value.slice(1)];
      if (v === undefined) throw new Error(`${value}: the world has no such resource`);
      return v;
    }
    if (value === '{an hour ago}') return new Date(Date.now() - 3_600_000).toISOString();
    return value.includes('{unique}') ? value.replaceAll('{unique}', randomBytes(5).toString('hex')) : value;
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, world, fresh));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, world, fresh)]));
  return value;
}

/** The path with its parameters filled in; values are inserted as given (already URL-encoded). */
export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    if (params[name] === undefined) throw new Error(`${path}: no value for :${name}`);
    return params[name];
  });
}


export interface Request {
  method: string;
  url: string;
  query?: Record<string, string>;
  body?: unknown;
  raw?: MatrixCall['raw'];
  accept?: string;
  credential: string | null;
}

export async function send(world: World, r: Request): Promise<{ status: number; contentType: string; text: string; headers: string; json: unknown }> {
  let req = world.t.http()[r.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](r.url);
  if (r.credential) req = req.set('Authorization', `Bearer ${r.credential}`);
  if (r.accept) req = req.set('Accept', r.accept);
  if (r.query) req = req.query(r.query);
  req = req.buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer | string) => chunks.push(Buffer.from(c)));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  });
  const res = r.raw
    ? await req.set('Content-Type', r.raw.contentType).send(r.raw.content === 'pdf' ? pdf('matrix upload') : Buffer.from('{"matrix":"evidence"}'))
    : r.body === undefined ? await req : await req.send(r.body as object);
  const text = (res.body as Buffer).toString('utf8');
  const contentType = String(res.headers['content-type'] ?? '').split(';')[0];
  let json: unknown;
  if (/json/.test(contentType)) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, contentType, text, headers: JSON.stringify(res.headers), json };
}

/**
 * Makes one matrix call as every caller: refused callers first (in parallel), then those expected to succeed, each on
 * its own fresh resource when the call has one. The refused callers are called on the first succeeding caller's, which
 * a refusal must leave as it was for that caller to succeed.
 */
export async function runCall(world: World, route: string, index: number, call: MatrixCall): Promise<Answer[]> {
  const [method, path] = route.split(' ');
  const callers = Object.keys(call.expect) as Caller[];
  const refused = callers.filter((c) => !isSuccess(call.expect[c]));
  const succeeding = callers.filter((c) => isSuccess(call.expect[c]));
  const freshes: Record<string, string>[] = [];
  if (call.fresh) for (let i = 0; i < Math.max(succeeding.length, 1); i++) freshes.push(await world.fresh(call.fresh));
  const shared = freshes[0] ?? {};
  const one = async (caller: Caller, fresh: Record<string, string>): Promise<Answer> => {
    const params = Object.fromEntries(Object.entries(call.params ?? {}).map(([k, v]) => [k, encodeURIComponent(resolve(v, world, fresh) as string)]));
    const url = fillPath(path, params);
    const query = call.query && (resolve(call.query, world, fresh) as Record<string, string>);
    const body = call.body === undefined ? undefined : resolve(call.body, world, fresh);
    const res = await send(world, { method, url, query, body, raw: call.raw, accept: call.accept, credential: world.credentials[caller] });
    return {
      route, call: index, caller, url, sent: `${url} ${JSON.stringify(query ?? {})} ${JSON.stringify(body ?? null)}`,
      status: res.status, contentType: res.contentType, text: res.text, headers: res.headers,
    };
  };
  const answers = await Promise.all(refused.map((c) => one(c, shared)));
  for (const [i, caller] of succeeding.entries()) answers.push(await one(caller, freshes[i] ?? {}));
  return answers;
}

export function describeMismatch(a: Answer, expected: Outcome): string {
  let detail = '';
  try {
    const p = JSON.parse(a.text) as { type?: string; detail?: string };
    detail = p.type ? ` ${p.type}: ${p.detail}` : '';
  } catch {
    detail = '';
  }
  return `${a.route} #${a.call} as ${a.caller}: expected ${expected}, got ${a.status}${detail}`;
}

/** Runs fn over the items, at most `limit` at a time. */
export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
