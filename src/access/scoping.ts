import { rulesToAST } from '@casl/ability/extra';
import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { Action, AppAbility, Subject } from './ability';

/** Parameter names stay unique when several scoped entities meet in one query. */
let parameterSeq = 0;

interface Node {
  operator: string;
  field?: string;
  value: unknown;
}

/**
 * Narrows a list query by the same CASL rules that guard single rows, so a list never shows a
 * row that a direct read would refuse. CASL flattens the rules into a condition tree, which is
 * written as SQL here; the operators our ability table uses (and, or, not, eq, in) are
 * supported, anything else fails loudly rather than widening the list.
 */
export function scopeQuery<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, ability: AppAbility, action: Action, subject: Subject): SelectQueryBuilder<T> {
  const ast = rulesToAST(ability, action, subject) as Node | null;
  if (ast === null) return qb.andWhere('FALSE');
  const params: Record<string, unknown> = {};
  const sql = toSql(ast, qb.alias, params);
  return qb.andWhere(`(${sql})`, params);
}

/**
 * What scopeQuery would narrow a list by, as text: part of the key of a kept list answer, so that
 * callers with the same scope share it and no other caller gets it (see ReadCache).
 */
export function scopeKey(ability: AppAbility, action: Action, subject: Subject): string {
  // An actor's ability is built once per user and kept (AuthService), so its keys are worth remembering.
  let keys = scopeKeys.get(ability);
  if (!keys) scopeKeys.set(ability, (keys = new Map()));
  const name = `${action} ${subject}`;
  let key = keys.get(name);
  if (key === undefined) keys.set(name, (key = JSON.stringify(rulesToAST(ability, action, subject))));
  return key;
}

const scopeKeys = new WeakMap<AppAbility, Map<string, string>>();

function toSql(node: Node, alias: string, params: Record<string, unknown>): string {
  const children = () => (node.value as Node[]).map((child) => toSql(child, alias, params));
  switch (node.operator) {
    case 'and':
      return (node.value as Node[]).length ? children().map((c) => `(${c})`).join(' AND ') : 'TRUE';
    case 'or':
      return (node.value as Node[]).length ? children().map((c) => `(${c})`).join(' OR ') : 'FALSE';
    case 'not':
      return `NOT (${children().join(' AND ')})`;
    case 'eq':
    case 'in': {
      if (!node.field || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(node.field)) throw new Error(`unsupported condition field ${String(node.field)}`);
      const column = `${alias}.${node.field}`;
      const values = node.operator === 'eq' ? [node.value] : (node.value as unknown[]);
      const present = values.filter((v) => v !== null);
      // Two-valued logic, as CASL's own matcher: a NULL column matches only an explicit null,
      // and NOT (...) around a comparison must not turn NULL rows into "unknown" and drop them.
      const terms = values.length > present.length ? [`${column} IS NULL`] : [];
      if (present.length) {
        const name = `scope_${++parameterSeq}`;
        params[name] = present;
        terms.push(`(${column} IN (:...${name}) AND ${column} IS NOT NULL)`);
      }
      return terms.length ? terms.join(' OR ') : 'FALSE';
    }
    default:
      throw new Error(`unsupported condition operator ${node.operator}`);
  }
}
