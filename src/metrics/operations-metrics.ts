import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge } from 'prom-client';
import { DataSource, In } from 'typeorm';
import { Clock } from '../common/clock';
import { DpasService } from '../dpas/dpas.service';
import { ESCALATING } from '../incidents/breach-deadline-jobs.service';
import { Incident } from '../incidents/incident.entity';
import { noticeWindows, windowClock } from '../incidents/notice-windows';
import { MetricsService } from './metrics.service';

interface Figures {
  breach: { overdue: number; dueSoon: number };
  mail: { queued: number; failed: number; oldestQueuedSeconds: number };
  violations: { undigested: number; lastDetectedAt: Date | null };
}

/**
 * What an operator alerts on besides the purge (docs/operations.md): breach notifications past or
 * near their deadline, mail that waits or was refused, grey routes nobody has looked at. Read from
 * the database at scrape time, so every instance reports the same; each query rides an index, so a
 * scrape stays cheap however large the tables grow. No label carries a customer or a person.
 */
@Injectable()
export class OperationsMetrics implements OnModuleInit {
  /** One read per scrape, however many metrics need it. */
  private inFlight?: Promise<Figures>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly dpas: DpasService,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const registers = [this.metrics.registry];
    const figures = () => this.figures();
    new Gauge({
      name: 'custodian_breach_notifications_overdue', registers,
      help: 'Customers of open incidents whose initial breach notification was not sent and whose deadline has passed (the incident clock\'s "overdue")',
      async collect() { this.set((await figures()).breach.overdue); },
    });
    new Gauge({
      name: 'custodian_breach_notifications_due_soon', registers,
      help: 'Customers of open incidents whose initial breach notification is unsent with three quarters of the window gone (the incident clock\'s "due_soon")',
      async collect() { this.set((await figures()).breach.dueSoon); },
    });
    new Gauge({
      name: 'custodian_mail_queued', registers,
      help: 'Mails waiting to be delivered (queued, including those retrying after a temporary failure)',
      async collect() { this.set((await figures()).mail.queued); },
    });
    new Gauge({
      name: 'custodian_mail_oldest_queued_seconds', registers,
      help: 'Age of the oldest mail still waiting to be delivered (0 when none): grows while the SMTP server is unreachable',
      async collect() { this.set((await figures()).mail.oldestQueuedSeconds); },
    });
    new Counter({
      name: 'custodian_mail_failed_total', registers,
      help: 'Mails refused for good (a permanent SMTP error or retries exhausted); each needs a look',
      async collect() {
        this.reset();
        this.inc((await figures()).mail.failed);
      },
    });
    new Gauge({
      name: 'custodian_route_violations_undigested', registers,
      help: 'Route hops through sub-processors the customer had not authorised (grey routes), detected since the last daily digest to the DPO',
      async collect() { this.set((await figures()).violations.undigested); },
    });
    new Gauge({
      name: 'custodian_route_violations_last_detected_timestamp_seconds', registers,
      help: 'When the newest route violation was detected (Unix time; 0 before the first)',
      async collect() { this.set(((await figures()).violations.lastDetectedAt?.getTime() ?? 0) / 1000); },
    });
  }

  private figures(): Promise<Figures> {
    // prom-client starts every metric's collect() in the same tick of a scrape; they share this read.
    this.inFlight ??= this.read().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async read(): Promise<Figures> {
    const now = this.clock.now();
    const [breach, [mail], [violations]] = (await Promise.all([
      this.breachDeadlines(now),
      // The age by the database's clock: it stamped created_at.
      this.dataSource.query(
        `SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued, count(*) FILTER (WHERE status = 'failed')::int AS failed,
                coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'queued')), 0)::float8 AS oldest
           FROM mails WHERE status IN ('queued', 'failed')`,
      ),
      this.dataSource.query(
        `SELECT (SELECT count(*)::int FROM route_violations WHERE digested_at IS NULL) AS undigested,
                (SELECT max(detected_at) FROM route_violations) AS last`,
      ),
    ])) as [Figures['breach'], [{ queued: number; failed: number; oldest: number }], [{ undigested: number; last: Date | null }]];
    return {
      breach,
      mail: { queued: mail.queued, failed: mail.failed, oldestQueuedSeconds: Math.max(0, mail.oldest) },
      violations: { undigested: violations.undigested, lastDetectedAt: violations.last },
    };
  }

  /** The incident clock of every customer of an incident whose deadlines still escalate: the same reading as the clock, job and report. */
  private async breachDeadlines(now: Date): Promise<Figures['breach']> {
    const counts = { overdue: 0, dueSoon: 0 };
    const em = this.dataSource.manager;
    for (const incident of await em.findBy(Incident, { status: In([...ESCALATING]) })) {
      for (const window of await noticeWindows(em, this.dpas, incident)) {
        const { status } = windowClock(incident, window, now);
        if (status === 'overdue') counts.overdue++;
        else if (status === 'due_soon') counts.dueSoon++;
      }
    }
    return counts;
  }
}
