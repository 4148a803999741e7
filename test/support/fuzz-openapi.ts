import fc from 'fast-check';

/*
 * Request generation from the application's own OpenAPI document: every value a request can carry
 * (path and query parameters, headers, JSON and binary bodies) comes from the operation's schema,
 * either as the schema asks (valid-ish, so services are reached) or bent: boundaries, wrong types,
 * nulls, huge and unicode strings, extra and missing properties, malformed JSON.
 */

export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  nullable?: boolean;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  pattern?: string;
  example?: unknown;
  default?: unknown;
  additionalProperties?: boolean | Schema;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

export interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: Schema }> };
  security?: unknown[];
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface OperationRef {
  method: string;
  path: string; // as in the document: /api/v1/users/{id}
  operation: Operation;
}

export function operationsOf(doc: OpenApiDocument): OperationRef[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).filter(([method]) => (METHODS as readonly string[]).includes(method)).map(([method, operation]) => ({ method, path, operation })));
}

/** Every `$ref` in the document that names no schema of components.schemas. */
export function danglingRefs(doc: OpenApiDocument): string[] {
  const schemas = doc.components?.schemas ?? {};
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && !(value.replace('#/components/schemas/', '') in schemas)) found.add(value);
      else walk(value);
    }
  };
  walk(doc);
  return [...found].sort();
}

/**
 * The schema with its `$ref`s and `allOf`s folded in. A property the test build could not type
 * (`allOf: [Object]` with a minimum/maximum, as on `limit`) is taken for the number its bounds say.
 */
export function resolve(doc: OpenApiDocument, schema: Schema | undefined, seen: string[] = []): Schema {
  if (!schema) return {};
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    if (!target) throw new Error(`dangling $ref ${schema.$ref}`);
    if (seen.includes(name)) return { type: 'object' }; // recursive: stop here
    const { $ref: _, ...rest } = schema;
    return resolve(doc, { ...target, ...rest }, [...seen, name]);
  }
  let out: Schema = { ...schema };
  if (schema.allOf) {
    delete out.allOf;
    for (const part of schema.allOf.map((s) => resolve(doc, s, seen))) {
      out = {
        ...part, ...out,
        properties: { ...(part.properties ?? {}), ...(out.properties ?? {}) },
        required: [...new Set([...(part.required ?? []), ...(out.required ?? [])])],
      };
    }
    if (!Object.keys(out.properties ?? {}).length) delete out.properties;
    if (!out.required?.length) delete out.required;
  }
  if ((out.minimum !== undefined || out.maximum !== undefined) && (!out.type || (out.type === 'object' && !out.properties))) out.type = 'number';
  if (out.properties) out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, resolve(doc, v, seen)]));
  if (out.items) out.items = resolve(doc, out.items, seen);
  return out;
}

/** What generation draws real values from: ids of existing rows, so requests reach past "not found". */
export interface Pools {
  /** Ids of existing rows a property of this name takes (customerId: customers), else of any kind. */
  idsFor(name: string): string[];
  /** Values the fuzzed app knows for a string property of this name (the e-mail and password of a user). */
  known(name: string): string[];
}

const ISO_MIN = new Date('2000-01-01T00:00:00Z');
const ISO_MAX = new Date('2035-12-31T23:59:59Z');
const isoDate = fc.date({ min: ISO_MIN, max: ISO_MAX, noInvalidDate: true }).map((d) => d.toISOString());
const dayDate = fc.date({ min: ISO_MIN, max: ISO_MAX, noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const countries = fc.oneof({ weight: 9, arbitrary: fc.constantFrom('DE', 'FR', 'AT', 'NL', 'US', 'GB', 'CH', 'BR', 'IN', 'JP') }, { weight: 1, arbitrary: fc.constantFrom('ZZ', 'de', 'DEU') });
const phones = fc.oneof(
  fc.integer({ min: 10_000_000, max: 99_999_999 }).map((n) => `+49151${n}`),
  fc.constantFrom('+447700900123', '+44 7700 900123', '0044 7700 900123', '+1 (202) 555-0143', '12345', '+'),
);
const emails = fc.oneof(
  { weight: 1, arbitrary: fc.emailAddress() },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('dpo', 'breach', 'security', 'ops'), fc.integer({ min: 0, max: 999_999 })).map(([u, n]) => `${u}-${n}@fuzz.example.test`) },
);

