import type { TestApp } from './app';

/**
 * What "the request changed nothing" is checked against: for every application table (the public
 * schema; pg-boss keeps its own) its row count and the newest row version (max xmin: any insert or
 * update writes a row version with a newer transaction id, a delete lowers the count), and the
 * head of the audit chain.
 */
export interface DatabaseState {
  counts: Record<string, number>;
  versions: Record<string, string>;
  auditHead: string | null;
}

/**
 * Tables whose rows change by themselves after a successful request: queued mail is delivered
 * (status, attempts, sent_at) by the queue worker. Their row counts are still compared.
 */
const CHANGING_ON_THEIR_OWN = new Set(['mails']);

export class StateReader {
  private sql?: string;

  constructor(private readonly t: TestApp) {}

  private async query(): Promise<string> {
    if (this.sql) return this.sql;
    const tables = await this.t.db.superuser<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c
       WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    if (tables.length < 10) throw new Error(`expected the application's tables in the public schema, found ${tables.map((r) => r.name).join(', ')}`);
    const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
    this.sql = [
      ...tables.map(({ name }) =>
        `SELECT '${name}' AS name, count(*)::int AS n, ${CHANGING_ON_THEIR_OWN.has(name) ? `''` : 'coalesce(max(xmin::text::bigint), 0)::text'} AS v FROM ${q(name)}`),
      `(SELECT '' AS name, 0 AS n, seq::text || ' ' || hash AS v FROM audit_log ORDER BY seq DESC LIMIT 1)`,
    ].join('\nUNION ALL\n');
    return this.sql;
  }

  async read(): Promise<DatabaseState> {
    const rows = await this.t.db.superuser<{ name: string; n: number; v: string }>(await this.query());
    const tables = rows.filter((r) => r.name);
    return {
      counts: Object.fromEntries(tables.map((r) => [r.name, r.n])),
      versions: Object.fromEntries(tables.map((r) => [r.name, r.v])),
      auditHead: rows.find((r) => !r.name)?.v ?? null,
    };
  }
}

/** What differs between two states, in words; `ignore` names tables a route may change when it refuses. */
export function stateChanges(before: DatabaseState, after: DatabaseState, ignore: ReadonlySet<string> = new Set()): string[] {
  const changes: string[] = [];
  for (const table of new Set([...Object.keys(before.counts), ...Object.keys(after.counts)])) {
    if (ignore.has(table)) continue;
    if (before.counts[table] !== after.counts[table]) changes.push(`${table}: ${before.counts[table]} rows -> ${after.counts[table]}`);
    else if (before.versions[table] !== after.versions[table]) changes.push(`${table}: rows changed`);
  }
  if (before.auditHead !== after.auditHead) changes.push(`audit head: ${before.auditHead?.split(' ')[0] ?? 'none'} -> ${after.auditHead?.split(' ')[0] ?? 'none'}`);
  return changes;
}
