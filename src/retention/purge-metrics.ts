import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { Clock } from '../common/clock';
import { MetricsService } from '../metrics/metrics.service';
import { PurgeFigures, PurgeStatusService } from './purge-status.service';

/**
 * The purge's metrics, computed from the database when scraped (so every instance reports the
 * same): the current lag, the last successful run, runs by outcome, data keys destroyed.
 */
@Injectable()
export class PurgeMetrics implements OnModuleInit {
  /** The figures being read: one query set per scrape, however many metrics need them. */
  private inFlight?: Promise<PurgeFigures>;

  constructor(
    private readonly metrics: MetricsService,
    private readonly status: PurgeStatusService,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const registers = [this.metrics.registry];
    const figures = () => this.figures();
    new Gauge({
      name: 'custodian_purge_lag_seconds', registers,
      help: 'How long the oldest expired, unheld PII that is still readable has been readable past its expiry (0 when none)',
      async collect() { this.set((await figures()).currentLagSeconds); },
    });
    new Gauge({
      name: 'custodian_purge_last_run_max_lag_seconds', registers,
      help: 'The purge lag of the last successful purge run: the longest any key it destroyed stayed readable past its expiry',
      async collect() { this.set(((await figures()).lastSucceeded?.maxLagMs ?? 0) / 1000); },
    });
    new Gauge({
      name: 'custodian_purge_last_run_timestamp_seconds', registers,
      help: 'When the last successful purge run finished (Unix time; 0 before the first)',
      async collect() { this.set(((await figures()).lastSucceeded?.finishedAt.getTime() ?? 0) / 1000); },
    });
    new Counter({
      name: 'custodian_purge_runs_total', registers, labelNames: ['status'],
      help: 'Purge runs recorded, by outcome (running, succeeded, failed, interrupted)',
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries((await figures()).runsByStatus)) this.inc({ status }, n);
      },
    });
    new Counter({
      name: 'custodian_data_keys_destroyed_total', registers,
      help: 'Data keys destroyed so far (crypto-shredding, by purge or erasure)',
      async collect() {
        this.reset();
        this.inc((await figures()).keysDestroyed);
      },
    });
  }

  private figures(): Promise<PurgeFigures> {
    if (!this.inFlight) {
      // prom-client starts every metric's collect() in the same tick of a scrape; they share this read.
      this.inFlight = this.status.figures(this.clock.now()).finally(() => (this.inFlight = undefined));
    }
    return this.inFlight;
  }
}
