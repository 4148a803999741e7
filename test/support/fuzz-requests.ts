import fc from 'fast-check';
import type { Response } from 'supertest';
import type { TestApp } from './app';
import {
  binaryBody, type Body, headerText, hostileValue, jsonBody, type OpenApiDocument, type OperationRef, parameterValue, type Pools, resolve, validValue,
} from './fuzz-openapi';
import { type AccessRule, allows, type Caller, type World } from './fuzz-world';

/** One generated request, as sent; printed as the counterexample when a property fails. */
export interface FuzzRequest {
  method: string;
  /** The concrete path, already percent-encoded. */
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  caller: string;
  body: Body;
}

/** Path values that are not ids at all; some travel raw (unencoded) to reach Express's own decoding. */
const MALFORMED_SEGMENTS = [
  'null', 'undefined', '0', '-1', 'true', '[]', '{}', '%5B%5D', 'NaN', 'me', '*', ' ', '.', '..', '%2e%2e', '%zz', '%', '%00', '%2F', 'a%2Fb', '%C0%AF', '%FF',
  '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5', '3F1C2A4E-5B6D-4E7F-8A9B-0C1D2E3F4A5B', '00000000-0000-0000-0000-000000000000', "1' OR '1'='1", 'x'.repeat(2000),
];
const RAW = new Set(['%5B%5D', '%2e%2e', '%zz', '%', '%00', '%2F', 'a%2Fb', '%C0%AF', '%FF', '.', '..']);

/** The rows an id-valued property or query parameter names, by its name. */
const RESOURCE_OF: Record<string, string> = {
  customerId: 'customers', subprocessorId: 'subprocessors', route: 'subprocessors', incidentId: 'incidents', noticeId: 'change-notices',
  runId: 'runs', actorId: 'users', evidenceId: 'evidence',
};

const enc = (v: string) => (RAW.has(v) ? v : encodeURIComponent(v));

/** Cursors: real-looking ones this service could have issued, and forged ones. */
const cursors = fc.oneof(
  fc.tuple(fc.date({ noInvalidDate: true }), fc.uuid()).map(([d, id]) => [d.toISOString(), id]),
  fc.tuple(fc.string({ maxLength: 30 }), fc.uuid()).map(([s, id]) => [s, id]),
  fc.constantFrom<unknown>(['not a date', '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b'], ['+275760-09-13T00:00:00.001Z', '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b'], [1e308, 'x'], [null, null], {}, 'x', [[], []], [1, '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b']),
  hostileValue,
).map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url'));

function pathValue(resource: string, name: string, enumValues: unknown[] | undefined, world: World): fc.Arbitrary<string> {
  const known =
    name === 'token' && resource === 'breach-acknowledgements' ? world.ackTokens
    : resource === 'jobs' ? world.jobNames
    : enumValues?.length ? enumValues.map(String)
    : world.idsByResource[resource] ?? [];
  return fc.oneof(
    { weight: 8, arbitrary: known.length ? fc.constantFrom(...known) : fc.uuid() },
    { weight: 1, arbitrary: fc.constantFrom(...world.allIds) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.oneof(fc.constantFrom(...MALFORMED_SEGMENTS), fc.string({ minLength: 1, maxLength: 30 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 })) },
  ).map(enc);
}

/** A caller: mostly one the route's rule lets in, sometimes one it refuses (or nobody). */
export function callerFor(rule: AccessRule, callers: Caller[]): fc.Arbitrary<Caller> {
  if (rule.isPublic) return fc.oneof({ weight: 4, arbitrary: fc.constant(callers.find((c) => c.name === 'anonymous')!) }, { weight: 1, arbitrary: fc.constantFrom(...callers) });
  const allowed = callers.filter((c) => allows(c, rule));
  const refused = callers.filter((c) => !allows(c, rule));
  return allowed.length
    ? fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...allowed) }, { weight: 1, arbitrary: fc.constantFrom(...refused) })
    : fc.constantFrom(...refused);
}

