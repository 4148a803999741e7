import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
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
        LoggerModule.forRoot({
          // Nest 11's path syntax for "every route" (the library's default '*' is the legacy form).
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          pinoHttp: {
            level: config.logLevel,
            // Set by assignRequestId, which runs before everything else.
            genReqId: (req) => (req as { id?: string }).id ?? 'unknown',
            // Paths only: query strings and bodies may carry personal data, headers carry credentials.
            serializers: {
              req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, path: loggedPath(req.url) }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            redact: { paths: ['*.password', '*.email', '*.msisdn', '*.body', '*.authorization', '*.accessToken', '*.key'], censor: '[redacted]' },
            customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
            autoLogging: { ignore: (req) => req.url?.startsWith('/health') ?? false },
          },
        }),
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

/**
 * The path a request log line shows: no query string, and no secret that lives in the path (a
 * breach notification's one-click acknowledgement token would let a log reader acknowledge).
 */
export function loggedPath(url: string): string {
  return url.split('?')[0].replace(/(\/breach-acknowledgements\/)[^/]+/, '$1[token]');
}
