import { MATRIX, MATRIX_MSISDN, type MatrixCall } from './access-matrix';
import { type Answer, describeMismatch, fillPath, inParallel, isSuccess, MISSING, resolve, runCall, send } from './support/access-calls';
import { registeredRoutes } from './support/access-routes';
import { buildWorld, type Caller, type World } from './support/access-world';
import { startTestApp, type TestApp } from './support/app';
import { countRows, expectProblem, problemFields } from './support/http';
import type { Response } from 'supertest';
import type { OpenApiDocument } from './support/fuzz-openapi';
import { bodySchema, injectBelowTop } from './support/mass-assignment';
import { startSmtp, type TestSmtp } from './support/smtp';

/*
 * Issue 6, access matrix: every registered route × every kind of caller answers as
 * test/access-matrix.ts says, against customers A and B built through the API; nothing of B
 * reaches a caller outside B, and no phone number or message body leaves the audited PII routes —
 * where the DPO holding the break-glass flag reads exactly the message it names, one audit entry a read.
 */

/** Callers that must learn nothing about customer B. */
const OUTSIDE_B: Caller[] = ['anonymous', 'customerA', 'ingest'];
/** The break-glass read of one message's decrypted phone number and body. */
const PII_READ = 'POST /api/v1/messages/:id/pii';
/** The audited PII routes: the only ones whose successful answers may hold decrypted phone numbers and bodies. */
const PII_ROUTES = [PII_READ, 'GET /api/v1/data-subject-requests/:id/export'];
/** The one-click acknowledgement link answers a person's browser with a page, whatever went wrong. */
const HTML_ROUTES = ['GET /api/v1/breach-acknowledgements/:token', 'POST /api/v1/breach-acknowledgements/:token'];

