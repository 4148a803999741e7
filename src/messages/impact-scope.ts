import { EntityManager } from 'typeorm';
import { PII_CATEGORIES, type PiiCategory } from './message.entity';

export interface ImpactScopeQuery {
  /** The sub-processors concerned (a message through several of them counts once). */
  subprocessorIds: string[];
  /** The window of submitted-at: from included, to excluded. */
  from: Date;
  to: Date;
  /** Only these customers (all when absent). */
  customerIds?: string[];
}

export interface CustomerImpact {
  customerId: string;
  /** Messages that went through at least one of the sub-processors in the window. */
  messageCount: number;
  /**
   * Distinct data subjects (phone numbers) among them, counted by blind index — nothing is
   * decrypted. Messages whose phone number is already destroyed no longer count here.
   */
  distinctSubjects: number;
  /**
   * PII categories that may still be read: a data key of the customer for a day of its affected
   * messages still exists (destroyed keys make their values unreadable everywhere, backups included).
   */
  readableCategories: PiiCategory[];
  destinationCountries: string[];
  firstMessageAt: Date;
  lastMessageAt: Date;
}

export interface ImpactScope {
  /** By customer id. */
  customers: CustomerImpact[];
  /** Sums over customers. The blind index is per customer, so one person at two customers counts twice. */
  totals: { customers: number; messageCount: number; distinctSubjects: number };
}

interface ScopeRow {
  customer_id: string;
  messages: number;
  subjects: number;
  countries: (string | null)[];
  missing_countries: number;
  first_at: Date;
  last_at: Date;
  readable: string[];
}

const EMPTY: ImpactScope = { customers: [], totals: { customers: 0, messageCount: 0, distinctSubjects: 0 } };

/** The smallest UUIDv7 (see message-id.ts) of a moment: message ids of a window lie in [lowestId(from), lowestId(to)). */
const lowestId = (at: Date) => {
  const hex = at.getTime().toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
};

/** Customer ids below it form one half of the work and the rest the other (ids are random). */
const SPLIT = '80000000-0000-0000-0000-000000000000';

/*
 * Parameters: $1 the sub-processor (one) or sub-processors (several), $2 and $3 the id range of
 * the window, $4 SPLIT, $5 the sub-processors as an array, $6 the customers (when narrowed).
 */
const scopeSql = (several: boolean, narrowed: boolean) => {
  // With one sub-processor the planner knows, from the equality, that a customer's rows come in
  // message id order, so counting a message once needs no sort.
  const through = several ? 'h.subprocessor_id = ANY($1::uuid[])' : 'h.subprocessor_id = $1::uuid';
  const half = (side: '<' | '>=') => `
    SELECT h.customer_id, count(DISTINCT h.message_id)::int AS messages, count(DISTINCT h.subject)::int AS subjects,
           array_agg(DISTINCT h.destination_country COLLATE "C") AS countries,
           count(*) FILTER (WHERE h.destination_country IS NULL)::int AS missing_countries
      FROM message_hops h
     WHERE h.customer_id ${side} $4::uuid ${narrowed ? 'AND h.customer_id = ANY($6::uuid[])' : ''}
       AND ${through} AND h.message_id >= $2::uuid AND h.message_id < $3::uuid
     GROUP BY h.customer_id`;
  // First and last affected message of each customer: one index probe each way per sub-processor.
  const probe = (order: 'ASC' | 'DESC', alias: string) => `LEFT JOIN LATERAL (
      SELECT h.message_id FROM message_hops h
       WHERE h.customer_id = a.customer_id AND h.subprocessor_id = s.id AND h.message_id >= $2::uuid AND h.message_id < $3::uuid
       ORDER BY h.message_id ${order} LIMIT 1) ${alias} ON true`;
  return `
    WITH counted AS MATERIALIZED (${half('<')} UNION ALL ${half('>=')}),
    spans AS MATERIALIZED (
      SELECT customer_id, first_at, last_at, (first_at AT TIME ZONE 'UTC')::date AS first_day, (last_at AT TIME ZONE 'UTC')::date AS last_day
        FROM (SELECT a.customer_id, min(uuid_extract_timestamp(f.message_id)) AS first_at, max(uuid_extract_timestamp(l.message_id)) AS last_at
                FROM counted a CROSS JOIN unnest($5::uuid[]) AS s(id) ${probe('ASC', 'f')} ${probe('DESC', 'l')}
               GROUP BY a.customer_id) t),
    readable AS (
      SELECT k.customer_id, array_agg(DISTINCT k.category ORDER BY k.category) AS categories
        FROM data_keys k JOIN spans sp ON sp.customer_id = k.customer_id AND k.day >= sp.first_day AND k.day <= sp.last_day
       WHERE k.destroyed_at IS NULL AND k.day >= (SELECT min(first_day) FROM spans) AND k.day <= (SELECT max(last_day) FROM spans)
       GROUP BY k.customer_id)
    SELECT a.*, sp.first_at, sp.last_at, coalesce(r.categories, '{}') AS readable
      FROM counted a JOIN spans sp ON sp.customer_id = a.customer_id LEFT JOIN readable r ON r.customer_id = a.customer_id
     ORDER BY a.customer_id`;
};

