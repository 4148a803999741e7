import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { open, seal } from '../messages/envelope-crypto';
import { KeyRing, LiveKey } from '../messages/key-ring';
import { sealContext } from '../messages/message-store';
import type { PiiCategory } from '../messages/message.entity';
import { COLUMNS, dayWhollyHeldSql, heldMixSql, lastReleaseSql, purgeableKeysSql, retrying, underKeySql } from './purge-sql';
import { heldSql, lockAllHolds, lockCustomerHolds } from './retention-sql';

export interface DestroyedKey {
  id: string;
  customerId: string;
  category: PiiCategory;
  lagMs: number;
}

interface KeyRow {
  id: string;
  customer_id: string;
  day: string;
  category: PiiCategory;
  kind: 'day' | 'hold';
  since: Date;
}

const returningDestroyed = `RETURNING k.id, k.customer_id, k.category,
  (extract(epoch FROM k.destroyed_at - k.expired_at) * 1000)::bigint AS lag_ms`;

/** The rows of an `UPDATE … RETURNING` (TypeORM answers those with [rows, count]). */
const toDestroyed = ([rows]: [{ id: string; customer_id: string; category: PiiCategory; lag_ms: string }[], number]): DestroyedKey[] =>
  rows.map((r) => ({ id: r.id, customerId: r.customer_id, category: r.category, lagMs: Math.max(0, Number(r.lag_ms)) }));

/**
 * The first two steps of a purge: destroying expired data keys (crypto-shredding), and, where a
 * legal hold may cover part of a key's day, moving the held values under a hold key first.
 */