/** Strings that have broken parsers, databases and templates before. */
const NASTY_STRINGS = [
  '', ' ', '\t\n', 'null', 'undefined', 'true', 'false', '0', '-1', '1e309', 'NaN', '-0', '0x1F', '[]', '{}', '[object Object]',
  '\u0000', 'a\u0000b', '%00', '%', '%zz', '%2F', '..', '../../etc/passwd', '/', '\\', "'", '"', "' OR '1'='1", "'; DROP TABLE users; --",
  '${7*7}', '{{7*7}}', '<script>alert(1)</script>', '<!--', ']]>', '\u202eevil', '\ufeff', '\ud800', '\udfff', '🙂', '👩‍👩‍👧‍👦', 'Ω≈ç√∫', 'ﷺ', '\u200b',
  'Ā'.repeat(300), '9'.repeat(400), '2026-13-45T25:61:00Z', '2026-02-30T00:00:00Z', '0000-00-00', '9999-12-31T23:59:59Z', '-271821-04-19T00:00:00Z',
  '2026-11-26', '2026-11-26T12:00:00', '+275760-09-13T00:00:00.001Z', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '3F1C2A4E-5B6D-4E7F-8A9B-0C1D2E3F4A5B', '{3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b}', '3f1c2a4e5b6d4e7f8a9b0c1d2e3f4a5b', '__proto__', 'constructor', 'prototype',
];

/** Long strings, ASCII or multi-byte, some past the body limit of the fuzzed app. */
const hugeString = fc.tuple(fc.integer({ min: 1_000, max: 90_000 }), fc.constantFrom('x', 'é', '€', '🙂', 'a\u0000')).map(([n, c]) => c.repeat(Math.ceil(n / c.length)));

const anyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: hugeString },
);

const anyNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, -0.5, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** A deeply nested array or object, for parsers and transformers that recurse. */
const deep = fc.tuple(fc.integer({ min: 50, max: 400 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
});

/** Any JSON value, weighted towards what breaks things. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: anyNumber },
  { weight: 4, arbitrary: anyString },
  { weight: 1, arbitrary: fc.array(fc.oneof(anyString, anyNumber, fc.constant(null)), { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'id', '$ne', '$gt')), fc.oneof(anyString, anyNumber), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({}, [], [[]], [{}], JSON.parse('{"__proto__":{"isAdmin":true}}'), { $ne: null }, { $gt: '' }) },
  { weight: 1, arbitrary: deep },
);

/** Hints from the property name, for strings the schema leaves untyped. */
function stringByName(name: string, schema: Schema): fc.Arbitrary<string> | undefined {
  const example = typeof schema.example === 'string' ? schema.example : undefined;
  if (/country$|countries$/i.test(name) || (example && /^[A-Z]{2}$/.test(example))) return countries;
  if (/msisdn/i.test(name)) return phones;
  if (example && /^\d{4}-\d{2}-\d{2}$/.test(example)) return dayDate;
  if (/(At|^from|^to|^at)$/.test(name) || /^\d{4}-\d{2}-\d{2}T/.test(example ?? '')) return isoDate;
  if (/email/i.test(name)) return emails;
  return undefined;
}

function stringOf(schema: Schema, name: string, pools: Pools): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 60, Math.max(min, 60));
  const known = pools.known(name);
  if (known.length) return fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...known) }, { weight: 3, arbitrary: stringOf(schema, name, { ...pools, known: () => [] }) });
  if (schema.format === 'uuid') {
    const ids = pools.idsFor(name);
    return fc.oneof({ weight: 5, arbitrary: ids.length ? fc.constantFrom(...ids) : fc.uuid() }, { weight: 1, arbitrary: fc.uuid() });
  }
  if (schema.format === 'date-time') return isoDate;
  if (schema.format === 'email') return emails.filter((e) => e.length <= (schema.maxLength ?? 254));
  if (schema.pattern) {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity));
    } catch {
      // a pattern fast-check cannot generate from: fall back to plain strings
    }
  }
  const hinted = stringByName(name, schema);
  // Not empty unless the schema says so: empty and blank strings come with the bent values.
  const plain = fc.string({ minLength: Math.max(min, 1), maxLength: Math.max(max, 1), unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.-_é€') }).filter((s) => s.trim().length > 0);
  return fc.oneof(
    { weight: hinted ? 1 : 0, arbitrary: hinted ?? plain },
    { weight: hinted ? 0 : 1, arbitrary: plain },
    { weight: typeof schema.example === 'string' ? 1 : 0, arbitrary: fc.constant(String(schema.example)) },
  );
}

/** A value as the schema asks for it (within what the schema can say). */
export function validValue(schema: Schema, pools: Pools, name = '', depth = 0): fc.Arbitrary<unknown> {
  const inner = validInner(schema, pools, name, depth);
  return schema.nullable ? fc.oneof({ weight: 5, arbitrary: inner }, { weight: 1, arbitrary: fc.constant(null) }) : inner;
}

function validInner(schema: Schema, pools: Pools, name: string, depth: number): fc.Arbitrary<unknown> {
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  if (schema.oneOf?.length || schema.anyOf?.length) return fc.oneof(...(schema.oneOf ?? schema.anyOf)!.map((s) => validValue(s, pools, name, depth)));
  switch (schema.type) {
    case 'string':
      return stringOf(schema, name, pools);
    case 'integer':
    case 'number':
      return fc.integer({ min: Math.ceil(schema.minimum ?? -10), max: Math.floor(schema.maximum ?? 100_000) });
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const item = validValue(schema.items ?? {}, pools, name, depth + 1);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, Math.max(schema.minItems ?? 0, 4)) };
      return schema.uniqueItems ? fc.uniqueArray(item, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(item, constraints);
    }
    case 'object':
    case undefined: {
      if (!schema.properties || depth > 4) return schema.type === 'object' ? fc.constant({}) : hostileValue;
      // Required properties always, optional ones a third of the time: mostly small valid bodies.
      const required = new Set(schema.required ?? []);
      const entries = Object.entries(schema.properties).map(([k, s]) => {
        const value = validValue(s, pools, k, depth + 1).map((v) => [k, v] as const);
        return required.has(k) ? value : fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });
      });
      return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter((p) => p !== undefined)));
    }
    default:
      return hostileValue;
  }
}

/** Values just outside what the schema allows. */
function boundaryValue(schema: Schema): fc.Arbitrary<unknown> | undefined {
  const out: fc.Arbitrary<unknown>[] = [];
  if (schema.type === 'string' || schema.minLength !== undefined || schema.maxLength !== undefined) {
    if (schema.maxLength !== undefined) out.push(fc.constant('m'.repeat(schema.maxLength + 1)), fc.constant('ü'.repeat(schema.maxLength)));
    if (schema.minLength) out.push(fc.constant('m'.repeat(schema.minLength - 1)), fc.constant(' '.repeat(schema.minLength)));
    if (schema.enum?.length) out.push(fc.constantFrom(...schema.enum.map((e) => String(e).toUpperCase()), ...schema.enum.map((e) => ` ${String(e)}`)));
    if (schema.format === 'uuid') out.push(fc.constantFrom('not-a-uuid', '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5', '00000000-0000-0000-0000-000000000000'));
    if (schema.format === 'date-time') out.push(fc.constantFrom('2026-11-26', '2026-11-26T12:00:00', '1969-12-31T23:59:59Z', '9999-12-31T23:59:59.999Z', '2026-02-30T00:00:00Z'));
  }
  if (schema.type === 'number' || schema.type === 'integer') {
    if (schema.minimum !== undefined) out.push(fc.constantFrom(schema.minimum - 1, schema.minimum - 0.5, schema.minimum));
    if (schema.maximum !== undefined) out.push(fc.constantFrom(schema.maximum + 1, schema.maximum + 0.5, schema.maximum));
    out.push(fc.constantFrom(1.5, '12', 1e21));
  }
  if (schema.type === 'array') {
    if (schema.minItems) out.push(fc.constant([]));
    if (schema.maxItems !== undefined && schema.maxItems <= 300) out.push(fc.constant(Array.from({ length: schema.maxItems + 1 }, (_, i) => (schema.items?.enum ? schema.items.enum[i % schema.items.enum.length] : `v${i}`))));
    if (schema.uniqueItems && schema.items?.enum?.length) out.push(fc.constant([schema.items.enum[0], schema.items.enum[0]]));
  }
  return out.length ? fc.oneof(...out) : undefined;
}

