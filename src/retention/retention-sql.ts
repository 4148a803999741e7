import { EntityManager } from 'typeorm';

/**
 * The SQL every part of retention agrees on, kept in one place.
 *
 * Retention counts whole UTC days after the day of submission: with N days, the data of UTC day D
 * is readable until D + 1 + N at 00:00 UTC and unreadable from then on. Data keys are per UTC day,
 * so this is the earliest moment a whole day's key may go without destroying some of that day's
 * data before its time.
 */

/**
 * Rows (customer_id, category, days): each customer's effective retention per category at `$at`
 * (`atParam` names that SQL parameter, e.g. '$1'):
 * - its own policy, or else the default;
 * - never longer than the maximum of its latest agreement activated by then — the one in force, or,
 *   once that has lapsed or ended with no successor, still the last terms the customer agreed to
 *   (the same activation times DpasService.activeAgreements reads);
 * - phone number and body never longer than the delivery metadata: a message row is deleted when
 *   its metadata expires, and its values must not outlive it. (Policy changes are refused when they
 *   would need this cap — see RetentionPoliciesService — so it only bites when a DPA's maximum for
 *   delivery metadata is below its phone-number or body retention; `capPiiByMetadata: false` gives
 *   the uncapped numbers that check reads.)
 */
export const effectiveRetentionSql = (atParam: string, { capPiiByMetadata = true } = {}) => `
  WITH chosen AS (
    SELECT c.id AS customer_id, cat.category,
           LEAST(COALESCE(own.days, dflt.days), (dpa.max_retention_days ->> cat.category)::int) AS days
      FROM customers c
     CROSS JOIN (VALUES ('body'), ('msisdn'), ('delivery_metadata')) AS cat(category)
      LEFT JOIN retention_policies own ON own.customer_id = c.id AND own.category = cat.category
      LEFT JOIN retention_policies dflt ON dflt.customer_id IS NULL AND dflt.category = cat.category
      LEFT JOIN LATERAL (
        SELECT d.max_retention_days FROM dpas d
         WHERE d.customer_id = c.id AND d.activated_at <= ${atParam}
         ORDER BY d.activated_at DESC LIMIT 1) dpa ON true)
  SELECT r.customer_id, r.category,
         ${capPiiByMetadata ? "CASE WHEN r.category = 'delivery_metadata' THEN r.days ELSE LEAST(r.days, md.days) END" : 'r.days'} AS days
    FROM chosen r
    JOIN chosen md ON md.customer_id = r.customer_id AND md.category = 'delivery_metadata'`;

/** The moment data of UTC day `dayExpr` (a date) with `daysExpr` days of retention expires. */
export const expirySql = (dayExpr: string, daysExpr: string) => `((${dayExpr} + 1 + ${daysExpr})::timestamp AT TIME ZONE 'UTC')`;

/** True for a message row (alias `m`) that an active legal hold covers. */
export const heldSql = (m = 'm') => `EXISTS (
    SELECT 1 FROM legal_holds h
     WHERE h.customer_id = ${m}.customer_id AND h.released_at IS NULL
       AND (h.msisdn_hash IS NULL OR h.msisdn_hash = ${m}.msisdn_hash)
       AND (h.from_at IS NULL OR ${m}.submitted_at >= h.from_at)
       AND (h.to_at IS NULL OR ${m}.submitted_at < h.to_at))`;

const HOLD_LOCK = 0x484f_4c44; // "HOLD", with the customer's hash
const ALL_HOLDS_LOCK = [0x4841_4c4c, 0]; // "HALL"

/**
 * Serialises, per customer, placing and releasing legal holds with destroying that customer's
 * data (purge, erasure): a hold placed while a key is being destroyed either is seen by the
 * destruction or waits for it to finish. Taken inside the caller's transaction, before it locks
 * anything else: exclusive on the customer's lock and shared on the lock that the purge's bulk
 * destruction of all customers' keys takes exclusively (lockAllHolds).
 */
export async function lockCustomerHolds(em: EntityManager, customerId: string): Promise<void> {
  await em.query('SELECT pg_advisory_xact_lock_shared($1, $2), pg_advisory_xact_lock($3, hashtext($4))', [...ALL_HOLDS_LOCK, HOLD_LOCK, customerId]);
}

/**
 * lockCustomerHolds for every customer at once, for the length of the caller's transaction: one
 * lock, however many customers, for the purge's one statement that destroys every unheld expired key.
 */
export async function lockAllHolds(em: EntityManager): Promise<void> {
  await em.query('SELECT pg_advisory_xact_lock($1, $2)', ALL_HOLDS_LOCK);
}

/**
 * Data keys that have expired by `$at` and still exist (`atParam` names that parameter), with the
 * moment each expired: (id, customer_id, day 'YYYY-MM-DD', category, kind, expires_at). Hold keys
 * are included: whether their values may go depends on the holds, which the caller checks.
 */
export const expiredKeysSql = (atParam: string) => `
  SELECT k.id, k.customer_id, to_char(k.day, 'YYYY-MM-DD') AS day, k.category, k.kind, ${expirySql('k.day', 'r.days')} AS expires_at
    FROM data_keys k
    JOIN (${effectiveRetentionSql(atParam)}) r ON r.customer_id = k.customer_id AND r.category = k.category
   WHERE k.destroyed_at IS NULL AND r.days IS NOT NULL AND ${expirySql('k.day', 'r.days')} <= ${atParam}`;

/** True when an active hold of the key's customer (alias `k`) may cover part of its day. */
export const dayMayBeHeldSql = (k = 'k') => `EXISTS (
    SELECT 1 FROM legal_holds h
     WHERE h.customer_id = ${k}.customer_id AND h.released_at IS NULL
       AND (h.from_at IS NULL OR h.from_at < ((${k}.day + 1)::timestamp AT TIME ZONE 'UTC'))
       AND (h.to_at IS NULL OR h.to_at > (${k}.day::timestamp AT TIME ZONE 'UTC')))`;
