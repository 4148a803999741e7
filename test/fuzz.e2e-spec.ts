import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { Response } from 'supertest';
import { startTestApp, type TestApp } from './support/app';
import { danglingRefs, type OpenApiDocument, operationsOf, type OperationRef } from './support/fuzz-openapi';
import { describeRequest, type FuzzRequest, requestsFor, send } from './support/fuzz-requests';
import { type DatabaseState, StateReader, stateChanges } from './support/fuzz-state';
import { type AccessRule, accessRules, allows, buildWorld, type World } from './support/fuzz-world';
import { expectProblem, PROBLEM_TYPE, problemFields } from './support/http';
import { startSmtp, type TestSmtp } from './support/smtp';

/*
 * Property-based requests generated from the OpenAPI document for every operation, sent as a
 * caller the route's access rule lets in (and sometimes as one it refuses):
 *   - nothing answers 5xx;
 *   - every 4xx is application/problem+json with type, title, status and detail;
 *   - a 4xx changed nothing: the row count and newest row version of every application table, and
 *     the audit head, are what they were;
 *   - a caller the rule refuses never gets a 2xx, and no body pollutes Object.prototype.
 *
 * Rerun a failure with the line it prints: FUZZ_SEED=<seed> [FUZZ_OPS=… FUZZ_PATH=…] npx jest test/fuzz.e2e-spec.ts
 *   FUZZ_OPS='POST /api/v1/incidents'  only the operations whose "METHOD /path" contains this
 *   FUZZ_PATH=<path>                   with FUZZ_OPS naming one operation: replay just its counterexample
 *   FUZZ_RUNS=200                      runs per operation with a body (default 12; fewer without one)
 *   FUZZ_REPORT=1                      print the answers' statuses per operation
 *   FUZZ_TRACE=/tmp/fuzz-trace.txt     append every request and the start of its answer to a file
 */

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const ONLY = process.env.FUZZ_OPS;
const REPLAY_PATH = process.env.FUZZ_PATH;
const TRACE = process.env.FUZZ_TRACE;
const BODY_LIMIT = '64kb';

/**
 * The one-click acknowledgement link answers the person who clicked it with an HTML page, whatever
 * went wrong (404 forged, 410 used or expired; docs/incidents.md): its 4xx are text/html by design.
 */
const HTML_PAGES = new Set(['GET /api/v1/breach-acknowledgements/{token}', 'POST /api/v1/breach-acknowledgements/{token}']);

/** Tables a route changes on purpose when it refuses: the login throttle counts failed attempts. */
const CHANGED_BY_REFUSALS: Record<string, ReadonlySet<string>> = {
  'POST /api/v1/auth/login': new Set(['login_throttle']),
};

/** Fewer runs where there is less to vary: no body, or nothing but the query string and headers. */
const runsFor = ({ operation }: OperationRef) =>
  operation.requestBody ? RUNS : operation.parameters?.length ? Math.ceil(RUNS * 0.75) : Math.ceil(RUNS * 0.4);

/** The same seed for an operation whether it runs alone or with all the others. */
const seedFor = (key: string) => (SEED + createHash('sha256').update(key).digest().readInt32BE(0)) | 0;

