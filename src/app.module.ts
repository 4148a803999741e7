import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessModule } from './access/access.module';
import { AuditModule } from './audit/audit.module';
import { ChangeNoticesModule } from './change-notices/change-notices.module';
import { CommonModule } from './common/common.module';
import { CustomersModule } from './customers/customers.module';
import { DpasModule } from './dpas/dpas.module';
import { AppConfig } from './config/app-config';
import { dataSourceOptions } from './database/data-source';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { MessagesModule } from './messages/messages.module';
import { MetricsModule } from './metrics/metrics.module';
import { NotificationsModule } from './notifications/notifications.module';
import { PublicModule } from './public/public.module';
import { RecordsModule } from './records/records.module';
import { PurgeModule } from './retention/purge.module';
import { IncidentsModule } from './incidents/incidents.module';
import { RetentionModule } from './retention/retention.module';
import { SubjectRequestsModule } from './subject-requests/subject-requests.module';
import { SubprocessorsModule } from './subprocessors/subprocessors.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AccessModule,
        AuditModule,
        ChangeNoticesModule,
        CommonModule.forRoot(config, databaseUrl),
        CustomersModule,
        DpasModule,
        HealthModule,
        IncidentsModule,
        JobsModule,
        MessagesModule,
        MetricsModule,
        NotificationsModule,
        PublicModule,
        PurgeModule,
        RecordsModule,
        RetentionModule,
        SubjectRequestsModule,
        SubprocessorsModule,
        TypeOrmModule.forRoot({ ...dataSourceOptions(databaseUrl, config.databasePoolSize), migrationsRun: false }),
      ],
    };
  }
}