type Mutation = (value: Record<string, unknown>) => void;

/** Names a caller must not set, or that mean something to JavaScript itself. */
const EXTRA_KEYS = ['id', 'customerId', 'role', 'status', 'createdAt', 'updatedAt', 'hash', 'createdBy', 'admin', 'piiAccess', 'disabled', 'version', '__proto__', 'constructor', 'toString', ''];

function mutations(schema: Schema, pools: Pools, depth = 0): fc.Arbitrary<Mutation> {
  const props = Object.entries(schema.properties ?? {});
  const arbs: fc.Arbitrary<Mutation>[] = [
    // An extra property.
    fc.tuple(fc.oneof(fc.constantFrom(...EXTRA_KEYS), fc.string({ minLength: 1, maxLength: 12 })), fc.oneof(hostileValue, fc.uuid()))
      .map(([k, v]) => (o) => { Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true }); }),
  ];
  if (schema.required?.length) arbs.push(fc.constantFrom(...schema.required).map((k) => (o) => { delete o[k]; }));
  if (props.length) {
    const names = props.map(([k]) => k);
    // A known property with a value of the wrong type (or null).
    arbs.push(fc.tuple(fc.constantFrom(...names), hostileValue).map(([k, v]) => (o) => { o[k] = v; }));
    for (const [k, s] of props) {
      const edge = boundaryValue(s);
      if (edge) arbs.push(edge.map((v) => (o) => { o[k] = v; }));
      if (s.properties && depth < 3) {
        arbs.push(fc.tuple(validValue(s, pools, k, depth + 1), mutations(s, pools, depth + 1)).map(([base, m]) => (o) => {
          const child = (o[k] && typeof o[k] === 'object' && !Array.isArray(o[k]) ? o[k] : base) as Record<string, unknown>;
          m(child);
          o[k] = child;
        }));
      }
      if (s.type === 'array' && s.items?.properties && depth < 3) {
        arbs.push(fc.tuple(validValue(s.items, pools, k, depth + 1), mutations(s.items, pools, depth + 1)).map(([base, m]) => (o) => {
          const item = { ...(base as Record<string, unknown>) };
          m(item);
          o[k] = [...(Array.isArray(o[k]) ? (o[k] as unknown[]) : []), item];
        }));
      }
    }
  }
  return fc.oneof(...arbs);
}

/** A valid object with one to three things wrong with it. */
export function mutatedObject(schema: Schema, pools: Pools): fc.Arbitrary<unknown> {
  return fc.tuple(validValue({ ...schema, nullable: false }, pools), fc.array(mutations(schema, pools), { minLength: 1, maxLength: 3 })).map(([value, ms]) => {
    const copy = value && typeof value === 'object' && !Array.isArray(value) ? (structuredClone(value) as Record<string, unknown>) : {};
    for (const m of ms) m(copy);
    return copy;
  });
}

/** A value for a parameter as it travels: a string (or, for a query, several). */
export function parameterValue(schema: Schema, name: string, pools: Pools): fc.Arbitrary<string | string[]> {
  const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');
  const edge = boundaryValue(schema);
  return fc.oneof(
    { weight: 7, arbitrary: validValue({ ...schema, nullable: false }, pools, name).map(asText) },
    { weight: 2, arbitrary: hostileValue.map(asText) },
    { weight: edge ? 1 : 0, arbitrary: (edge ?? fc.constant('')).map(asText) },
    { weight: 1, arbitrary: fc.array(validValue({ ...schema, nullable: false }, pools, name).map(asText), { minLength: 2, maxLength: 3 }) },
  );
}