export function requestsFor(doc: OpenApiDocument, { method, path, operation }: OperationRef, rule: AccessRule, world: World): fc.Arbitrary<FuzzRequest> {
  const pools: Pools = {
    idsFor: (name) => world.idsByResource[RESOURCE_OF[name.replace(/Ids?$/, 'Id')] ?? ''] ?? world.allIds,
    known: (name) => world.known[name] ?? [],
  };
  const params = operation.parameters ?? [];
  const segments = path.split('/');
  const pathArbs = params.filter((p) => p.in === 'path').map((p) => {
    const index = segments.indexOf(`{${p.name}}`);
    return pathValue(segments[index - 1] ?? '', p.name, resolve(doc, p.schema).enum, world).map((v) => [p.name, v] as const);
  });
  const queryArbs = params.filter((p) => p.in === 'query').map((p) => {
    const schema = resolve(doc, p.schema);
    const value =
      p.name === 'cursor' ? fc.oneof(cursors, parameterValue(schema, p.name, pools))
      : p.name === 'token' && world.subscriptionTokens.length ? fc.oneof(fc.constantFrom(...world.subscriptionTokens), parameterValue(schema, p.name, pools))
      : parameterValue(schema, p.name, pools);
    // Optional ones now and then (a cursor seldom: only the service's own are valid), required ones nearly always.
    const [absent, present] = p.required ? [1, 8] : p.name === 'cursor' ? [4, 1] : [2, 1];
    return fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: present, arbitrary: value.map((v) => [p.name, v] as const) });
  });
  // An unknown query parameter, now and then.
  const extraQuery = fc.oneof(
    { weight: 5, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('foo', 'limit[gt]', '__proto__', 'constructor', 'admin', 'sort', 'customerId', 'a'.repeat(300)), fc.oneof(fc.string({ maxLength: 10 }), fc.constant(''))) },
  );
  const headerArbs = params.filter((p) => p.in === 'header' && !['authorization', 'content-type'].includes(p.name.toLowerCase()))
    .map((p) => fc.option(headerText.map((v) => [p.name, v] as const), { freq: p.required ? 8 : 2, nil: undefined }));

  const content = operation.requestBody?.content ?? {};
  const types = Object.keys(content);
  let body: fc.Arbitrary<Body>;
  if (types.includes('application/json')) body = jsonBody(resolve(doc, content['application/json'].schema), pools);
  else if (types.length) {
    const declared = types.filter((ct) => ct !== '*/*');
    body = binaryBody(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...declared) }, { weight: 1, arbitrary: fc.constantFrom('text/plain', 'image/png', 'application/json', 'application/pdf') }, { weight: 1, arbitrary: headerText }));
  } else {
    body = fc.oneof({ weight: 8, arbitrary: fc.constant<Body>({ kind: 'none' }) }, { weight: 1, arbitrary: validValue({ type: 'object' }, pools).map((value): Body => ({ kind: 'json', value })) },
      { weight: 1, arbitrary: hostileValue.map((value): Body => ({ kind: 'json', value })) });
  }

  return fc.record({
    caller: callerFor(rule, world.callers),
    pathValues: fc.tuple(...pathArbs),
    query: fc.tuple(...queryArbs, extraQuery),
    headers: fc.tuple(...headerArbs),
    body,
  }).map(({ caller, pathValues, query, headers, body }) => {
    let concrete = path;
    for (const [name, value] of pathValues) concrete = concrete.replace(`{${name}}`, value);
    const pairs = (query.filter(Boolean) as (readonly [string, string | string[]])[]).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x] as [string, string]) : [[k, v] as [string, string]]));
    const h: Record<string, string> = Object.fromEntries(headers.filter(Boolean) as [string, string][]);
    if (caller.authorization) h.Authorization = caller.authorization;
    return { method, path: concrete, query: pairs, headers: h, caller: caller.name, body };
  });
}

export function urlOf(req: FuzzRequest): string {
  const qs = new URLSearchParams(req.query).toString();
  return qs ? `${req.path}?${qs}` : req.path;
}

export async function send(t: TestApp, req: FuzzRequest): Promise<Response> {
  let r = t.http()[req.method as 'get'](urlOf(req)).timeout({ response: 30_000, deadline: 45_000 });
  for (const [k, v] of Object.entries(req.headers)) r = r.set(k, v);
  switch (req.body.kind) {
    case 'json':
      return r.set('Content-Type', 'application/json').send(JSON.stringify(req.body.value) ?? 'null');
    case 'text':
      return r.set('Content-Type', req.body.contentType).send(req.body.text);
    case 'binary':
      return r.set('Content-Type', req.body.contentType).send(Buffer.from(req.body.bytes));
    case 'none':
      return r;
  }
}

/** A request as a person would read it: long strings shortened, bytes counted, credentials named. */
export function describeRequest(req: FuzzRequest): string {
  const short = (v: unknown): unknown => {
    if (typeof v === 'string') return v.length > 120 ? `${v.slice(0, 60)}…(${v.length} chars)` : v;
    if (Array.isArray(v)) return v.length > 20 ? [...v.slice(0, 20).map(short), `…(${v.length} items)`] : v.map(short);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, short(x)]));
    return v;
  };
  const { Authorization: _, ...headers } = req.headers;
  const body = req.body.kind === 'binary' ? { kind: 'binary', contentType: req.body.contentType, bytes: req.body.bytes.length } : short(req.body);
  return JSON.stringify({ caller: req.caller, request: `${req.method.toUpperCase()} ${short(urlOf(req)) as string}`, headers: short(headers), body }, null, 1);
}
