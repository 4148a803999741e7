import { MATRIX, MATRIX_MSISDN, type MatrixCall } from './access-matrix';
import { type Answer, describeMismatch, fillPath, inParallel, isSuccess, MISSING, resolve, runCall, send } from './support/access-calls';
import { registeredRoutes } from './support/access-routes';
import { buildWorld, type Caller, type World } from './support/access-world';
import { startTestApp, type TestApp } from './support/app';
import { countRows, expectProblem, problemFields } from './support/http';
import type { Response } from 'supertest';
import { startSmtp, type TestSmtp } from './support/smtp';

/*
 * Issue 6, access matrix: every registered route × every kind of caller answers as
 * test/access-matrix.ts says, against customers A and B built through the API; nothing of B
 * reaches a caller outside B, and no phone number or message body leaves the audited PII routes.
 */

/** Callers that must learn nothing about customer B. */
const OUTSIDE_B: Caller[] = ['anonymous', 'customerA', 'ingest'];
/** The audited break-glass routes: the only ones that may answer with decrypted phone numbers and bodies. */
const PII_ROUTES = ['POST /api/v1/messages/:id/pii', 'GET /api/v1/data-subject-requests/:id/export'];
/** The one-click acknowledgement link answers a person's browser with a page, whatever went wrong. */
const HTML_ROUTES = ['GET /api/v1/breach-acknowledgements/:token', 'POST /api/v1/breach-acknowledgements/:token'];