@Injectable()
export class PurgeKeysService {
  /** Hold keys found to hold nothing but held values, with the holds' state when they were checked. */
  private readonly settledHoldKeys = new Map<string, string>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly keys: KeyRing,
  ) {}

  /**
   * Destroys, in one statement, every expired key whose day no active hold may touch. This is the
   * moment the data becomes unreadable, in every copy of the database. It runs under the lock
   * that placing a hold takes shared (lockAllHolds), so a hold placed meanwhile either is seen
   * here or waits until this commits; the keys' row locks are taken in id order, the order
   * ingestion takes them FOR SHARE in, so the two never deadlock. `recordRun` writes the run's
   * row in the same transaction, on the run's own connection `session` (no wait for another).
   */
  async destroyUnheld(session: EntityManager, actor: Actor, runId: string, now: Date, recordRun: (em: EntityManager) => Promise<unknown>): Promise<DestroyedKey[]> {
    const destroyed = await retrying(session, async (em) => {
      await lockAllHolds(em);
      await recordRun(em);
      const rows = toDestroyed(await em.query(
        `WITH p AS MATERIALIZED (${purgeableKeysSql('$1', false)}),
              locked AS MATERIALIZED (SELECT l.id FROM data_keys l JOIN p ON p.id = l.id ORDER BY l.id FOR UPDATE OF l)
         UPDATE data_keys k SET wrapped = NULL, destroyed_at = $2, expired_at = p.since, destroyed_by_run_id = $3
           FROM p WHERE k.id = p.id AND k.id IN (SELECT id FROM locked) AND k.destroyed_at IS NULL
         ${returningDestroyed}`,
        [now, this.clock.now(), runId],
      ));
      if (rows.length) {
        await this.audit.record(em, actor, {
          action: 'purge.keys_destroyed', subjectType: 'PurgeRun', subjectId: runId,
          changes: { keys: rows.length, customers: new Set(rows.map((r) => r.customerId)).size, ...countByCategory(rows) },
        });
      }
      return rows;
    });
    this.keys.forget(destroyed.map((k) => k.id));
    return destroyed;
  }

  /**
   * Expired keys whose day a hold may cover, value by value: a key none of whose values is held
   * any more is destroyed; one with held and unheld values has its held ones re-encrypted under a
   * hold key, then is destroyed; one whose values are all held stays as it is.
   */
  async settleHeld(actor: Actor, runId: string, now: Date): Promise<{ destroyed: DestroyedKey[]; rekeyed: number; failed: string[] }> {
    const fingerprints = await this.holdFingerprints();
    const candidates = (await this.dataSource.query(
      `SELECT p.id, p.customer_id, p.day, p.category, p.kind, p.since FROM (${purgeableKeysSql('$1', true)}) p
         JOIN data_keys k ON k.id = p.id
        WHERE NOT ${dayWhollyHeldSql('k')}
        ORDER BY p.customer_id, p.day, p.category, p.kind`,
      [now],
    )) as KeyRow[];
    const destroyed: DestroyedKey[] = [];
    const failed: string[] = [];
    let rekeyed = 0;
    for (const key of candidates) {
      const fingerprint = fingerprints.get(key.customer_id) ?? '';
      if (key.kind === 'hold' && this.settledHoldKeys.get(key.id) === fingerprint) continue;
      // One key that cannot be settled (e.g. a damaged held value) must not hold up every other customer's purge.
      try {
        let [{ held, unheld }] = (await this.dataSource.query(heldMixSql, [key.id])) as { held: boolean; unheld: boolean }[];
        if (held && !unheld) {
          if (key.kind === 'hold') this.settledHoldKeys.set(key.id, fingerprint);
          continue;
        }
        for (;;) {
          if (held) rekeyed += await this.moveHeldValues(key);
          const outcome = await this.destroyIfUnheld(actor, runId, key);
          if (outcome === 'held') {
            held = true; // a hold placed (or a held message stored) meanwhile: move those values too
            continue;
          }
          if (outcome !== 'gone') destroyed.push(outcome);
          break;
        }
      } catch (error) {
        failed.push(`data key ${key.id}: ${(error as Error).message}`);
      }
    }
    this.keys.forget(destroyed.map((k) => k.id));
    for (const key of destroyed) this.settledHoldKeys.delete(key.id);
    return { destroyed, rekeyed, failed };
  }

  /** Re-encrypts, batch by batch, the held values under `key` under a live hold key of the same slot. */
  private async moveHeldValues(key: KeyRow): Promise<number> {
    const { keyId, ciphertext } = COLUMNS[key.category];
    let moved = 0;
    let after: [Date, string] = [new Date(0), '00000000-0000-0000-0000-000000000000'];
    for (;;) {
      const batch = await retrying(this.dataSource, async (em) => {
        const old = (await this.keys.readableKeys(em, [key.id])).get(key.id);
        if (!old) throw new Error(`data key ${key.id} was destroyed while its held values were being moved`);
        const rows = (await em.query(
          `SELECT m.id, m.submitted_at, m.${ciphertext} AS sealed FROM data_keys k JOIN messages m ON ${underKeySql()}
            WHERE k.id = $1 AND ${heldSql('m')} AND (m.submitted_at, m.id) > ($2, $3)
            ORDER BY m.submitted_at, m.id LIMIT $4 FOR UPDATE OF m`,
          [key.id, after[0], after[1], this.config.retention.purgeBatchSize],
        )) as { id: string; submitted_at: Date; sealed: Buffer }[];
        if (!rows.length) return rows;
        const target = await this.holdKeyFor(em, key);
        const resealed = rows.map((r) => {
          const plain = open(old, r.sealed, sealContext(r.id, key.category));
          const sealed = seal(target.key, plain, sealContext(r.id, key.category));
          plain.fill(0);
          return sealed;
        });
        await em.query(
          `UPDATE messages m SET ${keyId} = $1, ${ciphertext} = v.sealed FROM unnest($2::uuid[], $3::bytea[]) AS v(id, sealed)
            WHERE m.id = v.id AND m.${keyId} = $4`,
          [target.id, rows.map((r) => r.id), resealed, key.id],
        );
        this.settledHoldKeys.delete(target.id);
        return rows;
      });
      moved += batch.length;
      if (batch.length < this.config.retention.purgeBatchSize) return moved;
      const last = batch[batch.length - 1];
      after = [last.submitted_at, last.id];
    }
  }

  /** A live hold key for the slot of `key` (not `key` itself), locked against destruction until commit; created when none. */
  private async holdKeyFor(em: EntityManager, key: KeyRow): Promise<LiveKey> {
    const [existing] = (await em.query(
      `SELECT id FROM data_keys WHERE customer_id = $1 AND day = $2 AND category = $3 AND kind = 'hold' AND destroyed_at IS NULL AND id <> $4
        ORDER BY created_at DESC, id LIMIT 1 FOR SHARE`,
      [key.customer_id, key.day, key.category, key.id],
    )) as { id: string }[];
    const live = existing && (await this.keys.readableKeys(em, [existing.id])).get(existing.id);
    if (live) return { id: existing.id, key: live };
    return this.keys.createHoldKey(em, key.customer_id, key.day, key.category);
  }

  /**
   * Destroys `key` unless, under the customer's hold lock, a held value is still under it ('held');
   * 'gone' when it was destroyed already.
   */
  private async destroyIfUnheld(actor: Actor, runId: string, key: KeyRow): Promise<DestroyedKey | 'held' | 'gone'> {
    return retrying(this.dataSource, async (em) => {
      await lockCustomerHolds(em, key.customer_id);
      // Waits for ingestion still writing under the key (it holds it FOR SHARE), so the check below sees its rows.
      await em.query('SELECT id FROM data_keys WHERE id = $1 FOR UPDATE', [key.id]);
      const [{ held }] = (await em.query(heldMixSql, [key.id])) as { held: boolean }[];
      if (held) return 'held';
      const [row] = toDestroyed(await em.query(
        `UPDATE data_keys k SET wrapped = NULL, destroyed_at = $2, destroyed_by_run_id = $3,
                expired_at = GREATEST($4::timestamptz, ${lastReleaseSql('$2')})
          WHERE k.id = $1 AND k.destroyed_at IS NULL
          ${returningDestroyed}`,
        [key.id, this.clock.now(), runId, key.since],
      ));
      if (!row) return 'gone';
      await this.audit.record(em, actor, {
        action: 'purge.key_destroyed', subjectType: 'PurgeRun', subjectId: runId,
        changes: { keyId: key.id, customerId: key.customer_id, category: key.category, kind: key.kind, day: key.day },
      });
      return row;
    });
  }

  /** The state of every customer's holds, to tell whether a settled hold key needs another look. */
  private async holdFingerprints(): Promise<Map<string, string>> {
    const rows = (await this.dataSource.query(
      `SELECT customer_id, md5(string_agg(concat_ws('|', id, released_at, from_at, to_at, encode(msisdn_hash, 'hex')), ',' ORDER BY id)) AS fingerprint
         FROM legal_holds GROUP BY customer_id`,
    )) as { customer_id: string; fingerprint: string }[];
    return new Map(rows.map((r) => [r.customer_id, r.fingerprint]));
  }
}

function countByCategory(rows: DestroyedKey[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.category] = (out[r.category] ?? 0) + 1;
  return out;
}