/** A JSON request body: valid, bent, not an object at all, malformed, missing, or under another media type. */
export type Body =
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; contentType: string; text: string }
  | { kind: 'binary'; contentType: string; bytes: Uint8Array }
  | { kind: 'none' };

const MALFORMED_JSON = ['{', '{"a":', '[1,2', '{"a":1}}', 'nul', "{'a':1}", '{"a":1,}', '\u0000', '{"a":"\\u00"}', '{"a":01}', '--', '{"a":1}\n{"b":2}', '\ufeff{}', ' '];

/** Valid JSON text that parses to something JSON.stringify never writes. */
const TWISTS: ((json: string) => string)[] = [
  (j) => j.replace(/:(-?\d+)([,}])/, ':1e999$2'), // Infinity
  (j) => j.replace(/:(-?\d+)([,}])/, ':-0.0e0$2'),
  (j) => (j === '{}' ? '{"__proto__":{"polluted":true}}' : j.replace(/^\{/, '{"__proto__":{"polluted":true},')), // an own __proto__ property
  (j) => j.replace(/^\{"([^"]+)":/, '{"$1":null,"$1":'), // a duplicate key
  (j) => j.replace(/"((?:[^"\\]|\\.)*)"/, (_, text: string) => `"${text.replace(/[a-z]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`), // escaped letters
];

export function jsonBody(schema: Schema | undefined, pools: Pools): fc.Arbitrary<Body> {
  const valid = schema ? validValue(schema, pools) : fc.constant({});
  const json = (a: fc.Arbitrary<unknown>) => a.map((value): Body => ({ kind: 'json', value }));
  return fc.oneof(
    { weight: 8, arbitrary: json(valid) },
    { weight: schema?.properties ? 6 : 0, arbitrary: json(schema?.properties ? mutatedObject(schema, pools) : fc.constant({})) },
    { weight: 1, arbitrary: json(hostileValue) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...MALFORMED_JSON), valid.map((v) => JSON.stringify(v).slice(0, -1))).map((text): Body => ({ kind: 'text', contentType: 'application/json', text })) },
    { weight: 1, arbitrary: fc.tuple(valid, fc.constantFrom(...TWISTS)).map(([v, twist]): Body => ({ kind: 'text', contentType: 'application/json', text: twist(JSON.stringify(v)) })) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/vnd.api+json'), valid)
        .map(([contentType, v]): Body => ({ kind: 'text', contentType, text: contentType.includes('urlencoded') ? new URLSearchParams(flat(v)).toString() : JSON.stringify(v) })),
    },
  );
}

const flat = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)])) : { value: String(v) };

/** Bytes for routes that take a file: empty, small, PDF-looking, or anything. */
export function binaryBody(contentTypes: fc.Arbitrary<string>): fc.Arbitrary<Body> {
  const pdf = fc.uint8Array({ maxLength: 2048 }).map((b) => new Uint8Array([...Buffer.from('%PDF-1.7\n'), ...b, ...Buffer.from('\n%%EOF\n')]));
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(contentTypes, fc.oneof(pdf, fc.uint8Array({ minLength: 1, maxLength: 4096 }))).map(([contentType, bytes]): Body => ({ kind: 'binary', contentType, bytes })) },
    { weight: 1, arbitrary: contentTypes.map((contentType): Body => ({ kind: 'binary', contentType, bytes: new Uint8Array() })) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'json', value: { file: 'not bytes' } }) },
  );
}

/** Header values a client can send at all (visible ASCII), valid-looking or not. */
export const headerText = fc.oneof(
  fc.string({ maxLength: 60, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
  fc.constantFrom('', ' ', 'null', 'application/pdf', 'image/png', 'text/plain', 'application/octet-stream', 'application/json', 'x/y; q=1', 'attachment', 'attachment; filename="dpa.pdf"',
    "attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf", "attachment; filename*=UTF-8''%zz.pdf", 'attachment; filename="../../etc/passwd"', 'inline; filename=""', 'a'.repeat(4000)),
);
