import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { Clock } from '../common/clock';
import { CustomersService } from '../customers/customers.service';
import { DATA_CATEGORIES, type DataCategory } from '../dpas/dpa.entity';
import { PreviewCategory, RetentionPreviewQuery, RetentionPreviewResponse } from './dto/retention-preview.dto';
import { effectiveRetentionSql, expiredKeysSql, expirySql, heldSql } from './retention-sql';

interface Row {
  customer_id: string;
  category: DataCategory;
  keys: number | null;
  messages: number;
  held: number;
  earliest_expiry: Date | null;
  first_day: string | null;
  last_day: string | null;
}

/** The messages of the day of `d` (a date expression) of the customer `customerExpr`, as a WHERE fragment on `m`. */
const onDay = (customerExpr: string, d: string) =>
  `m.customer_id = ${customerExpr} AND m.submitted_at >= (${d}::timestamp AT TIME ZONE 'UTC') AND m.submitted_at < ((${d} + 1)::timestamp AT TIME ZONE 'UTC')`;

/** A value is still readable while its ciphertext is there and its key is not destroyed. */
const readable = (category: 'msisdn' | 'body') =>
  `(m.${category}_ciphertext IS NOT NULL AND EXISTS (SELECT 1 FROM data_keys x WHERE x.id = m.${category}_key_id AND x.destroyed_at IS NULL))`;

/**
 * PII: per expired key (expiredKeysSql), the readable values under it, held or not. A key's
 * messages are found through the (customer, submitted_at) index over the key's day. The purge
 * destroys a key unless every value under it is held (held values among unheld ones are moved
 * under a hold key first).
 */
const PII_SQL = `
  WITH expired AS (
    SELECT e.id, e.customer_id, e.day::date AS day, e.category, e.kind, e.expires_at
      FROM (${expiredKeysSql('$1')}) e
     WHERE $2::uuid IS NULL OR e.customer_id = $2::uuid
  ), per_key AS (
    SELECT e.customer_id, e.category, e.kind, e.day, e.expires_at,
           count(v.held) FILTER (WHERE NOT v.held) AS unheld, count(v.held) FILTER (WHERE v.held) AS held
      FROM expired e
      LEFT JOIN LATERAL (
        SELECT ${heldSql('m')} AS held
          FROM messages m
         WHERE ${onDay('e.customer_id', 'e.day')}
           AND CASE WHEN e.category = 'msisdn' THEN m.msisdn_key_id = e.id AND m.msisdn_ciphertext IS NOT NULL
                    ELSE m.body_key_id = e.id AND m.body_ciphertext IS NOT NULL END
      ) v ON TRUE
     GROUP BY e.id, e.customer_id, e.category, e.kind, e.day, e.expires_at
  )
  SELECT customer_id, category,
         (count(*) FILTER (WHERE unheld > 0 OR held = 0))::int AS keys,
         sum(unheld)::int AS messages, sum(held)::int AS held,
         min(expires_at) FILTER (WHERE unheld > 0) AS earliest_expiry,
         to_char(min(day) FILTER (WHERE unheld > 0), 'YYYY-MM-DD') AS first_day,
         to_char(max(day) FILTER (WHERE unheld > 0), 'YYYY-MM-DD') AS last_day
    FROM per_key
   GROUP BY customer_id, category`;

/**
 * Delivery metadata: message rows of days whose metadata retention has expired. A row goes once
 * its phone number and body are both gone already (the purge deletes a row only then) and no
 * hold covers it; held rows are counted apart.
 */
const METADATA_SQL = `
  WITH r AS (${effectiveRetentionSql('$1')}), expired_days AS (
    SELECT k.customer_id, k.day, ${expirySql('k.day', 'r.days')} AS expires_at
      FROM data_keys k
      JOIN r ON r.customer_id = k.customer_id AND r.category = 'delivery_metadata'
     WHERE k.kind = 'day' AND k.category = 'msisdn' AND r.days IS NOT NULL AND ${expirySql('k.day', 'r.days')} <= $1
       AND ($2::uuid IS NULL OR k.customer_id = $2::uuid)
  )
  SELECT d.customer_id, 'delivery_metadata' AS category, NULL AS keys,
         (count(*) FILTER (WHERE v.gone AND NOT v.held))::int AS messages, (count(*) FILTER (WHERE v.held))::int AS held,
         min(d.expires_at) FILTER (WHERE v.gone AND NOT v.held) AS earliest_expiry,
         to_char(min(d.day) FILTER (WHERE v.gone AND NOT v.held), 'YYYY-MM-DD') AS first_day,
         to_char(max(d.day) FILTER (WHERE v.gone AND NOT v.held), 'YYYY-MM-DD') AS last_day
    FROM expired_days d
    JOIN LATERAL (
      SELECT ${heldSql('m')} AS held, NOT ${readable('msisdn')} AND NOT ${readable('body')} AS gone
        FROM messages m
       WHERE ${onDay('d.customer_id', 'd.day')}
    ) v ON TRUE
   GROUP BY d.customer_id`;

/** What the next purge would destroy now, without changing anything. */
@Injectable()
export class RetentionPreviewService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly customers: CustomersService,
  ) {}

  async preview(actor: Actor, query: RetentionPreviewQuery): Promise<RetentionPreviewResponse> {
    // One snapshot for both queries, and a guarantee that nothing here writes.
    return this.dataSource.transaction('REPEATABLE READ', async (em) => {
      await em.query('SET TRANSACTION READ ONLY');
      if (query.customerId) await this.customers.load(em, actor, 'read', query.customerId);
      const at = this.clock.now();
      const params = [at, query.customerId ?? null];
      const rows = [...((await em.query(PII_SQL, params)) as Row[]), ...((await em.query(METADATA_SQL, params)) as Row[])];
      const ids = new Set(rows.filter((r) => r.keys || r.messages || r.held).map((r) => r.customer_id));
      if (query.customerId) ids.add(query.customerId);
      const names = await this.legalNames(em, [...ids]);
      return {
        at: at.toISOString(),
        customers: [...ids].sort((a, b) => names.get(a)!.localeCompare(names.get(b)!) || a.localeCompare(b)).map((customerId) => ({
          customerId,
          legalName: names.get(customerId)!,
          categories: DATA_CATEGORIES.map((category) => toCategory(category, rows.find((r) => r.customer_id === customerId && r.category === category), at)),
        })),
      };
    });
  }

  private async legalNames(em: EntityManager, ids: string[]): Promise<Map<string, string>> {
    const rows = (await em.query('SELECT id, legal_name FROM customers WHERE id = ANY($1::uuid[])', [ids])) as { id: string; legal_name: string }[];
    return new Map(rows.map((r) => [r.id, r.legal_name]));
  }
}

function toCategory(category: DataCategory, row: Row | undefined, at: Date): PreviewCategory {
  const earliest = row?.earliest_expiry ? new Date(row.earliest_expiry) : null;
  return {
    category,
    keys: category === 'delivery_metadata' ? null : (row?.keys ?? 0),
    messages: row?.messages ?? 0,
    heldMessages: row?.held ?? 0,
    earliestExpiry: earliest?.toISOString() ?? null,
    overdueSeconds: earliest ? Math.floor((at.getTime() - earliest.getTime()) / 1000) : null,
    days: row?.first_day && row.last_day ? { from: row.first_day, to: row.last_day } : null,
  };
}