describe('access matrix: every route × every caller', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let world: World;
  const answers: Answer[] = [];

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false' });
    world = await buildWorld(t, smtp);
    // Routes in parallel, a few at a time; the calls of one route in order.
    await inParallel(Object.entries(MATRIX), 4, async ([route, calls]) => {
      for (const [index, call] of calls.entries()) answers.push(...(await runCall(world, route, index, call)));
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('names every route the application registers, and no other', () => {
    const found = registeredRoutes(t.app);
    expect(found.unmatched).toEqual([]);
    const registered = found.routes.map((r) => r.route).sort();
    const named = Object.keys(MATRIX).sort();
    expect({ missingFromMatrix: registered.filter((r) => !named.includes(r)), notRegistered: named.filter((r) => !registered.includes(r)) })
      .toEqual({ missingFromMatrix: [], notRegistered: [] });
  });

  it('every call answers every caller with the status the matrix names', () => {
    const mismatches = answers
      .filter((a) => a.status !== MATRIX[a.route][a.call].expect[a.caller])
      .map((a) => describeMismatch(a, MATRIX[a.route][a.call].expect[a.caller]));
    expect(mismatches).toEqual([]);
    expect(answers.length).toBeGreaterThan(Object.keys(MATRIX).length * 10);
    // A 2xx is the real thing: the ingest key's record was stored, the DPO's export holds B's messages.
    const ingested = answers.find((a) => a.route === 'POST /api/v1/messages/batch' && a.caller === 'ingest')!;
    expect((JSON.parse(ingested.text) as { counts: { stored: number } }).counts.stored).toBe(1);
    const exported = answers.find((a) => a.route === 'GET /api/v1/data-subject-requests/:id/export' && a.call === 1 && a.caller === 'dpo')!;
    expect(exported.text).toContain(world.pii.bodyMarkers[1]);
  });

  it('every refusal is problem+json (an HTML page on the public pages people open in a browser), never a 5xx', () => {
    const wrong = answers.filter((a) => !isSuccess(a.status)).filter((a) => {
      if (a.status >= 500) return true;
      return a.contentType !== (HTML_ROUTES.includes(a.route) ? 'text/html' : 'application/problem+json');
    });
    expect(wrong.map((a) => `${a.route} #${a.call} as ${a.caller}: ${a.status} ${a.contentType}`)).toEqual([]);
  });

  it('B\'s data is really there: the callers allowed to see it find B\'s canary', () => {
    const canary = world.canaryB.toLowerCase();
    const blind = answers.filter((a) => MATRIX[a.route][a.call].showsB?.includes(a.caller) && !a.text.toLowerCase().includes(canary));
    expect(blind.map((a) => `${a.route} #${a.call} as ${a.caller} (${a.status})`)).toEqual([]);
    // The canary is in every kind of thing B has: the checks below would catch any of them.
    expect(answers.filter((a) => a.text.toLowerCase().includes(canary)).length).toBeGreaterThan(50);
  });

  it('no answer to a caller outside B (anonymous, customer A, the ingest key) contains B\'s canary or an id of B\'s it did not ask about', () => {
    const canary = world.canaryB.toLowerCase();
    const bIds = Object.entries(world.refs).filter(([name, v]) => name.startsWith('B.') && /^[0-9a-f-]{36}$/.test(v)).map(([, v]) => v);
    expect(bIds.length).toBeGreaterThan(10);
    const leaks = answers.filter((a) => OUTSIDE_B.includes(a.caller)).flatMap((a) => {
      const seen = `${a.text}\n${a.headers}`.toLowerCase();
      // The ingest key may ask which sub-processors carry B's traffic: the answer names B's DPA, never its contents.
      const askedAboutB = a.sent.includes(world.refs['B.customer']);
      const found = [
        ...(seen.includes(canary) ? ['canary'] : []),
        ...(askedAboutB ? [] : bIds.filter((id) => seen.includes(id) && !a.sent.includes(id)).map((id) => `id ${id}`)),
      ];
      return found.map((f) => `${a.route} #${a.call} as ${a.caller}: ${f}`);
    });
    expect(leaks).toEqual([]);
  });

  it('no answer to anyone contains a phone number or a message body, except the audited PII routes', () => {
    const numbers = [...world.pii.msisdns, MATRIX_MSISDN];
    const needles = [...numbers, ...numbers.map((m) => m.slice(1)), ...world.pii.bodyMarkers];
    const leaks = answers.filter((a) => !PII_ROUTES.includes(a.route)).flatMap((a) =>
      needles.filter((n) => `${a.text}\n${a.headers}`.includes(n)).map((n) => `${a.route} #${a.call} as ${a.caller}: ${n}`));
    expect(leaks).toEqual([]);
    // The PII routes do answer with them, for the callers the matrix lets through: the needles are real.
    const pii = answers.filter((a) => a.route === 'GET /api/v1/data-subject-requests/:id/export' && isSuccess(a.status));
    expect(pii.length).toBeGreaterThan(0);
    expect(pii.every((a) => world.pii.bodyMarkers.some((m) => a.text.includes(m)))).toBe(true);
  });

  describe('ids: another customer\'s, a missing one and malformed ones all answer alike', () => {
    /** Who probes a route: customer A where it may call the route at all (so B's ids are foreign to it), else staff. */
    const PROBERS: Caller[] = ['customerA', 'dpo', 'legal', 'security', 'admin', 'auditor', 'auditorKey', 'ingest', 'anonymous'];
    /** Already URL-encoded: what a client that builds URLs carelessly (or on purpose) sends. */
    const MALFORMED: Record<string, string> = {
      null: 'null', 'empty array': '%5B%5D', 'empty object': '%7B%7D', 'array of ids': `%5B%22${MISSING}%22%5D`, 'very long': `${MISSING}${'x'.repeat(3000)}`,
      'sql-ish': `${MISSING}'%20OR%20'1'%3D'1'--`, 'nul byte': `${MISSING}%00`, 'non-ascii': '%F0%9F%92%A3',
    };
    const kindOf = (r: { contentType: string; json: unknown }) =>
      (r.contentType === 'application/problem+json' ? (r.json as { type?: string })?.type ?? '?' : r.contentType);

    it('for every route with an id in its path, as its caller with the narrowest view', async () => {
      const routes = Object.keys(MATRIX).filter((r) => r.includes('/:'));
      const skipped: string[] = [];
      const differing: string[] = [];
      let probes = 0;
      // The caller and call each route is probed with, and the fresh rows they need, made first.
      const picks = new Map<string, { caller: Caller; call: MatrixCall; fresh: Record<string, string> }>();
      for (const route of routes) {
        const pick = PROBERS.map((caller) => ({ caller, call: MATRIX[route].find((c) => isSuccess(c.expect[caller])) })).find((p) => p.call);
        if (!pick?.call) skipped.push(route);
        else picks.set(route, { caller: pick.caller, call: pick.call, fresh: pick.call.fresh ? await world.fresh(pick.call.fresh) : {} });
      }
      const auditBefore = await countRows(t, 'audit_log');
      await inParallel([...picks.keys()], 4, async (route) => {
        const [method, path] = route.split(' ');
        const { caller, call, fresh } = picks.get(route)!;
        const base = Object.fromEntries(Object.entries(call.params ?? {}).map(([k, v]) => [k, encodeURIComponent(resolve(v, world, fresh) as string)]));
        const request = (params: Record<string, string>) => send(world, {
          method, url: fillPath(path, params), query: call.query && (resolve(call.query, world, fresh) as Record<string, string>),
          body: call.body === undefined ? undefined : resolve(call.body, world, fresh), raw: call.raw, credential: world.credentials[caller],
        });
        for (const [param, template] of Object.entries(call.params ?? {})) {
          const label = `${route} :${param} as ${caller}`;
          const variants: Record<string, string> = { ...MALFORMED };
          const other = template.startsWith('@A.') ? world.refs[`B.${template.slice(3)}`] : undefined;
          if (caller === 'customerA' && other) Object.assign(variants, { 'B\'s id': other, 'B\'s id in capitals': other.toUpperCase() });
          variants['an id of another kind'] = path.includes('/users') ? world.refs['A.dpa'] : world.refs['user.dpo'];
          const baseline = await request({ ...base, [param]: MISSING });
          const expected = `${baseline.status} ${kindOf(baseline)}`;
          if (baseline.status < 400 || baseline.status >= 500) differing.push(`${label}: a missing id answered ${expected}`);
          await Promise.all(Object.entries(variants).map(async ([name, value]) => {
            const r = await request({ ...base, [param]: value });
            if (`${r.status} ${kindOf(r)}` !== expected) differing.push(`${label} ${name}: ${r.status} ${kindOf(r)}, a missing id: ${expected}`);
            if (OUTSIDE_B.includes(caller) && `${r.text}${r.headers}`.toLowerCase().includes(world.canaryB.toLowerCase())) differing.push(`${label} ${name}: B's canary`);
          }));
          // An empty segment, where no other route answers the path it makes: no route, 404.
          const emptied = fillPath(path, { ...base, [param]: '' }).replace(/\/$/, '');
          const routable = Object.keys(MATRIX).some((r) => r.split(' ')[0] === method && new RegExp(`^${r.split(' ')[1].replace(/:[A-Za-z]+/g, '[^/]+')}$`).test(emptied));
          if (!routable && baseline.status === 404) {
            const r = await request({ ...base, [param]: '' });
            if (r.status !== 404) differing.push(`${label} empty segment: ${r.status}`);
          }
          // A broken percent-encoding is not even a string: a 4xx problem is all that is asked.
          const broken = await request({ ...base, [param]: '%E0%A4%A' });
          if (broken.status < 400 || broken.status >= 500 || broken.contentType !== 'application/problem+json') differing.push(`${label} broken percent-encoding: ${broken.status} ${broken.contentType}`);
          probes += Object.keys(variants).length + 3;
        }
      });
      expect(differing.sort()).toEqual([]);
      // Nobody may read decrypted PII here, so there is nobody to probe that route as.
      expect(skipped).toEqual(['POST /api/v1/messages/:id/pii']);
      expect(probes).toBeGreaterThan(700);
      // Every one was refused: nothing was written, not even an audit entry.
      expect(await countRows(t, 'audit_log')).toBe(auditBefore);
    }, 60_000);
  });

  describe('mass assignment: fields the caller must not set', () => {
    const LONG_AGO = '2001-01-01T00:00:00.000Z';
    /** What a client might try to slip in: ownership, roles, states, hashes, timestamps, authorship. */
    const extras = (): Record<string, unknown> => ({
      id: MISSING, customerId: world.refs['B.customer'], role: 'admin', status: 'active', sha256: 'f'.repeat(64), hash: 'f'.repeat(64),
      createdAt: LONG_AGO, updatedAt: LONG_AGO, approvedBy: world.refs['user.security'], approvedAt: LONG_AGO, authors: [world.refs['user.dpo']],
      acknowledgedAt: LONG_AGO, acknowledgedVia: 'link', version: 99, createdBy: MISSING, reportedBy: MISSING, requestedBy: MISSING,
      raisedBy: MISSING, placedBy: MISSING, uploadedBy: MISSING, piiAccess: true,
    });
    /**
     * Where one of those is a field of the route's body: who may send it, and why that is right. Each
     * is checked below against what is stored.
     */
    const LEGITIMATE: Record<string, string[]> = {
      'POST /api/v1/api-keys': ['role'], // admin only, and only ingest or auditor
      'POST /api/v1/users': ['customerId', 'role'], // admin only; a customer user needs its customer, no one else has one
      'PATCH /api/v1/users/:id': ['customerId', 'piiAccess', 'role'], // admin only; PII access for DPO users alone
      'POST /api/v1/legal-holds': ['customerId'], // the DPO holds any customer's data
      'POST /api/v1/data-subject-requests': ['customerId'], // a customer user names its own customer, or gets a 404
      'POST /api/v1/subprocessors': ['role'], // the vendor's role (operator, aggregator…), not a user's: the DPO's to set
      'PATCH /api/v1/subprocessors/:id': ['role'],
    };
    const WRITERS: Caller[] = ['customerA', 'customerB', 'ingest', 'dpo', 'legal', 'security', 'admin', 'auditor', 'auditorKey', 'anonymous'];

    let openapi: { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>; components: { schemas: Record<string, unknown> } };
    beforeAll(async () => {
      openapi = (await t.http().get('/docs-json').expect(200)).body as typeof openapi;
    });
    /** The property names of a JSON body schema ($ref and allOf followed); undefined when the route takes no JSON body. */
    const bodyFields = (route: string): string[] | undefined => {
      const [method, path] = route.split(' ');
      const operation = openapi.paths[path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[method.toLowerCase()];
      const schema = operation?.requestBody?.content['application/json']?.schema;
      if (!schema) return undefined;
      const props = (s: unknown): string[] => {
        const x = s as { $ref?: string; allOf?: unknown[]; properties?: Record<string, unknown> };
        if (x.$ref) return props(openapi.components.schemas[x.$ref.split('/').pop()!]);
        return [...Object.keys(x.properties ?? {}), ...(x.allOf ?? []).flatMap(props)];
      };
      return props(schema);
    };
    const writeRoutes = Object.keys(MATRIX).filter((r) => /^(POST|PUT|PATCH) /.test(r));
    /** Nobody in the matrix may read decrypted PII, so nobody gets past its guard to have a body checked. */
    const UNWRITABLE = ['POST /api/v1/messages/:id/pii'];
    const pickWriter = (route: string): { caller: Caller; call: MatrixCall } => {
      for (const caller of WRITERS) {
        const call = MATRIX[route].find((c) => isSuccess(c.expect[caller]));
        if (call) return { caller, call };
      }
      throw new Error(`${route}: nobody may write here`);
    };

    it('every route with a JSON body refuses them with a 400 naming each one, and stores nothing', async () => {
      const collisions: Record<string, string[]> = {};
      const wrong: string[] = [];
      const jsonRoutes = writeRoutes.filter((r) => bodyFields(r) && MATRIX[r].some((c) => c.body !== undefined) && !UNWRITABLE.includes(r));
      expect(writeRoutes.filter((r) => !Object.values(MATRIX[r]).some((c) => Object.values(c.expect).some(isSuccess)))).toEqual(UNWRITABLE);
      const prepared = [];
      for (const route of jsonRoutes) {
        const { caller, call } = pickWriter(route);
        prepared.push({ route, caller, call, fresh: call.fresh ? await world.fresh(call.fresh) : {} });
      }
      const auditBefore = await countRows(t, 'audit_log');
      await inParallel(prepared, 4, async ({ route, caller, call, fresh }) => {
        const accepted = bodyFields(route)!;
        const legit = Object.keys(extras()).filter((k) => accepted.includes(k)).sort();
        if (legit.length) collisions[route] = legit;
        const body = resolve(call.body, world, fresh) as Record<string, unknown>;
        const slipped = Object.fromEntries(Object.entries(extras()).filter(([k]) => !accepted.includes(k)));
        // One level down too: every object in the body gets an id and an owner of its own.
        const nested = Object.keys(body).filter((k) => body[k] && typeof body[k] === 'object' && !Array.isArray(body[k]));
        for (const k of nested) body[k] = { ...(body[k] as object), id: MISSING, customerId: world.refs['B.customer'] };
        const [method, path] = route.split(' ');
        const params = Object.fromEntries(Object.entries(call.params ?? {}).map(([k, v]) => [k, encodeURIComponent(resolve(v, world, fresh) as string)]));
        const res = await send(world, { method, url: fillPath(path, params), query: call.query && (resolve(call.query, world, fresh) as Record<string, string>), body: { ...body, ...slipped }, credential: world.credentials[caller] });
        const fields = ((res.json as { errors?: { field: string }[] })?.errors ?? []).flatMap((e) => e.field.split(', '));
        const expected = [...Object.keys(slipped), ...nested.flatMap((k) => [`${k}.id`, `${k}.customerId`])];
        const unnamed = expected.filter((f) => !fields.includes(f));
        if (res.status !== 400 || (res.json as { type?: string })?.type !== 'urn:custodian:problem:validation' || unnamed.length) {
          wrong.push(`${route} as ${caller}: ${res.status}, not named: ${unnamed.join(' ')}`);
        }
      });
      expect(wrong).toEqual([]);
      // Every write route is checked here, as a raw upload, as a route without a body (below), or is unwritable.
      const raw = writeRoutes.filter((r) => MATRIX[r].some((c) => c.raw));
      const noBody = writeRoutes.filter((r) => !bodyFields(r) && !raw.includes(r));
      expect([...jsonRoutes, ...raw, ...noBody, ...UNWRITABLE].sort()).toEqual([...writeRoutes].sort());
      expect(jsonRoutes.length).toBeGreaterThanOrEqual(30);
      expect(collisions).toEqual(LEGITIMATE);
      expect(await countRows(t, 'audit_log')).toBe(auditBefore);
    }, 60_000);

    it('raw uploads take their hash, size and uploader from the server: such query fields are refused', async () => {
      const auditBefore = await countRows(t, 'audit_log');
      const raw = writeRoutes.filter((r) => MATRIX[r].some((c) => c.raw));
      expect(raw.sort()).toEqual(['POST /api/v1/incidents/:id/evidence', 'PUT /api/v1/dpas/:id/document']);
      for (const route of raw) {
        const { caller, call } = pickWriter(route);
        const [method, path] = route.split(' ');
        const params = Object.fromEntries(Object.entries(call.params ?? {}).map(([k, v]) => [k, encodeURIComponent(resolve(v, world) as string)]));
        const query = { ...(call.query ?? {}), sha256: 'f'.repeat(64), size: '1', uploadedBy: MISSING, customerId: world.refs['B.customer'] };
        const res = await send(world, { method, url: fillPath(path, params), query, raw: call.raw, credential: world.credentials[caller] });
        expect({ route, status: res.status, fields: ((res.json as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field).sort() })
          .toEqual({ route, status: 400, fields: ['customerId', 'sha256', 'size', 'uploadedBy'] });
      }
      expect(await countRows(t, 'audit_log')).toBe(auditBefore);
    });

    it('the legitimate ones: nobody reaches past their own', async () => {
      const as = (caller: Caller) => ({ Authorization: `Bearer ${world.credentials[caller]}` });
      const count = async (sql: string, params: unknown[]) => Number((await t.db.superuser<{ n: string }>(sql, params))[0].n);
      // Customer A names B's customer in a data-subject request: refused like a customer that does not exist; nothing is filed for B.
      const requestsOfB = () => count('SELECT count(*)::text AS n FROM data_subject_requests WHERE customer_id = $1', [world.refs['B.customer']]);
      const beforeB = await requestsOfB();
      const res = await t.http().post('/api/v1/data-subject-requests').set(as('customerA')).send({ customerId: world.refs['B.customer'], kind: 'erasure', msisdn: world.pii.msisdns[1] });
      expect({ status: res.status, type: (res.body as { type: string }).type }).toEqual({ status: 404, type: 'urn:custodian:problem:not-found' });
      expect(await requestsOfB()).toBe(beforeB);
      // An API key is never made with a user's role.
      const keys = await countRows(t, 'api_keys');
      expect((await t.http().post('/api/v1/api-keys').set(as('admin')).send({ name: 'sneaky', role: 'admin' })).status).toBe(400);
      expect(await countRows(t, 'api_keys')).toBe(keys);
      // PII access goes to DPO users only; a customer is only for the customer role.
      expect((await t.http().patch(`/api/v1/users/${world.refs['user.target']}`).set(as('admin')).send({ piiAccess: true })).status).toBe(409);
      expect(await count('SELECT count(*)::text AS n FROM users WHERE id = $1 AND pii_access', [world.refs['user.target']])).toBe(0);
      const email = `sneaky-${MISSING}@provider.example.test`;
      expect((await t.http().post('/api/v1/users').set(as('admin')).send({ email, password: 'a long enough password', role: 'dpo', customerId: world.refs['B.customer'] })).status).toBe(400);
      expect(await count('SELECT count(*)::text AS n FROM users WHERE email = $1', [email])).toBe(0);
      // A legal hold is placed by the DPO for whichever customer it names — and by nobody else (the matrix: 403 for every other caller).
      expect(Object.entries(MATRIX['POST /api/v1/legal-holds'][0].expect).filter(([, s]) => isSuccess(s)).map(([c]) => c)).toEqual(['dpo']);
    });

    it('routes that take no body refuse one (400 naming body) and change nothing', async () => {
      const noBody = writeRoutes.filter((r) => !bodyFields(r) && !MATRIX[r].some((c) => c.raw)).sort();
      expect(noBody).toEqual([
        'POST /api/v1/breach-acknowledgements/:token', 'POST /api/v1/breach-notifications/:id/acknowledgement', 'POST /api/v1/breach-notifications/:id/approval',
        'POST /api/v1/breach-notifications/:id/resend', 'POST /api/v1/change-notices/:id/approvals', 'POST /api/v1/incidents/:id/scope',
        'POST /api/v1/jobs/:name/run', 'POST /public/subscriptions/:id/unsubscribe',
      ]);
      const as = (caller: Caller) => ({ Authorization: `Bearer ${world.credentials[caller]}` });
      const row = async <T>(sql: string, params: unknown[]) => (await t.db.superuser<T>(sql, params))[0];
      const refused = async (res: Response) => {
        expectProblem(res, 400, 'validation');
        expect(problemFields(res)).toEqual(['body']);
      };

      // Customer A acknowledging with extra fields: refused, not acknowledged.
      const { id: ackId } = await world.fresh('ackToken');
      await refused(await t.http().post(`/api/v1/breach-notifications/${ackId}/acknowledgement`).set(as('customerA')).send(extras()));
      expect(await row('SELECT acknowledged_at FROM breach_notifications WHERE id = $1', [ackId])).toEqual({ acknowledged_at: null });

      // The DPO approving with recipients and text slipped in: refused, still a draft, no mail.
      const { id: draftId } = await world.fresh('followUpDraft');
      await refused(await t.http().post(`/api/v1/breach-notifications/${draftId}/approval`).set(as('dpo'))
        .send({ ...extras(), recipients: ['attacker@evil.example.test'], sections: { update: 'Rewritten at approval' } }));
      expect(await row('SELECT status, mail_id FROM breach_notifications WHERE id = $1', [draftId])).toEqual({ status: 'draft', mail_id: null });

      // Customer A approving a change notice with extras: refused, nobody's approval recorded.
      await refused(await t.http().post(`/api/v1/change-notices/${world.refs['notice.approveExtras']}/approvals`).set(as('customerA')).send(extras()));
      const approvals = await t.db.superuser<{ n: string }>('SELECT count(*)::text AS n FROM change_notice_recipients WHERE notice_id = $1 AND approved_at IS NOT NULL', [world.refs['notice.approveExtras']]);
      expect(approvals[0].n).toBe('0');

      // A job run asked for with a trigger and requester of its own: refused, not run.
      const runsBefore = (await t.db.superuser<{ n: string }>('SELECT count(*)::text AS n FROM job_runs'))[0].n;
      await refused(await t.http().post(`/api/v1/jobs/${world.refs.jobName}/run`).set(as('dpo')).send({ ...extras(), trigger: 'schedule', requestedBy: MISSING }));
      expect((await t.db.superuser<{ n: string }>('SELECT count(*)::text AS n FROM job_runs'))[0].n).toBe(runsBefore);

      // Without a body the same calls work (the matrix), and an empty JSON object is no input.
      await t.http().post(`/api/v1/breach-notifications/${ackId}/acknowledgement`).set(as('customerA')).send({}).expect(200);
    });
  });
});
