import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/ability';
import { loadVisible } from '../access/load-visible';
import { scopeQuery } from '../access/scoping';
import { Clock } from '../common/clock';
import { decodeCursor, isTimeCursor, Page, toPage } from '../common/pagination';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { PURGE_RUN_STATUSES, PurgeRun, PurgeRunStatus } from './purge-run.entity';
import { purgeableKeysSql } from './purge-sql';
import { PurgeRunDetail, PurgeRunQuery, PurgeRunResponse, PurgeStatusResponse } from './purge.dto';

export interface PurgeFigures {
  /** When the oldest expired, unheld, still readable key should have gone; null when none. */
  oldestUnpurgedSince: Date | null;
  currentLagSeconds: number;
  /** Worst destroyed_at − expired_at of keys purged in the 24 hours before `at`, in seconds. */
  worstDestroyedLast24hSeconds: number;
  lastSucceeded: { finishedAt: Date; maxLagMs: number | null } | null;
  runsByStatus: Record<PurgeRunStatus, number>;
  keysDestroyed: number;
}

/** What the purge has done and how late it is: read by GET /retention/status, /runs and /metrics. */
@Injectable()
export class PurgeStatusService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** The figures at `at`, straight from the database, so every instance reports the same. */
  async figures(at: Date): Promise<PurgeFigures> {
    const [[oldest], [worst], [last], byStatus, [keys]] = (await Promise.all([
      this.dataSource.query(`SELECT min(p.since) AS since FROM (${purgeableKeysSql('$1', false)}) p`, [at]),
      this.dataSource.query(
        `SELECT coalesce(extract(epoch FROM max(destroyed_at - expired_at)), 0)::float8 AS seconds FROM data_keys
          WHERE destroyed_by_run_id IS NOT NULL AND destroyed_at > $1::timestamptz - interval '24 hours' AND destroyed_at <= $1`,
        [at],
      ),
      this.dataSource.query(`SELECT finished_at, max_lag_ms FROM purge_runs WHERE status = 'succeeded' ORDER BY started_at DESC, id DESC LIMIT 1`),
      this.dataSource.query('SELECT status, count(*)::int AS n FROM purge_runs GROUP BY status'),
      this.dataSource.query('SELECT count(*)::int AS n FROM data_keys WHERE destroyed_at IS NOT NULL'),
    ])) as [[{ since: Date | null }], [{ seconds: number }], { finished_at: Date; max_lag_ms: string | null }[], { status: PurgeRunStatus; n: number }[], [{ n: number }]];
    const runsByStatus = Object.fromEntries(PURGE_RUN_STATUSES.map((s) => [s, 0])) as Record<PurgeRunStatus, number>;
    for (const row of byStatus) runsByStatus[row.status] = row.n;
    return {
      oldestUnpurgedSince: oldest.since,
      currentLagSeconds: oldest.since ? Math.max(0, (at.getTime() - oldest.since.getTime()) / 1000) : 0,
      worstDestroyedLast24hSeconds: Math.max(0, worst.seconds),
      lastSucceeded: last ? { finishedAt: last.finished_at, maxLagMs: last.max_lag_ms === null ? null : Number(last.max_lag_ms) } : null,
      runsByStatus,
      keysDestroyed: keys.n,
    };
  }

  async status(): Promise<PurgeStatusResponse> {
    const at = this.clock.now();
    const [figures, lastRun] = await Promise.all([
      this.figures(at),
      this.dataSource.getRepository(PurgeRun).findOne({ where: {}, order: { startedAt: 'DESC', id: 'DESC' } }),
    ]);
    const worst = Math.max(figures.currentLagSeconds, figures.worstDestroyedLast24hSeconds);
    const target = this.config.retention.lagTargetSeconds;
    return {
      at: at.toISOString(),
      lag: {
        currentSeconds: round(figures.currentLagSeconds),
        oldestUnpurgedSince: figures.oldestUnpurgedSince?.toISOString() ?? null,
        worstLast24hSeconds: round(worst),
        targetSeconds: target,
        targetMet: worst <= target,
      },
      lastRun: lastRun ? toResponse(lastRun) : null,
      lastSucceededAt: figures.lastSucceeded?.finishedAt.toISOString() ?? null,
      schedule: this.config.retention.purgeSchedule,
    };
  }

  async list(actor: Actor, query: PurgeRunQuery): Promise<Page<PurgeRunResponse>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(PurgeRun).createQueryBuilder('r');
    scopeQuery(qb, actor.ability, 'read', 'PurgeRun');
    if (query.status) qb.andWhere('r.status = :status', { status: query.status });
    if (before) qb.andWhere('(r.startedAt, r.id) < (:at, :id)', { at: before[0], id: before[1] });
    const rows = await qb.orderBy('r.startedAt', 'DESC').addOrderBy('r.id', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (r) => [r.startedAt.toISOString(), r.id]);
  }

  async get(actor: Actor, id: string): Promise<PurgeRunDetail> {
    const em = this.dataSource.manager;
    const run = await loadVisible(em, actor, 'read', { entity: PurgeRun, subject: 'PurgeRun', name: 'Purge run' }, id);
    const certificates = (await em.query(
      'SELECT id, customer_id FROM deletion_certificates WHERE run_id = $1 ORDER BY issued_at, id', [run.id],
    )) as { id: string; customer_id: string }[];
    return { ...toResponse(run), certificates: certificates.map((c) => ({ id: c.id, customerId: c.customer_id })) };
  }
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

export function toResponse(r: PurgeRun): PurgeRunResponse {
  return {
    id: r.id, trigger: r.trigger, status: r.status, startedAt: r.startedAt.toISOString(), finishedAt: r.finishedAt?.toISOString() ?? null,
    keysDestroyed: r.keysDestroyed, messagesDestroyed: r.messagesDestroyed, messagesRekeyed: r.messagesRekeyed,
    messagesReclaimed: r.messagesReclaimed, messagesDeleted: r.messagesDeleted, certificatesIssued: r.certificatesIssued,
    maxLagMs: r.maxLagMs === null ? null : Number(r.maxLagMs), error: r.error,
  };
}