describe('access matrix: every route × every caller', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let world: World;
  const answers: Answer[] = [];
  /** The world's name ("A.message"…) of the message a PII read asked for. */
  const messageRead = (a: Answer) => Object.keys(world.pii.messages).find((name) => a.url.endsWith(`/${world.refs[name]}/pii`));

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
    // On the audited PII routes, where a DPO may read B's decrypted messages, it goes exactly where the matrix says.
    const stray = answers.filter((a) => PII_ROUTES.includes(a.route) && !MATRIX[a.route][a.call].showsB?.includes(a.caller) && a.text.toLowerCase().includes(canary));
    expect(stray.map((a) => `${a.route} #${a.call} as ${a.caller} (${a.status})`)).toEqual([]);
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

  it('no answer to anyone contains a phone number or a message body, except a successful one on the audited PII routes, and that only of what it names', () => {
    const numbers = [...world.pii.msisdns, MATRIX_MSISDN];
    const forms = (values: string[]) => values.flatMap((v) => (v.startsWith('+') ? [v, v.slice(1)] : [v]));
    const needles = [...forms(numbers), ...world.pii.bodyMarkers];
    const found = (a: Answer, among: string[]) => among.filter((n) => `${a.text}\n${a.headers}`.includes(n));
    const granted = (a: Answer) => PII_ROUTES.includes(a.route) && isSuccess(a.status);
    // Refusals on the PII routes included: a 403 or 404 there holds no more than anywhere else.
    const leaks = answers.filter((a) => !granted(a)).flatMap((a) => found(a, needles).map((n) => `${a.route} #${a.call} as ${a.caller}: ${n}`));
    expect(leaks).toEqual([]);
    // A granted answer holds its own data subject's phone number and its customer's bodies, and nobody else's.
    const pii = answers.filter(granted);
    const about = (a: Answer) => Object.keys(world.pii.about).filter((name) => a.url.includes(world.refs[name]));
    expect(pii.filter((a) => about(a).length !== 1).map((a) => a.url)).toEqual([]);
    const foreign = pii.flatMap((a) => {
      const own = forms(world.pii.about[about(a)[0]]);
      return found(a, needles.filter((n) => !own.includes(n))).map((n) => `${a.route} #${a.call} as ${a.caller}: ${n}`);
    });
    expect(foreign).toEqual([]);
    // The PII routes do answer with them, for the callers the matrix lets through: the needles are real.
    expect(pii.filter((a) => found(a, world.pii.about[about(a)[0]]).length !== world.pii.about[about(a)[0]].length).map((a) => a.url)).toEqual([]);
    expect(new Set(pii.map((a) => `${a.route} as ${a.caller}`))).toEqual(new Set([
      `${PII_READ} as dpoPii`, ...['dpo', 'customerA', 'customerB', 'dpoPii'].map((c) => `GET /api/v1/data-subject-requests/:id/export as ${c}`),
    ]));
  });

  it('the PII flag changes one thing for a DPO: the break-glass read, which nobody else may make', () => {
    const differs = Object.entries(MATRIX).flatMap(([route, calls]) => calls.flatMap((c, i) => [
      ...(c.expect.dpoPii !== c.expect.dpo ? [`${route} #${i}: ${c.expect.dpo} → ${c.expect.dpoPii}`] : []),
      ...(!!c.showsB?.includes('dpo') !== !!c.showsB?.includes('dpoPii') ? [`${route} #${i}: shows B to ${c.showsB?.join(', ')}`] : []),
    ]));
    expect(differs).toEqual([
      `${PII_READ} #0: 403 → 200`, `${PII_READ} #1: 403 → 200`, `${PII_READ} #1: shows B to dpoPii`, `${PII_READ} #2: 403 → 200`, `${PII_READ} #3: 403 → 404`,
    ]);
    // Without the flag every caller is refused, whatever message it names (the answers: the matrix check above).
    const others = MATRIX[PII_READ].flatMap((c) => Object.entries(c.expect).filter(([caller]) => caller !== 'dpoPii').map(([, status]) => status));
    expect(new Set(others)).toEqual(new Set([401, 403]));
  });

  it('the DPO holding the flag reads the decrypted phone number and body of the message it names, and nothing else', () => {
    const reads = answers.filter((a) => a.route === PII_READ && isSuccess(a.status));
    const named = (a: Answer) => messageRead(a) ?? a.url;
    // A's message, B's (the DPO role is not confined to a customer) and B's erased one, whose values are gone.
    expect(reads.map((a) => `${named(a)} as ${a.caller}`).sort()).toEqual(['A.message as dpoPii', 'B.erasedMessage as dpoPii', 'B.message as dpoPii']);
    for (const a of reads) {
      expect({ message: named(a), body: JSON.parse(a.text) as unknown }).toEqual({ message: named(a), body: { id: world.refs[named(a)], ...world.pii.messages[named(a)] } });
      expect((JSON.parse(a.headers) as Record<string, string>)['cache-control']).toBe('no-store');
    }
  });

  it('every PII read writes exactly one audit entry, naming the reader, the message and the reason; a refused one none', async () => {
    const attempts = answers.filter((a) => a.route === PII_READ);
    const requestIds = attempts.map((a) => (JSON.parse(a.headers) as Record<string, string>)['x-request-id']);
    expect(new Set(requestIds).size).toBe(attempts.length);
    const rows = await t.db.superuser<{ request_id: string; action: string; actor_id: string; subject_type: string; subject_id: string; changes: Record<string, unknown> }>(
      'SELECT request_id, action, actor_id, subject_type, subject_id, changes FROM audit_log WHERE request_id = ANY($1::text[])', [requestIds]);
    const entries = (requestId: string) => rows.filter((r) => r.request_id === requestId)
      .map((r) => ({ action: r.action, actor: r.actor_id, subject: `${r.subject_type} ${r.subject_id}`, changes: r.changes }));
    const messageOf = (a: Answer) => messageRead(a)!;
    const expected = (a: Answer) => (!isSuccess(a.status) ? [] : [{
      action: 'message.pii_read', actor: world.refs['user.dpoPii'], subject: `Message ${world.refs[messageOf(a)]}`,
      changes: {
        customerId: world.pii.messages[messageOf(a)].customerId, reason: (MATRIX[PII_READ][a.call].body as { reason: string }).reason,
        phoneNumberRead: world.pii.messages[messageOf(a)].msisdn !== null, bodyRead: world.pii.messages[messageOf(a)].body !== null,
      },
    }]);
    expect(attempts.map((a, i) => ({ call: `#${a.call} as ${a.caller}`, entries: entries(requestIds[i]) })))
      .toEqual(attempts.map((a) => ({ call: `#${a.call} as ${a.caller}`, entries: expected(a) })));
    // The auditor finds them through the audit API, without the values that were read.
    const as = { Authorization: `Bearer ${world.credentials.auditor}` };
    const audit = (await t.http().get('/api/v1/audit').query({ action: 'message.pii_read', actorId: world.refs['user.dpoPii'] }).set(as).expect(200)).body as { items: { subjectId: string }[] };
    expect(audit.items.map((e) => e.subjectId).sort()).toEqual(['A.message', 'B.erasedMessage', 'B.message'].map((n) => world.refs[n]).sort());
    const values = Object.values(world.pii.messages).flatMap((m) => [m.msisdn, m.msisdn?.slice(1), m.body]).filter((v): v is string => !!v);
    expect(values.filter((v) => JSON.stringify(audit).includes(v))).toEqual([]);
  });

  describe('ids: another customer\'s, a missing one and malformed ones all answer alike', () => {
    /** Who probes a route: customer A where it may call the route at all (so B's ids are foreign to it), else staff. */
    const PROBERS: Caller[] = ['customerA', 'dpo', 'legal', 'security', 'admin', 'auditor', 'auditorKey', 'ingest', 'anonymous', 'dpoPii'];
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
      // Every route has a caller to probe it as: the PII read has the DPO holding the flag.
      expect(skipped).toEqual([]);
      expect(picks.get('POST /api/v1/messages/:id/pii')?.caller).toBe('dpoPii');
      expect(probes).toBeGreaterThan(700);
      // Every one was refused: nothing was written, not even an audit entry.
      expect(await countRows(t, 'audit_log')).toBe(auditBefore);
    }, 60_000);
  });

  describe('mass assignment: fields the caller must not set', () => {
    const LONG_AGO = '2001-01-01T00:00:00.000Z';
    /** What a client might try to slip in: ownership, roles, states, hashes, timestamps, ids, authorship. */
    const extras = (): Record<string, unknown> => ({
      id: MISSING, customer: { id: world.refs['B.customer'] }, customerId: world.refs['B.customer'], userId: world.refs['user.dpo'], role: 'admin', status: 'active',
      sha256: 'f'.repeat(64), hash: 'f'.repeat(64), prevHash: 'f'.repeat(64), passwordHash: 'f'.repeat(64), keyHash: 'f'.repeat(64),
      createdAt: LONG_AGO, updatedAt: LONG_AGO, deletedAt: LONG_AGO, revokedAt: LONG_AGO, approvedBy: world.refs['user.security'], approvedAt: LONG_AGO,
      authors: [world.refs['user.dpo']], acknowledgedAt: LONG_AGO, acknowledgedVia: 'link', version: 99, createdBy: MISSING, reportedBy: MISSING,
      requestedBy: MISSING, raisedBy: MISSING, placedBy: MISSING, uploadedBy: MISSING, piiAccess: true,
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
    /** The same below the top level, per nested object. */
    const LEGITIMATE_NESTED: Record<string, Record<string, string[]>> = {
      // The ingest key files each record under the customer it names, with its delivery status: that is the record.
      'POST /api/v1/messages/batch': { 'records.0': ['customerId', 'status'] },
    };
    /** Routes that check the items of a batch one by one: a bad record is rejected in a 200, the rest stored. */
    const BY_ITEM = ['POST /api/v1/messages/batch'];
    const WRITERS: Caller[] = ['customerA', 'customerB', 'ingest', 'dpo', 'legal', 'security', 'admin', 'auditor', 'auditorKey', 'anonymous', 'dpoPii'];

    let openapi: OpenApiDocument;
    beforeAll(async () => {
      openapi = (await t.http().get('/docs-json').expect(200)).body as OpenApiDocument;
    });
    /** The property names of a JSON body schema ($ref and allOf followed); undefined when the route takes no JSON body. */
    const bodyFields = (route: string): string[] | undefined => {
      const schema = bodySchema(openapi, route);
      return schema && Object.keys(schema.properties ?? {});
    };
    const writeRoutes = Object.keys(MATRIX).filter((r) => /^(POST|PUT|PATCH) /.test(r));
    const pickWriter = (route: string): { caller: Caller; call: MatrixCall } => {
      for (const caller of WRITERS) {
        const call = MATRIX[route].find((c) => isSuccess(c.expect[caller]));
        if (call) return { caller, call };
      }
      throw new Error(`${route}: nobody may write here`);
    };
    const errorFields = (json: unknown) => ((json as { errors?: { field: string }[] })?.errors ?? []).flatMap((e) => e.field.split(', '));

    it('every route with a JSON body refuses them, at the top and in every object nested in it, with a 400 naming each one, and stores nothing', async () => {
      const collisions: Record<string, string[]> = {};
      const nestedCollisions: Record<string, Record<string, string[]>> = {};
      const wrong: string[] = [];
      const injectedBelow: string[] = [];
      const byItem: Record<string, unknown> = {};
      const jsonRoutes = writeRoutes.filter((r) => bodyFields(r) && MATRIX[r].some((c) => c.body !== undefined));
      // Someone may write to every route (the PII read: the DPO holding the flag), so every body gets past its guard.
      expect(writeRoutes.filter((r) => !Object.values(MATRIX[r]).some((c) => Object.values(c.expect).some(isSuccess)))).toEqual([]);
      const prepared = [];
      for (const route of jsonRoutes) {
        const { caller, call } = pickWriter(route);
        prepared.push({ route, caller, call, fresh: call.fresh ? await world.fresh(call.fresh) : {} });
      }
      const auditBefore = await countRows(t, 'audit_log');
      const messagesBefore = await countRows(t, 'messages');
      await inParallel(prepared, 4, async ({ route, caller, call, fresh }) => {
        const accepted = bodyFields(route)!;
        const legit = Object.keys(extras()).filter((k) => accepted.includes(k)).sort();
        if (legit.length) collisions[route] = legit;
        const body = resolve(call.body, world, fresh) as Record<string, unknown>;
        const [method, path] = route.split(' ');
        const params = Object.fromEntries(Object.entries(call.params ?? {}).map(([k, v]) => [k, encodeURIComponent(resolve(v, world, fresh) as string)]));
        const request = (b: Record<string, unknown>) => send(world, {
          method, url: fillPath(path, params), query: call.query && (resolve(call.query, world, fresh) as Record<string, string>), body: b, credential: world.credentials[caller],
        });
        const refusedNaming = (res: Awaited<ReturnType<typeof request>>, expected: string[]) => {
          const unnamed = expected.filter((f) => !errorFields(res.json).includes(f));
          return res.status === 400 && (res.json as { type?: string })?.type === 'urn:custodian:problem:validation' && !unnamed.length ? undefined : `${res.status}, not named: ${unnamed.join(' ')}`;
        };

        // At the top: every extra the body does not take.
        const slipped = Object.fromEntries(Object.entries(extras()).filter(([k]) => !accepted.includes(k)));
        const top = refusedNaming(await request({ ...body, ...slipped }), Object.keys(slipped));
        if (top) wrong.push(`${route} as ${caller}, at the top: ${top}`);

        // Below it, with the top level as the matrix sends it: every nested object and every object in an array.
        const probe = injectBelowTop(bodySchema(openapi, route), body, extras);
        if (Object.keys(probe.kept).length) nestedCollisions[route] = probe.kept;
        if (!probe.injected.length) return;
        injectedBelow.push(...probe.injected.map((f) => `${route} ${f}`));
        const res = await request(probe.body);
        if (BY_ITEM.includes(route) && isSuccess(res.status)) byItem[route] = res.json;
        else {
          const below = refusedNaming(res, probe.injected);
          if (below) wrong.push(`${route} as ${caller}, below the top: ${below}`);
        }
      });
      expect(wrong.sort()).toEqual([]);
      // Every write route is checked here, as a raw upload, or as a route without a body (below).
      const raw = writeRoutes.filter((r) => MATRIX[r].some((c) => c.raw));
      const noBody = writeRoutes.filter((r) => !bodyFields(r) && !raw.includes(r));
      expect([...jsonRoutes, ...raw, ...noBody].sort()).toEqual([...writeRoutes].sort());
      expect(jsonRoutes.length).toBeGreaterThanOrEqual(30);
      expect(collisions).toEqual(LEGITIMATE);
      expect(nestedCollisions).toEqual(LEGITIMATE_NESTED);
      // Nested objects two levels down and objects inside arrays were reached, in bodies as sent and as their schemas allow.
      expect(injectedBelow).toEqual(expect.arrayContaining([
        'PUT /api/v1/incidents/:id/customers/:customerId/severity overrides.dpc.id', 'PUT /api/v1/incidents/:id/customers/:customerId/severity overrides.cb.status',
        'POST /api/v1/messages/batch records.0.id', 'POST /api/v1/subprocessors certifications.0.customerId', 'PATCH /api/v1/customers/:id dpoContact.role',
      ]));
      // The batch rejects the record, naming the first of its unknown fields, and stores nothing of it.
      expect(Object.keys(byItem)).toEqual(BY_ITEM);
      const batch = byItem['POST /api/v1/messages/batch'] as { counts: { stored: number; rejected: number }; rejected: { index: number; errors: { field: string }[] }[] };
      expect({ stored: batch.counts.stored, rejected: batch.rejected.map((r) => r.index) }).toEqual({ stored: 0, rejected: [0] });
      const named = batch.rejected[0].errors.map((e) => e.field);
      expect(named.length).toBe(5);
      expect(named.filter((f) => !injectedBelow.includes(`POST /api/v1/messages/batch records.0.${f}`))).toEqual([]);
      expect(await countRows(t, 'messages')).toBe(messagesBefore);
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
      // A legal hold is placed by a DPO for whichever customer it names — and by nobody else (the matrix: 403 for every other caller).
      expect(Object.entries(MATRIX['POST /api/v1/legal-holds'][0].expect).filter(([, s]) => isSuccess(s)).map(([c]) => c)).toEqual(['dpo', 'dpoPii']);
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
