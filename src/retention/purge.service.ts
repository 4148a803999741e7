import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ConflictError } from '../common/errors';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { PurgeCertifyService } from './purge-certify.service';
import { DestroyedKey, PurgeKeysService } from './purge-keys.service';
import { PurgeStorageService } from './purge-storage.service';
import { PurgeRun } from './purge-run.entity';

export interface PurgeRunSummary {
  runId: string;
  /** Data keys this run destroyed (day keys and emptied hold keys). */
  keysDestroyed: number;
  /** Values (a phone number or a body each) made unreadable by the keys this run destroyed. */
  messagesDestroyed: number;
  /** Held values re-encrypted under a hold key before their key was destroyed. */
  messagesRekeyed: number;
  /** Values whose destroyed ciphertext was cleared (storage reclaimed). */
  messagesReclaimed: number;
  /** Messages deleted because their delivery metadata expired. */
  messagesDeleted: number;
  certificatesIssued: number;
  /** The longest any key destroyed by this run stayed readable past its expiry (or the release of its hold); null when none. */
  maxLagMs: number | null;
  timings: { destroyMs: number; certifyMs: number; reclaimMs: number; deleteMs: number };
}

/** A purge run at a time: the lock is held by the session running it, so it dies with its process. */
const PURGE_LOCK = [0x5055_5247, 0]; // "PURG"

/**
 * The purge (docs/purge.md): destroy expired keys, settle those a hold may cover, count, delete
 * expired messages, reclaim storage, certify. Every step derives its work from the rows, so a run that dies
 * anywhere is finished by the next one, and the run that died is marked interrupted.
 */
@Injectable()
export class PurgeService {
  private readonly logger = new Logger(PurgeService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: PurgeKeysService,
    private readonly storage: PurgeStorageService,
    private readonly certify: PurgeCertifyService,
  ) {}

  /** Runs one purge against the retention in force at `now`. Refused (409) while another run is going. */
  async run(actor: Actor, trigger: 'schedule' | 'manual', now: Date): Promise<PurgeRunSummary> {
    const session = this.dataSource.createQueryRunner();
    await session.connect();
    try {
      const [{ locked }] = (await session.query('SELECT pg_try_advisory_lock($1, $2) AS locked', PURGE_LOCK)) as { locked: boolean }[];
      if (!locked) throw new ConflictError('A purge run is already in progress');
      try {
        return await this.runLocked(session.manager, actor, trigger, now);
      } finally {
        // A lost connection has let the lock go already; its error must not hide the run's outcome.
        await session.query('SELECT pg_advisory_unlock($1, $2)', PURGE_LOCK).catch(() => undefined);
      }
    } finally {
      await session.release();
    }
  }

