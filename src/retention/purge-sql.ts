import { DataSource, EntityManager } from 'typeorm';
import type { PiiCategory } from '../messages/message.entity';
import { dayMayBeHeldSql, effectiveRetentionSql, expiredKeysSql, heldSql } from './retention-sql';

/**
 * SQL of the purge, built on retention-sql.ts. Keys are per customer, UTC day and category; a key
 * row is aliased `k`, a message row `m`.
 */

/** The columns holding one category's value and the key it is sealed under (constants, never input). */
export const COLUMNS: Record<PiiCategory, { keyId: string; ciphertext: string }> = {
  msisdn: { keyId: 'msisdn_key_id', ciphertext: 'msisdn_ciphertext' },
  body: { keyId: 'body_key_id', ciphertext: 'body_ciphertext' },
};

export const dayStartSql = (k = 'k') => `(${k}.day::timestamp AT TIME ZONE 'UTC')`;
export const dayEndSql = (k = 'k') => `((${k}.day + 1)::timestamp AT TIME ZONE 'UTC')`;

/**
 * Messages with a value still sealed under key `k`: the key's customer and day (so the
 * (customer_id, submitted_at) index finds them) and its id in the category's column.
 */
export const underKeySql = (k = 'k', m = 'm') => `${m}.customer_id = ${k}.customer_id
    AND ${m}.submitted_at >= ${dayStartSql(k)} AND ${m}.submitted_at < ${dayEndSql(k)}
    AND CASE ${k}.category WHEN 'msisdn' THEN ${m}.msisdn_key_id = ${k}.id AND ${m}.msisdn_ciphertext IS NOT NULL
                           ELSE ${m}.body_key_id = ${k}.id AND ${m}.body_ciphertext IS NOT NULL END`;

/**
 * When data held past its retention became purgeable: the latest release (up to `atParam`) of a
 * hold that may have covered the key's day, or null. The purge lag of such data counts from then,
 * not from its expiry: keeping it while held was right.
 */
export const lastReleaseSql = (atParam: string, k = 'k') => `(
    SELECT max(h.released_at) FROM legal_holds h
     WHERE h.customer_id = ${k}.customer_id AND h.released_at IS NOT NULL AND h.released_at <= ${atParam}
       AND (h.from_at IS NULL OR h.from_at < ${dayEndSql(k)})
       AND (h.to_at IS NULL OR h.to_at > ${dayStartSql(k)}))`;

/** True when an active hold of the whole customer (no phone number) covers the key's entire day. */
export const dayWhollyHeldSql = (k = 'k') => `EXISTS (
    SELECT 1 FROM legal_holds h
     WHERE h.customer_id = ${k}.customer_id AND h.released_at IS NULL AND h.msisdn_hash IS NULL
       AND (h.from_at IS NULL OR h.from_at <= ${dayStartSql(k)})
       AND (h.to_at IS NULL OR h.to_at >= ${dayEndSql(k)}))`;

/**
 * Expired, still readable keys (id, customer_id, day, category, kind, since): `since` is when the
 * key should have gone (its expiry, or the release of the last hold that kept it). With
 * `mayBeHeld` false, the keys no active hold may touch, which can go at once; with true, those
 * whose values must be looked at one by one.
 */
export const purgeableKeysSql = (atParam: string, mayBeHeld: boolean) => `
  SELECT e.id, e.customer_id, e.day, e.category, e.kind, GREATEST(e.expires_at, ${lastReleaseSql(atParam)}) AS since
    FROM (${expiredKeysSql(atParam)}) e
    JOIN data_keys k ON k.id = e.id
   WHERE ${mayBeHeld ? '' : 'NOT '}${dayMayBeHeldSql('k')}`;

/** Held and unheld values still under one key (`$1`). */
export const heldMixSql = `
  SELECT EXISTS (SELECT 1 FROM messages m WHERE ${underKeySql()} AND ${heldSql('m')}) AS held,
         EXISTS (SELECT 1 FROM messages m WHERE ${underKeySql()} AND NOT ${heldSql('m')}) AS unheld
    FROM data_keys k WHERE k.id = $1`;

/**
 * Per customer, the moment before which its messages may be deleted entirely (cutoff): when every
 * category — delivery metadata, phone number and body — has expired. A customer with a category
 * that never expires (no policy at all) has none.
 */
export const deletionCutoffsSql = (atParam: string) => `
  SELECT r.customer_id, (((${atParam})::timestamptz AT TIME ZONE 'UTC')::date - r.days)::timestamp AT TIME ZONE 'UTC' AS cutoff
    FROM (SELECT customer_id, CASE WHEN count(days) = 3 THEN max(days) END AS days
            FROM (${effectiveRetentionSql(atParam)}) e GROUP BY customer_id) r
   WHERE r.days IS NOT NULL`;

/** A message's value of one category is gone: cleared, or under a destroyed key already counted for its certificate. */
const shreddedSql = (category: PiiCategory, m = 'm') => `(${m}.${COLUMNS[category].ciphertext} IS NULL OR EXISTS (
    SELECT 1 FROM data_keys dk WHERE dk.id = ${m}.${COLUMNS[category].keyId} AND dk.destroyed_at IS NOT NULL
       AND (dk.message_count IS NOT NULL OR dk.destroyed_by_run_id IS NULL)))`;

/** A message that may be deleted: no hold covers it and neither of its values is readable or uncounted. */
export const deletableSql = (m = 'm') => `NOT ${heldSql(m)} AND ${shreddedSql('msisdn', m)} AND ${shreddedSql('body', m)}`;

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock detected

/**
 * A transaction (on a connection from the pool, or on the one `on` is bound to), retried a few
 * times when PostgreSQL aborts it for a deadlock (ingestion locks day keys FOR SHARE in its own
 * order) or a serialization failure. Every purge step can be repeated: it works from the state of
 * the rows, never from what an earlier attempt did.
 */
export async function retrying<T>(on: DataSource | EntityManager, work: (em: EntityManager) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await on.transaction(work);
    } catch (error) {
      if (attempt >= attempts || !RETRYABLE.has((error as { code?: string }).code ?? '')) throw error;
    }
  }
}
