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
}

/** The smallest UUIDv7 (see message-id.ts) of a moment: message ids of a window lie in [lowestId(from), lowestId(to)). */
const lowestId = (at: Date) => {
  const hex = at.getTime().toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
};

/** Customer ids below it form one half of the work and the rest the other (ids are random). */
const SPLIT = '80000000-0000-0000-0000-000000000000';

/**
 * Impact scope of a breach at some sub-processors over a time window (DESIGN.md §6): per
 * customer, how many messages and distinct people went through them, which PII categories may
 * still be read, and the destination countries.
 *
 * One index-only scan of message_hops' scope index (customer, sub-processor, message id): message
 * ids are UUIDv7 carrying submitted-at, so the window is an id range that PostgreSQL 18 skips to
 * customer by customer; rows arrive grouped by customer and, per sub-processor, in id order, so
 * counting a message once is a comparison with its neighbour. The customers are split in two
 * halves that PostgreSQL may aggregate in parallel. Hops stored before they carried the
 * destination country are looked up in messages, for those customers only.
 */
export async function impactScope(em: EntityManager, query: ImpactScopeQuery): Promise<ImpactScope> {
  if (Number.isNaN(query.from.getTime()) || Number.isNaN(query.to.getTime())) throw new TypeError('impactScope needs a valid from and to');
  const subprocessorIds = [...new Set(query.subprocessorIds)];
  if (!subprocessorIds.length || query.from >= query.to || query.customerIds?.length === 0) {
    return { customers: [], totals: { customers: 0, messageCount: 0, distinctSubjects: 0 } };
  }
  // With one sub-processor the scan is in message id order within a customer, which the planner
  // only knows from an equality.
  const through = subprocessorIds.length === 1 ? 'h.subprocessor_id = $1::uuid' : 'h.subprocessor_id = ANY($1::uuid[])';
  const params: unknown[] = [subprocessorIds.length === 1 ? subprocessorIds[0] : subprocessorIds, lowestId(query.from), lowestId(query.to), SPLIT];
  if (query.customerIds) params.push(query.customerIds);
  const half = (side: '<' | '>=') => `
    SELECT h.customer_id, count(DISTINCT h.message_id)::int AS messages, count(DISTINCT h.subject)::int AS subjects,
           array_agg(DISTINCT h.destination_country COLLATE "C") AS countries,
           count(*) FILTER (WHERE h.destination_country IS NULL)::int AS missing_countries
      FROM message_hops h
     WHERE h.customer_id ${side} $4::uuid ${query.customerIds ? 'AND h.customer_id = ANY($5::uuid[])' : ''}
       AND ${through} AND h.message_id >= $2::uuid AND h.message_id < $3::uuid
     GROUP BY h.customer_id`;
  const rows = (await em.query(`${half('<')} UNION ALL ${half('>=')}`, params)) as ScopeRow[];
  if (!rows.length) return { customers: [], totals: { customers: 0, messageCount: 0, distinctSubjects: 0 } };

  const spans = await spansAndReadable(em, rows.map((r) => r.customer_id), subprocessorIds, params);
  const lateCountries = await countriesFromMessages(em, rows, params);
  const customers = rows.map((r): CustomerImpact => {
    const span = spans.get(r.customer_id)!;
    return {
      customerId: r.customer_id,
      messageCount: r.messages,
      distinctSubjects: r.subjects,
      readableCategories: span.readable,
      destinationCountries: [...new Set([...r.countries.filter((c): c is string => c !== null), ...(lateCountries.get(r.customer_id) ?? [])])].sort(),
      firstMessageAt: span.firstAt,
      lastMessageAt: span.lastAt,
    };
  }).sort((a, b) => (a.customerId < b.customerId ? -1 : 1));
  return {
    customers,
    totals: {
      customers: customers.length,
      messageCount: customers.reduce((sum, c) => sum + c.messageCount, 0),
      distinctSubjects: customers.reduce((sum, c) => sum + c.distinctSubjects, 0),
    },
  };
}

/**
 * Per customer, its first and last affected message (one index probe each way per sub-processor)
 * and the categories with a data key (day or hold) not destroyed on a day between them.
 */
async function spansAndReadable(em: EntityManager, customerIds: string[], subprocessorIds: string[], params: unknown[]) {
  const probe = (order: 'ASC' | 'DESC') => `LEFT JOIN LATERAL (
      SELECT h.message_id FROM message_hops h
       WHERE h.customer_id = c.customer_id AND h.subprocessor_id = s.subprocessor_id AND h.message_id >= $3::uuid AND h.message_id < $4::uuid
       ORDER BY h.message_id ${order} LIMIT 1) ${order === 'ASC' ? 'f' : 'l'} ON true`;
  const rows = (await em.query(
    `WITH spans AS MATERIALIZED (
       SELECT customer_id, first_at, last_at, (first_at AT TIME ZONE 'UTC')::date AS first_day, (last_at AT TIME ZONE 'UTC')::date AS last_day
         FROM (SELECT c.customer_id, min(uuid_extract_timestamp(f.message_id)) AS first_at, max(uuid_extract_timestamp(l.message_id)) AS last_at
                 FROM unnest($1::uuid[]) AS c(customer_id) CROSS JOIN unnest($2::uuid[]) AS s(subprocessor_id) ${probe('ASC')} ${probe('DESC')}
                GROUP BY c.customer_id) t),
     readable AS (
       SELECT k.customer_id, array_agg(DISTINCT k.category ORDER BY k.category) AS categories
         FROM data_keys k JOIN spans sp ON sp.customer_id = k.customer_id AND k.day >= sp.first_day AND k.day <= sp.last_day
        WHERE k.destroyed_at IS NULL AND k.day >= (SELECT min(first_day) FROM spans) AND k.day <= (SELECT max(last_day) FROM spans)
        GROUP BY k.customer_id)
     SELECT sp.customer_id, sp.first_at, sp.last_at, coalesce(r.categories, '{}') AS readable
       FROM spans sp LEFT JOIN readable r ON r.customer_id = sp.customer_id`,
    [customerIds, subprocessorIds, params[1], params[2]],
  )) as { customer_id: string; first_at: Date; last_at: Date; readable: string[] }[];
  return new Map(rows.map((r) => [r.customer_id, {
    firstAt: r.first_at,
    lastAt: r.last_at,
    readable: r.readable.filter((c): c is PiiCategory => (PII_CATEGORIES as readonly string[]).includes(c)),
  }]));
}

/** Destination countries of affected hops that do not carry theirs, from their messages. */
async function countriesFromMessages(em: EntityManager, rows: ScopeRow[], params: unknown[]): Promise<Map<string, string[]>> {
  const customers = rows.filter((r) => r.missing_countries > 0).map((r) => r.customer_id);
  if (!customers.length) return new Map();
  const through = Array.isArray(params[0]) ? 'h.subprocessor_id = ANY($1::uuid[])' : 'h.subprocessor_id = $1::uuid';
  const found = (await em.query(
    `SELECT h.customer_id, array_agg(DISTINCT m.destination_country) AS countries
       FROM message_hops h JOIN messages m ON m.id = h.message_id AND m.submitted_at = h.submitted_at
      WHERE h.customer_id = ANY($4::uuid[]) AND ${through} AND h.message_id >= $2::uuid AND h.message_id < $3::uuid AND h.destination_country IS NULL
      GROUP BY h.customer_id`,
    [params[0], params[1], params[2], customers],
  )) as { customer_id: string; countries: string[] }[];
  return new Map(found.map((f) => [f.customer_id, f.countries]));
}