/**
 * Impact scope of a breach at some sub-processors over a time window (DESIGN.md §6, the breach
 * workflow's scoping step): per customer, how many messages and distinct people went through them,
 * which PII categories may still be read, and the destination countries. Reads no PII: people are
 * counted by their blind index.
 *
 * Works on message_hops' scope index (customer, sub-processor, message id, subject, country) alone.
 * Message ids are UUIDv7 carrying submitted-at (message-id.ts), so the window is an id range that
 * PostgreSQL 18 skips to customer by customer: the rows arrive grouped by customer and, per
 * sub-processor, in id order, so counting a message once — however often it went through the
 * listed sub-processors — is a comparison with its neighbour. The customers are split in two
 * halves that PostgreSQL aggregates in parallel. Hops stored before they carried the destination
 * country have theirs looked up in messages, for those customers only.
 */
export async function impactScope(em: EntityManager, query: ImpactScopeQuery): Promise<ImpactScope> {
  if (Number.isNaN(query.from.getTime()) || Number.isNaN(query.to.getTime())) throw new TypeError('impactScope needs a valid from and to');
  const subprocessorIds = [...new Set(query.subprocessorIds)];
  if (!subprocessorIds.length || query.from >= query.to || query.customerIds?.length === 0) return EMPTY;
  const several = subprocessorIds.length > 1;
  const params: unknown[] = [several ? subprocessorIds : subprocessorIds[0], lowestId(query.from), lowestId(query.to), SPLIT, subprocessorIds];
  if (query.customerIds) params.push(query.customerIds);
  const rows = (await em.query(scopeSql(several, !!query.customerIds), params)) as ScopeRow[];
  if (!rows.length) return EMPTY;

  const lateCountries = await countriesFromMessages(em, rows.filter((r) => r.missing_countries > 0).map((r) => r.customer_id), subprocessorIds, params);
  const customers = rows.map((r): CustomerImpact => ({
    customerId: r.customer_id,
    messageCount: r.messages,
    distinctSubjects: r.subjects,
    readableCategories: r.readable.filter((c): c is PiiCategory => (PII_CATEGORIES as readonly string[]).includes(c)),
    destinationCountries: [...new Set([...r.countries.filter((c): c is string => c !== null), ...(lateCountries.get(r.customer_id) ?? [])])].sort(),
    firstMessageAt: r.first_at,
    lastMessageAt: r.last_at,
  }));
  return {
    customers,
    totals: {
      customers: customers.length,
      messageCount: customers.reduce((sum, c) => sum + c.messageCount, 0),
      distinctSubjects: customers.reduce((sum, c) => sum + c.distinctSubjects, 0),
    },
  };
}

/** Destination countries of the affected hops that do not carry theirs, from their messages. */
async function countriesFromMessages(em: EntityManager, customerIds: string[], subprocessorIds: string[], params: unknown[]): Promise<Map<string, string[]>> {
  if (!customerIds.length) return new Map();
  const found = (await em.query(
    `SELECT h.customer_id, array_agg(DISTINCT m.destination_country) AS countries
       FROM message_hops h JOIN messages m ON m.id = h.message_id AND m.submitted_at = h.submitted_at
      WHERE h.customer_id = ANY($1::uuid[]) AND h.subprocessor_id = ANY($2::uuid[]) AND h.message_id >= $3::uuid AND h.message_id < $4::uuid
        AND h.destination_country IS NULL
      GROUP BY h.customer_id`,
    [customerIds, subprocessorIds, params[1], params[2]],
  )) as { customer_id: string; countries: string[] }[];
  return new Map(found.map((f) => [f.customer_id, f.countries]));
}
