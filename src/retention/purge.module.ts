import { Inject, Module, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { JobsService } from '../jobs/jobs.service';
import { MessagesModule } from '../messages/messages.module';
import { MetricsModule } from '../metrics/metrics.module';
import { PurgeCertifyService } from './purge-certify.service';
import { PurgeKeysService } from './purge-keys.service';
import { PurgeMetrics } from './purge-metrics';
import { PurgeStatusService } from './purge-status.service';
import { PurgeStorageService } from './purge-storage.service';
import { PurgeController } from './purge.controller';
import { PurgeService } from './purge.service';
import { RetentionModule } from './retention.module';

@Module({
  controllers: [PurgeController],
  exports: [PurgeService, PurgeStatusService],
  imports: [MessagesModule, MetricsModule, RetentionModule],
  providers: [PurgeCertifyService, PurgeKeysService, PurgeMetrics, PurgeService, PurgeStatusService, PurgeStorageService],
})
export class PurgeModule implements OnModuleInit {
  constructor(
    private readonly jobs: JobsService,
    private readonly purge: PurgeService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.jobs.register({
      name: 'purge',
      schedule: this.config.retention.purgeSchedule,
      description: 'Destroys the data keys of expired, unheld message PII (crypto-shredding), reclaims their storage, deletes messages whose delivery metadata expired, and issues a deletion certificate per customer',
      run: async (context) => {
        const { runId: _runId, timings, ...counts } = await this.purge.run(context.actor, context.trigger, context.now);
        return { ...counts, maxLagMs: counts.maxLagMs ?? 0, ...timings };
      },
    });
  }
}
