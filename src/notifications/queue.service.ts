import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import PgBoss from 'pg-boss';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DATABASE_URL } from '../database/database.tokens';

const QUEUE_SETUP_LOCK = 0x5142_4f53; // "QBOS"

/** Jobs fetched per poll and worked one after another. */
const BATCH = 10;

/**
 * pg-boss, a well-kept job queue in PostgreSQL: durable, retried with backoff, claimed with SKIP
 * LOCKED, so several instances share the work and each job is done by one. It owns its schema
 * (`pgboss`) and versions it itself.
 */
@Injectable()
export class QueueService implements OnModuleDestroy {
  private readonly logger = new Logger(QueueService.name);
  private boss?: PgBoss;
  private starting?: Promise<PgBoss>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private start(): Promise<PgBoss> {
    this.starting ??= (async () => {
      const boss = new PgBoss({
        connectionString: this.databaseUrl, schema: 'pgboss', max: 4, application_name: 'custodian-queue',
        // Maintenance is what hands back a job whose instance died holding it (once its claim expires).
        ...(this.config.nodeEnv === 'test' ? { maintenanceIntervalSeconds: 1 } : {}),
      });
      boss.on('error', (error: Error) => this.logger.error(`queue error: ${error.message}`));
      await boss.start();
      this.boss = boss;
      return boss;
    })();
    return this.starting;
  }

  /**
   * Creating a queue is DDL (pg-boss partitions its job table per queue); instances booting
   * together would deadlock on it, so they take turns under an advisory lock.
   */
  async createQueue(name: string, options: { retryLimit: number; retryDelay: number; retryBackoff: boolean; expireInSeconds?: number }): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock($1)', [QUEUE_SETUP_LOCK]);
      const boss = await this.start();
      if (!(await boss.getQueue(name))) await boss.createQueue(name, { name, ...options });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [QUEUE_SETUP_LOCK]).catch(() => undefined);
      await runner.release();
    }
  }

  /** Enqueues inside the caller's transaction: the job exists if and only if the change commits. */
  async send(em: EntityManager, name: string, data: object): Promise<void> {
    const boss = await this.start();
    await boss.send(name, data, { db: { executeSql: async (text: string, values: unknown[]) => ({ rows: (await em.query(text, values)) as unknown[] }) } });
  }

  /**
   * Works the queue in batches of up to BATCH jobs per poll (a worker waits a whole polling
   * interval between fetches, so one job per poll would send at most one mail per interval), one
   * job after another. A job whose handler throws is failed on its own — pg-boss retries it with
   * backoff — and the rest of the batch completes as usual (pg-boss completes only active jobs).
   */
  async work<T extends object>(name: string, handler: (job: PgBoss.JobWithMetadata<T>) => Promise<void>): Promise<void> {
    const boss = await this.start();
    const options = { batchSize: BATCH, includeMetadata: true as const, pollingIntervalSeconds: this.config.nodeEnv === 'test' ? 0.5 : 2 };
    await boss.work<T>(name, options, async (jobs) => {
      for (const job of jobs) {
        try {
          await handler(job);
        } catch (error) {
          // Not the error itself: an SMTP answer may quote an address (the handler records a redacted one).
          await boss.fail(name, job.id, { message: `attempt failed: ${(error as { code?: string }).code ?? 'error'}` });
        }
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.boss?.stop({ graceful: true, wait: true, timeout: 10_000 });
  }
}
