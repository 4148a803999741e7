/*
 * Mass-assignment probes below the top level of a JSON body (test/access-matrix.e2e-spec.ts): fields a client must
 * never set, slipped into every object a write body holds or that its OpenAPI schema lets it hold — nested objects
 * and objects inside arrays, at any depth.
 */

export interface Schema {
  $ref?: string;
  allOf?: Schema[];
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
}

export interface OpenApi {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>;
  components: { schemas: Record<string, Schema> };
}

/** Deep enough for every DTO here; a guard against a schema that refers to itself. */
const MAX_DEPTH = 6;

/** The JSON body schema of "METHOD /path/:param"; undefined when the route takes no JSON body. */
export function bodySchema(openapi: OpenApi, route: string): Schema | undefined {
  const [method, path] = route.split(' ');
  return openapi.paths[path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[method.toLowerCase()]?.requestBody?.content['application/json']?.schema;
}

/** The properties a schema declares, $ref and allOf followed. */
export function propertiesOf(openapi: OpenApi, schema: Schema | undefined, depth = 0): Record<string, Schema> {
  if (!schema || depth > MAX_DEPTH) return {};
  if (schema.$ref) return propertiesOf(openapi, openapi.components.schemas[schema.$ref.split('/').pop()!], depth + 1);
  return Object.assign({}, schema.properties ?? {}, ...(schema.allOf ?? []).map((s) => propertiesOf(openapi, s, depth + 1)));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a property holds, as far as injecting goes: an object with fields of its own, an array of such, or neither. */
function shapeOf(openapi: OpenApi, schema: Schema | undefined, depth: number): 'object' | 'array' | undefined {
  if (!schema || depth > MAX_DEPTH) return undefined;
  if (schema.$ref || schema.allOf) return Object.keys(propertiesOf(openapi, schema, depth)).length ? 'object' : undefined;
  if (schema.type === 'array') return shapeOf(openapi, schema.items, depth + 1) === 'object' ? 'array' : undefined;
  return schema.properties && Object.keys(schema.properties).length ? 'object' : undefined;
}

export interface NestedProbe {
  /** A copy of the body with the extras below its top level. */
  body: Record<string, unknown>;
  /** Each injected field as the validation names it: "sections.id", "overrides.dpc.role", "records.0.customerId". */
  injected: string[];
  /** Per nested object, the extras it was not given because its schema takes them or the body already sets them. */
  kept: Record<string, string[]>;
}

/**
 * Every nested object gets each extra its own schema does not take and the body does not already set: those the
 * body holds, and one of each kind its schema declares but the body leaves out (an array of them gets one element).
 * The top level is left alone: it is probed on its own.
 */
export function injectBelowTop(openapi: OpenApi, schema: Schema | undefined, body: Record<string, unknown>, extras: () => Record<string, unknown>): NestedProbe {
  const probe: NestedProbe = { body: structuredClone(body), injected: [], kept: {} };
  const walk = (value: Record<string, unknown>, own: Schema | undefined, path: string, depth: number) => {
    const props = propertiesOf(openapi, own);
    if (depth <= MAX_DEPTH) {
      for (const key of new Set([...Object.keys(value), ...Object.keys(props)])) {
        const at = path ? `${path}.${key}` : key;
        const item = props[key]?.type === 'array' ? props[key].items : undefined;
        if (isObject(value[key])) walk(value[key], props[key], at, depth + 1);
        else if (Array.isArray(value[key])) (value[key] as unknown[]).forEach((v, i) => isObject(v) && walk(v, item, `${at}.${i}`, depth + 1));
        else if (value[key] === undefined && shapeOf(openapi, props[key], depth) === 'object') walk((value[key] = {}), props[key], at, depth + 1);
        else if (value[key] === undefined && shapeOf(openapi, props[key], depth) === 'array') walk(((value[key] = [{}]) as Record<string, unknown>[])[0], item, `${at}.0`, depth + 1);
      }
    }
    if (!path) return;
    const all = extras();
    const kept = Object.keys(all).filter((k) => k in props || k in value);
    if (kept.length) probe.kept[path] = kept.sort();
    for (const [k, v] of Object.entries(all)) {
      if (kept.includes(k)) continue;
      value[k] = v;
      probe.injected.push(`${path}.${k}`);
    }
  };
  walk(probe.body, schema, '', 0);
  return probe;
}
