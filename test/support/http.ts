import { JwtService } from '@nestjs/jwt';
import type { Response } from 'supertest';
import { TestApp, testEnv } from './app';

/** The secret every test app signs its tokens with (see testEnv). */
export const TEST_JWT_SECRET = testEnv('postgres://unused/unused').JWT_SECRET;

export const PROBLEM_TYPE = /^urn:custodian:problem:[a-z0-9-]+$/;

export const bearer = (credential: string) => ({ Authorization: `Bearer ${credential}` });

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors?: { field: string; messages: string[] }[];
  [extra: string]: unknown;
}

/**
 * Asserts an RFC 9457 answer: the media type, the status in the line and in the body, and the
 * members every problem of this API carries. Returns the body for further checks.
 */
export function expectProblem(res: Response, status: number, slug?: string): ProblemBody {
  expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  const body = res.body as ProblemBody;
  expect(body.type).toMatch(PROBLEM_TYPE);
  if (slug) expect(body.type).toBe(`urn:custodian:problem:${slug}`);
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  expect(body.title.length).toBeGreaterThan(0);
  expect(typeof body.detail).toBe('string');
  expect(body.detail.length).toBeGreaterThan(0);
  expect(body.instance).toBe(new URL(res.request.url).pathname);
  expect(typeof body.requestId).toBe('string');
  expect(body.requestId.length).toBeGreaterThan(0);
  expect(res.headers['x-request-id']).toBe(body.requestId);
  return body;
}

/** The fields named by a validation problem. */
export function problemFields(res: Response): string[] {
  const errors = (res.body as ProblemBody).errors ?? [];
  for (const e of errors) {
    expect(typeof e.field).toBe('string');
    expect(Array.isArray(e.messages) && e.messages.length > 0 && e.messages.every((m) => typeof m === 'string')).toBe(true);
  }
  return errors.map((e) => e.field);
}

export async function countRows(t: TestApp, table: string): Promise<number> {
  const [row] = await t.db.superuser<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
  return Number(row.n);
}

/** Signs a token the way an attacker or a misconfigured peer might; defaults mirror the app's claims. */
export function signJwt(
  payload: Record<string, unknown>,
  options: { secret?: string; algorithm?: 'HS256' | 'HS384' | 'HS512'; audience?: string; issuer?: string; expiresIn?: number } = {},
): string {
  const jwt = new JwtService({ secret: options.secret ?? TEST_JWT_SECRET });
  return jwt.sign(payload, {
    algorithm: options.algorithm ?? 'HS256',
    audience: options.audience ?? 'custodian-api',
    issuer: options.issuer ?? 'custodian',
    ...(options.expiresIn !== undefined ? { expiresIn: options.expiresIn } : {}),
  });
}

/** An unsigned token (alg "none"): header.payload. with an empty signature. */
export function unsignedJwt(payload: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

export function decodeJwtPart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8')) as Record<string, unknown>;
}