  private async runLocked(session: EntityManager, actor: Actor, trigger: 'schedule' | 'manual', now: Date): Promise<PurgeRunSummary> {
    // Written by the transaction that destroys the expired keys, which must not wait for a commit of its own.
    const run = { id: randomUUID(), trigger, status: 'running' as const, startedAt: this.clock.now() };
    const summary: PurgeRunSummary = {
      runId: run.id, keysDestroyed: 0, messagesDestroyed: 0, messagesRekeyed: 0, messagesReclaimed: 0, messagesDeleted: 0,
      certificatesIssued: 0, maxLagMs: null, timings: { destroyMs: 0, certifyMs: 0, reclaimMs: 0, deleteMs: 0 },
    };
    const destroyed: DestroyedKey[] = [];
    const timed = async <T>(phase: keyof PurgeRunSummary['timings'], work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        summary.timings[phase] += Math.round((performance.now() - started) * 1000) / 1000;
      }
    };
    try {
      destroyed.push(...(await timed('destroyMs', () => this.keys.destroyUnheld(session, actor, run.id, now, (em) => em.insert(PurgeRun, run)))));
      // After the destruction, which must not wait for bookkeeping: the keys it destroyed are this run's, not the dead one's.
      await this.markInterrupted(actor, run.id);
      const settled = await timed('destroyMs', () => this.keys.settleHeld(actor, run.id, now));
      destroyed.push(...settled.destroyed);
      summary.messagesRekeyed = settled.rekeyed;
      summary.keysDestroyed = destroyed.length;
      summary.maxLagMs = destroyed.length ? Math.max(...destroyed.map((k) => k.lagMs)) : null;
      await this.progress(summary);

      await timed('certifyMs', () => this.storage.countDestroyed());
      summary.messagesDestroyed = await this.valuesDestroyedBy(run.id);
      // Deleting first spares clearing the values of messages that go entirely.
      const deadline = Date.now() + this.config.retention.purgeTimeBudgetSeconds * 1000;
      summary.messagesDeleted = await timed('deleteMs', () => this.storage.deleteExpired(run.id, now, deadline));
      await this.progress(summary);
      summary.messagesReclaimed = await timed('reclaimMs', () => this.storage.reclaim(deadline));
      await this.progress(summary);
      summary.certificatesIssued = await timed('certifyMs', () => this.certify.certifyPending(actor, now));
      // Everything else is done and certified; a held day that could not be settled fails the run, loudly.
      if (settled.failed.length) throw new Error(`${settled.failed.length} held-day key(s) could not be settled: ${settled.failed.join('; ')}`);
      await this.finish(actor, summary);
      return summary;
    } catch (error) {
      const message = (error as Error).message.slice(0, 500);
      this.logger.error(`purge run ${run.id} failed: ${message}`);
      // An upsert: when the destroying transaction failed, the run's row went with it.
      await this.dataSource.getRepository(PurgeRun).upsert({ ...run, ...columns(summary), status: 'failed', finishedAt: this.clock.now(), error: message }, ['id']);
      throw error;
    }
  }

  /**
   * Holding the purge lock, no other run is going: a run still marked running died with its
   * process. Its counts are restated from the keys it destroyed; this run finishes its work.
   */
  private async markInterrupted(actor: Actor, currentRunId: string): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      const [rows] = (await em.query(
        `UPDATE purge_runs r SET status = 'interrupted', finished_at = $1,
                error = 'the process running it stopped before it finished; the runs after it complete its work',
                keys_destroyed = (SELECT count(*) FROM data_keys k WHERE k.destroyed_by_run_id = r.id),
                messages_destroyed = (SELECT coalesce(sum(message_count), 0) FROM data_keys k WHERE k.destroyed_by_run_id = r.id),
                max_lag_ms = (SELECT (extract(epoch FROM max(k.destroyed_at - k.expired_at)) * 1000)::bigint FROM data_keys k WHERE k.destroyed_by_run_id = r.id)
          WHERE r.status = 'running' AND r.id <> $2 RETURNING r.id, r.keys_destroyed`,
        [this.clock.now(), currentRunId],
      )) as [{ id: string; keys_destroyed: number }[], number];
      for (const row of rows) {
        await this.audit.record(em, actor, { action: 'purge.run_interrupted', subjectType: 'PurgeRun', subjectId: row.id, changes: { keysDestroyed: row.keys_destroyed } });
      }
    });
  }

  private async valuesDestroyedBy(runId: string): Promise<number> {
    const [{ n }] = (await this.dataSource.query(
      'SELECT coalesce(sum(message_count), 0)::int AS n FROM data_keys WHERE destroyed_by_run_id = $1', [runId],
    )) as { n: number }[];
    return n;
  }

  private async progress(summary: PurgeRunSummary): Promise<void> {
    await this.dataSource.getRepository(PurgeRun).update({ id: summary.runId }, columns(summary));
  }

  /** Records the outcome; a run that changed something also leaves an audit entry with its counts. */
  private async finish(actor: Actor, summary: PurgeRunSummary): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      await em.getRepository(PurgeRun).update({ id: summary.runId }, { ...columns(summary), status: 'succeeded', finishedAt: this.clock.now() });
      const changes = columns(summary);
      if (Object.values(changes).some((n) => n !== null && Number(n) > 0)) {
        await this.audit.record(em, actor, { action: 'purge.run_succeeded', subjectType: 'PurgeRun', subjectId: summary.runId, changes: { ...changes, maxLagMs: summary.maxLagMs } });
      }
    });
  }
}

function columns(s: PurgeRunSummary): Partial<PurgeRun> {
  return {
    keysDestroyed: s.keysDestroyed, messagesDestroyed: s.messagesDestroyed, messagesRekeyed: s.messagesRekeyed, messagesReclaimed: s.messagesReclaimed,
    messagesDeleted: s.messagesDeleted, certificatesIssued: s.certificatesIssued, maxLagMs: s.maxLagMs === null ? null : String(s.maxLagMs),
  };
}
