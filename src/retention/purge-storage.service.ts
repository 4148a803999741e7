import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { PiiCategory } from '../messages/message.entity';
import { paced, StepSize } from './pacing';
import { COLUMNS, deletableSql, deletionCutoffsSql, retrying, underKeySql } from './purge-sql';

const MAX_KEYS_PER_COUNT = 100;
/**
 * What one transaction of counting, clearing or deleting aims to take (StepSize). Counting takes
 * whole keys, so one big key takes longer.
 */
const STEP_MS = 200;

interface ReclaimKey {
  id: string;
  customer_id: string;
  day: string;
  category: PiiCategory;
}
const FIRST: [Date, string] = [new Date(0), '00000000-0000-0000-0000-000000000000'];

/**
 * The purge's work after the keys are gone: counting what each destroyed key made unreadable (for
 * its certificate), reclaiming the storage of destroyed values, and deleting messages whose
 * delivery metadata expired. Each works from the state of the rows, in short transactions, so a
 * run killed half-way leaves nothing the next run cannot finish.
 */
@Injectable()
export class PurgeStorageService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  private get batchSize(): number {
    return this.config.retention.purgeBatchSize;
  }

  /**
   * One transaction of storage work, then a pause (see `paced`). The transaction runs on its
   * backend alone, without parallel workers: background work takes one core of the database at most.
   */
  private paced<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return paced(this.config.retention.reclaimDutyPercent, () => retrying(this.dataSource, async (em) => {
      await em.query('SET LOCAL max_parallel_workers_per_gather = 0');
      return work(em);
    }));
  }

  /**
   * Stores, on every key a purge destroyed and nobody counted yet, how many values were under it
   * (paced like the storage work). Nothing can be written under a destroyed key, so the count is
   * final. Returns the runs whose keys were counted (an interrupted run's keys are counted by the next).
   */
  async countDestroyed(): Promise<Set<string>> {
    const runs = new Set<string>();
    const keys = new StepSize(STEP_MS, MAX_KEYS_PER_COUNT);
    for (;;) {
      const limit = keys.current;
      const rows = (await this.paced((em) => keys.time(() => em.query(
        `UPDATE data_keys k SET message_count = (SELECT count(*) FROM messages m WHERE ${underKeySql()})
          WHERE k.id IN (SELECT id FROM data_keys WHERE destroyed_at IS NOT NULL AND destroyed_by_run_id IS NOT NULL AND message_count IS NULL
                          ORDER BY id LIMIT ${limit})
          RETURNING k.destroyed_by_run_id AS run_id`,
      )))) as [{ run_id: string }[], number];
      for (const r of rows[0]) runs.add(r.run_id);
      if (rows[1] < limit) break;
    }
    if (runs.size) {
      await this.dataSource.query(
        `UPDATE purge_runs r SET keys_destroyed = t.keys, messages_destroyed = t.messages
           FROM (SELECT destroyed_by_run_id AS id, count(*) AS keys, coalesce(sum(message_count), 0) AS messages
                   FROM data_keys WHERE destroyed_by_run_id = ANY($1::uuid[]) GROUP BY 1) t
          WHERE r.id = t.id`,
        [[...runs]],
      );
    }
    return runs;
  }

  /**
   * Clears the ciphertext of destroyed keys (unreadable already; this only gives the space back),
   * then marks each key reclaimed. Clearing a phone number also clears its blind index and the
   * message's hop tags derived from it. Keys of erasures are included. Transactions carry about
   * a batch of rows each, over as many keys as it takes, so small keys do not cost a commit each.
   * Stops between transactions once `deadline` (epoch ms) has passed; the next run goes on.
   */
  async reclaim(deadline: number): Promise<number> {
    // Keys whose messages were all deleted (or cleared by an erasure) need no batches: one statement.
    await this.dataSource.query(
      `UPDATE data_keys k SET reclaimed_at = $1
        WHERE k.destroyed_at IS NOT NULL AND k.reclaimed_at IS NULL AND (k.message_count IS NOT NULL OR k.destroyed_by_run_id IS NULL)
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE ${underKeySql()})`,
      [this.clock.now()],
    );
    const keys = (await this.dataSource.query(
      `SELECT id, customer_id, to_char(day, 'YYYY-MM-DD') AS day, category FROM data_keys
        WHERE destroyed_at IS NOT NULL AND reclaimed_at IS NULL AND (message_count IS NOT NULL OR destroyed_by_run_id IS NULL)
        ORDER BY customer_id, day, category, id`,
    )) as ReclaimKey[];
    let cleared = 0;
    let next = 0;
    let after = FIRST;
    const rows = new StepSize(STEP_MS, this.batchSize);
    while (next < keys.length && Date.now() < deadline) {
      // Applied only once the transaction commits: a retried attempt starts from the same place.
      const size = rows.current;
      const step = await this.paced((em) => rows.time(async () => {
        let [index, position, n] = [next, after, 0];
        const done: string[] = [];
        while (index < keys.length && n < size) {
          const limit = size - n;
          const batch = await this.clearBatch(em, keys[index], position, limit);
          n += batch.n;
          if (batch.n < limit) {
            done.push(keys[index].id);
            [index, position] = [index + 1, FIRST];
          } else {
            position = [batch.lastAt!, batch.lastId!];
          }
        }
        if (done.length) await em.query('UPDATE data_keys SET reclaimed_at = $2 WHERE id = ANY($1::uuid[])', [done, this.clock.now()]);
        return { index, position, n };
      }));
      [next, after] = [step.index, step.position];
      cleared += step.n;
    }
    return cleared;
  }

  private async clearBatch(em: EntityManager, key: ReclaimKey, after: [Date, string], limit: number) {
    const { keyId, ciphertext } = COLUMNS[key.category];
    const other = COLUMNS[key.category === 'msisdn' ? 'body' : 'msisdn'].ciphertext;
    // The blind index (and the hops' subject tag) is how a person's messages are found — by legal
    // holds, access and erasure requests — so it goes only with the last of the two values.
    const [row] = (await em.query(
      `WITH batch AS MATERIALIZED (
         SELECT m.id, m.submitted_at, m.${other} IS NULL AS last_value FROM messages m
          WHERE m.customer_id = $1 AND m.submitted_at >= ($2::date)::timestamp AT TIME ZONE 'UTC' AND m.submitted_at < ($2::date + 1)::timestamp AT TIME ZONE 'UTC'
            AND (m.submitted_at, m.id) > ($3::timestamptz, $4::uuid) AND m.${keyId} = $5 AND m.${ciphertext} IS NOT NULL
          ORDER BY m.submitted_at, m.id LIMIT $6 FOR UPDATE),
       cleared AS (UPDATE messages m SET ${ciphertext} = NULL, msisdn_hash = CASE WHEN b.last_value THEN NULL ELSE m.msisdn_hash END
                    FROM batch b WHERE m.id = b.id),
       untagged AS (UPDATE message_hops h SET subject = NULL FROM batch b WHERE h.message_id = b.id AND b.last_value AND h.subject IS NOT NULL)
       SELECT count(*)::int AS n, max(submitted_at) AS last_at,
              (array_agg(id ORDER BY submitted_at DESC, id DESC))[1] AS last_id FROM batch`,
      [key.customer_id, key.day, after[0], after[1], key.id, limit],
    )) as { n: number; last_at: Date | null; last_id: string | null }[];
    return { n: row.n, lastAt: row.last_at, lastId: row.last_id };
  }

  /**
   * Deletes, per customer and in batches, the messages (and their hops) whose every category has
   * expired, that no hold covers and whose values are already destroyed and counted; each batch
   * records what it deleted in purge_deletions in the same transaction. Stops between batches
   * once `deadline` (epoch ms) has passed; the next run goes on.
   */
  async deleteExpired(runId: string, now: Date, deadline: number): Promise<number> {
    const customers = (await this.dataSource.query(
      `SELECT c.customer_id, c.cutoff FROM (${deletionCutoffsSql('$1')}) c
        WHERE EXISTS (SELECT 1 FROM messages m WHERE m.customer_id = c.customer_id AND m.submitted_at < c.cutoff)`,
      [now],
    )) as { customer_id: string; cutoff: Date }[];
    let deleted = 0;
    const rows = new StepSize(STEP_MS, this.batchSize);
    for (const { customer_id: customerId, cutoff } of customers) {
      let after = FIRST;
      while (Date.now() < deadline) {
        const size = rows.current;
        const batch = await this.paced((em) => rows.time(async () => {
          const [row] = (await em.query(
            `WITH scanned AS MATERIALIZED (
               SELECT m.id, m.submitted_at FROM messages m
                WHERE m.customer_id = $1 AND m.submitted_at < $2 AND (m.submitted_at, m.id) > ($3::timestamptz, $4::uuid)
                ORDER BY m.submitted_at, m.id LIMIT $5),
             doomed AS MATERIALIZED (
               SELECT m.id, m.submitted_at FROM messages m JOIN scanned s ON s.id = m.id WHERE ${deletableSql('m')} FOR UPDATE OF m),
             hops AS (DELETE FROM message_hops h USING doomed d WHERE h.message_id = d.id),
             gone AS (DELETE FROM messages m USING doomed d WHERE m.id = d.id RETURNING m.submitted_at),
             recorded AS (
               INSERT INTO purge_deletions (run_id, customer_id, from_day, to_day, message_count, deleted_at)
               SELECT $6, $1, min(submitted_at AT TIME ZONE 'UTC')::date, max(submitted_at AT TIME ZONE 'UTC')::date, count(*), $7
                 FROM gone HAVING count(*) > 0
               RETURNING message_count)
             SELECT (SELECT count(*)::int FROM scanned) AS scanned, (SELECT coalesce(sum(message_count), 0)::int FROM recorded) AS deleted,
                    (SELECT max(submitted_at) FROM scanned) AS last_at,
                    (SELECT (array_agg(id ORDER BY submitted_at DESC, id DESC))[1] FROM scanned) AS last_id`,
            [customerId, cutoff, after[0], after[1], size, runId, this.clock.now()],
          )) as { scanned: number; deleted: number; last_at: Date | null; last_id: string | null }[];
          return row;
        }));
        deleted += batch.deleted;
        if (batch.scanned < size) break;
        after = [batch.last_at!, batch.last_id!];
      }
    }
    return deleted;
  }
}