function problemViolations(res: Response): string[] {
  const out: string[] = [];
  if (!/^application\/problem\+json\b/.test(String(res.headers['content-type']))) out.push(`Content-Type is ${String(res.headers['content-type'])}, not application/problem+json`);
  let body = res.body as Record<string, unknown> | undefined;
  if ((!body || !Object.keys(body).length) && res.text) {
    try {
      body = JSON.parse(res.text) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
  }
  if (!body || typeof body !== 'object') return [...out, 'the body is not a JSON object'];
  if (typeof body.type !== 'string' || !PROBLEM_TYPE.test(body.type)) out.push(`type is ${JSON.stringify(body.type)}`);
  if (typeof body.title !== 'string' || !body.title) out.push(`title is ${JSON.stringify(body.title)}`);
  if (body.status !== res.status) out.push(`status in the body is ${JSON.stringify(body.status)}`);
  if (typeof body.detail !== 'string' || !body.detail) out.push(`detail is ${JSON.stringify(body.detail)}`);
  return out;
}

interface Tally {
  statuses: Record<number, number>;
  /** Answers to callers the rule lets in that the guard did not refuse. */
  admitted: number;
  /** Of those, answers from past the validation pipe (the service answered). */
  reached: number;
}

/** Answers that come before a service could: from the body parser, the guard or the validation pipe. */
const NOT_REACHED = new Set([400, 401, 403, 413, 415, 431]);

describe('fuzzing every operation of the OpenAPI document', () => {
  let smtp: TestSmtp;
  let t: TestApp;
  let doc: OpenApiDocument;
  let world: World;
  let rules: Map<string, AccessRule>;
  let state: StateReader;
  const tallies = new Map<string, Tally>();
  const timing = { requests: 0, reads: 0 };

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ JOBS_ENABLED: 'false', SMTP_URL: smtp.url, BODY_LIMIT, PUBLIC_BASE_URL: 'https://custodian.fuzz.example.test' });
    doc = (await t.http().get('/docs-json').expect(200)).body as OpenApiDocument;
    rules = accessRules(t.app);
    world = await buildWorld(t);
    state = new StateReader(t);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('has a document every request can be generated from: no dangling $ref, a rule for every operation', () => {
    expect(danglingRefs(doc)).toEqual([]);
    const ops = operationsOf(doc);
    expect(ops.length).toBeGreaterThan(90);
    expect(ops.filter(({ operation }) => !rules.has(operation.operationId)).map((o) => `${o.method} ${o.path}`)).toEqual([]);
    // Every operation that needs a login has a caller of the world that its rule lets in.
    const unreachable = ops.filter(({ operation }) => {
      const rule = rules.get(operation.operationId)!;
      return !rule.isPublic && !world.callers.some((c) => allows(c, rule));
    });
    expect(unreachable.map((o) => `${o.method} ${o.path}`)).toEqual([]);
  });

  it('notices a change: an updated row, an inserted row and a new audit entry each show', async () => {
    const [customer] = world.idsByResource.customers;
    const before = await state.read();
    await t.db.superuser('UPDATE customers SET legal_name = legal_name WHERE id = $1', [customer]);
    const updated = await state.read();
    expect(stateChanges(before, updated)).toEqual(['customers: rows changed']);
    await t.db.superuser(`INSERT INTO login_throttle (key, attempts, window_started_at) VALUES ('fuzz:self-check', 1, now())`);
    const inserted = await state.read();
    expect(stateChanges(updated, inserted)).toEqual([`login_throttle: ${updated.counts.login_throttle} rows -> ${updated.counts.login_throttle + 1}`]);
    expect(stateChanges(updated, inserted, new Set(['login_throttle']))).toEqual([]);
    const security = world.callers.find((c) => c.name === 'security')!;
    await t.http().post(`/api/v1/incidents/${world.idsByResource.incidents[0]}/comments`).set('Authorization', security.authorization!).send({ text: 'Self-check of the fuzzer.' }).expect(200);
    const audited = stateChanges(inserted, await state.read());
    expect(audited).toContain(`audit head: ${inserted.auditHead!.split(' ')[0]} -> ${Number(inserted.auditHead!.split(' ')[0]) + 1}`);
  });

  describe('what fuzzing found, kept as fixed examples', () => {
    it('a URL longer than Node\'s HTTP parser takes answers 431 problem+json, not an empty 431', async () => {
      const res = await t.http().get(`/api/v1/users?cursor=${'a'.repeat(20_000)}`);
      expect(res.status).toBe(431);
      expect(problemViolations(res)).toEqual([]);
    });

    it('a lone surrogate in a JSON string (here an e-mail address) is a 400, not a 500 from the e-mail validator', async () => {
      const admin = world.callers.find((c) => c.name === 'admin')!;
      const before = await state.read();
      for (const [path, body, authorization] of [
        ['/api/v1/auth/login', '{"email":"\\udfff","password":"a"}', undefined],
        ['/api/v1/users', '{"email":"x\\ud800@example.test","password":"a long enough password","role":"legal"}', admin.authorization],
        ['/public/subscriptions', '{"email":"\\udfff@example.test"}', undefined],
      ] as const) {
        const req = t.http().post(path).set('Content-Type', 'application/json');
        if (authorization) req.set('Authorization', authorization);
        expectProblem(await req.send(body), 400, 'bad-request');
      }
      expect(stateChanges(before, await state.read(), CHANGED_BY_REFUSALS['POST /api/v1/auth/login'])).toEqual([]);
    });

    it.each([
      ['PATCH', ''],
      ['POST', '/follow-ups'],
    ])('%s /breach-notifications/:id%s without sections is a 400 naming them, not a 500', async (method, tail) => {
      const [notification] = world.idsByResource['breach-notifications'];
      const dpo = world.callers.find((c) => c.name === 'dpo')!;
      const before = await state.read();
      for (const body of [undefined, {}, { sections: null }]) {
        const req = t.http()[method.toLowerCase() as 'patch' | 'post'](`/api/v1/breach-notifications/${notification}${tail}`).set('Authorization', dpo.authorization!);
        const res = await (body === undefined ? req : req.send(body));
        expectProblem(res, 400, 'validation');
        expect(problemFields(res)).toEqual(['sections']);
      }
      expect(stateChanges(before, await state.read())).toEqual([]);
    });
  });

  it('no 5xx; every 4xx is problem+json and changes nothing; a refused caller never succeeds', async () => {
    const failures: string[] = [];
    const selected = operationsOf(doc).filter(({ method, path }) => !ONLY || `${method.toUpperCase()} ${path}`.includes(ONLY));
    expect(selected.length).toBeGreaterThan(0);
    const timed = async <T>(what: keyof typeof timing, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        timing[what] += performance.now() - started;
      }
    };
    let before: DatabaseState = await state.read();
    for (const op of selected) {
      const key = `${op.method.toUpperCase()} ${op.path}`;
      const rule = rules.get(op.operation.operationId)!;
      const tally: Tally = { statuses: {}, admitted: 0, reached: 0 };
      tallies.set(key, tally);
      const property = fc.asyncProperty(requestsFor(doc, op, rule, world), async (req: FuzzRequest) => {
        const res = await timed('requests', () => send(t, req));
        if (TRACE) appendFileSync(TRACE, `${res.status} ${describeRequest(req).replace(/\n ?/g, ' ')}\n    -> ${res.text?.slice(0, 300)}\n`);
        const admitted = rule.isPublic || allows(world.callers.find((c) => c.name === req.caller)!, rule);
        tally.statuses[res.status] = (tally.statuses[res.status] ?? 0) + 1;
        if (admitted && res.status !== 401 && res.status !== 403) tally.admitted += 1;
        if (admitted && !NOT_REACHED.has(res.status)) tally.reached += 1;

        const problems: string[] = [];
        if (res.status >= 500) problems.push(`answered ${res.status}: ${res.text.slice(0, 300)}`);
        if (!admitted && res.status < 400) problems.push(`a caller the rule refuses (${req.caller}) got ${res.status}`);
        // The app runs in this process: a body with a __proto__ key must not have reached Object.prototype.
        if (['polluted', 'isAdmin', 'admin'].some((k) => k in Object.prototype)) problems.push('Object.prototype was polluted');
        const after = await timed('reads', () => state.read());
        if (res.status >= 400 && res.status < 500) {
          // A page route still refuses a malformed body with problem+json, before its handler runs.
          const page = HTML_PAGES.has(key) && /^text\/html\b/.test(String(res.headers['content-type']));
          if (!page) problems.push(...problemViolations(res).map((v) => `${res.status}: ${v}`));
          problems.push(...stateChanges(before, after, CHANGED_BY_REFUSALS[key]).map((c) => `${res.status} but the database changed: ${c}`));
        }
        before = after;
        if (problems.length) throw new Error(problems.join('\n'));
      });
      const details = await fc.check(property, {
        seed: seedFor(key), numRuns: runsFor(op), interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false,
        ...(REPLAY_PATH && ONLY ? { path: REPLAY_PATH } : {}),
      });
      if (details.failed) {
        failures.push([
          `${key} (${op.operation.operationId}) failed after ${details.numRuns} runs, ${details.numShrinks} shrinks`,
          `  rerun: FUZZ_SEED=${SEED} FUZZ_OPS='${key}' FUZZ_PATH='${details.counterexamplePath}' npx jest test/fuzz.e2e-spec.ts -t 'no 5xx'`,
          `  request: ${details.counterexample ? describeRequest(details.counterexample[0]).replace(/\n/g, '\n  ') : '(none)'}`,
          `  ${String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance).replace(/\n/g, '\n  ')}`,
        ].join('\n'));
      }
    }
    if (process.env.FUZZ_REPORT) {
      const lines = [...tallies].map(([key, { statuses, reached }]) => `${key.padEnd(72)} reached ${String(reached).padStart(3)}  ${JSON.stringify(statuses)}`);
      console.log(`fuzz seed ${SEED}, ${RUNS} runs per operation; ${Math.round(timing.requests)} ms in requests, ${Math.round(timing.reads)} ms reading the database\n${lines.join('\n')}`);
    }
    expect(failures).toEqual([]);
  }, 240_000);

  it('got the generated requests past the guard of every operation, and past validation for most', () => {
    if (ONLY) return;
    expect(tallies.size).toBe(operationsOf(doc).length); // it runs after the fuzzing above
    const shown = (entries: [string, Tally][]) => entries.map(([key, tally]) => `${key} ${JSON.stringify(tally.statuses)}`);
    // Every operation was called by a caller its rule lets in, and that caller was let in.
    expect(shown([...tallies].filter(([, tally]) => tally.admitted === 0))).toEqual([]);
    // Cross-field rules the document cannot express (customerId only for the customer role, one
    // of subprocessorIds or internalSystems…) refuse some generated bodies; most still get through.
    const unreached = [...tallies].filter(([, tally]) => tally.reached === 0);
    const tooMany = unreached.length > Math.floor(tallies.size / 10);
    expect(tooMany ? shown(unreached) : []).toEqual([]);
  });
});
