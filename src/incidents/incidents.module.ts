import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { CustomersModule } from '../customers/customers.module';
import { DpasModule } from '../dpas/dpas.module';
import { RetentionModule } from '../retention/retention.module';
import { AcknowledgementLinks } from './acknowledgement-links';
import { BreachAcknowledgementsController } from './breach-acknowledgements.controller';
import { BreachDeadlineJobsService } from './breach-deadline-jobs.service';
import { BreachNotificationsController } from './breach-notifications.controller';
import { BreachNotificationsService } from './breach-notifications.service';
import { IncidentEvidenceBodyMiddleware } from './incident-evidence-body.middleware';
import { IncidentEvidenceController } from './incident-evidence.controller';
import { IncidentEvidenceService } from './incident-evidence.service';
import { IncidentReportController } from './incident-report.controller';
import { IncidentReportService } from './incident-report.service';
import { IncidentSeverityService } from './incident-severity.service';
import { IncidentsController } from './incidents.controller';
import { IncidentsService } from './incidents.service';

@Module({
  controllers: [IncidentsController, IncidentEvidenceController, IncidentReportController, BreachNotificationsController, BreachAcknowledgementsController],
  exports: [IncidentsService],
  imports: [AccessModule, CustomersModule, DpasModule, RetentionModule],
  providers: [
    IncidentsService, IncidentEvidenceService, IncidentReportService, IncidentSeverityService, BreachNotificationsService, BreachDeadlineJobsService,
    { provide: AcknowledgementLinks, useFactory: (config: AppConfig) => new AcknowledgementLinks(config.jwtSecret), inject: [APP_CONFIG] },
  ],
})
export class IncidentsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(IncidentEvidenceBodyMiddleware).forRoutes({ path: 'incidents/:id/evidence', method: RequestMethod.POST });
  }
}
