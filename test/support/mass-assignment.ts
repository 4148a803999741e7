import { type OpenApiDocument, resolve, type Schema } from './fuzz-openapi';

/*
 * Mass-assignment probes below the top level of a JSON body (test/access-matrix.e2e-spec.ts): fields a client must
 * never set, slipped into every object a write body holds or that its OpenAPI schema lets it hold — nested objects
 * and objects inside arrays, at any depth.
 */

/**
 * The JSON body schema of "METHOD /path/:param", its `$ref`s and `allOf`s folded in (fuzz-openapi's resolve);
 * undefined when the route takes no JSON body.
 */
export function bodySchema(openapi: OpenApiDocument, route: string): Schema | undefined {
  const [method, path] = route.split(' ');
  const schema = openapi.paths[path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[method.toLowerCase()]?.requestBody?.content['application/json']?.schema;
  return schema && resolve(openapi, schema);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasFields = (schema: Schema | undefined) => Object.keys(schema?.properties ?? {}).length > 0;

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
 * The top level is left alone: it is probed on its own. `schema` is a resolved one (bodySchema).
 */
export function injectBelowTop(schema: Schema | undefined, body: Record<string, unknown>, extras: () => Record<string, unknown>): NestedProbe {
  const probe: NestedProbe = { body: structuredClone(body), injected: [], kept: {} };
  const walk = (value: Record<string, unknown>, own: Schema | undefined, path: string) => {
    const props = own?.properties ?? {};
    for (const key of new Set([...Object.keys(value), ...Object.keys(props)])) {
      const at = path ? `${path}.${key}` : key;
      const item = props[key]?.type === 'array' ? props[key].items : undefined;
      if (isObject(value[key])) walk(value[key], props[key], at);
      else if (Array.isArray(value[key])) (value[key] as unknown[]).forEach((v, i) => isObject(v) && walk(v, item, `${at}.${i}`));
      else if (value[key] === undefined && hasFields(props[key])) walk((value[key] = {}), props[key], at);
      else if (value[key] === undefined && hasFields(item)) walk(((value[key] = [{}]) as Record<string, unknown>[])[0], item, `${at}.0`);
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
  walk(probe.body, schema, '');
  return probe;
}
