import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { raw } from 'express';
import { AccessModule } from '../access/access.module';
import { authenticatedBody } from '../common/authenticated-body';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { CustomersModule } from '../customers/customers.module';
import { DpasModule } from '../dpas/dpas.module';
import { RetentionModule } from '../retention/retention.module';
import { AcknowledgementLinks } from './acknowledgement-links';
import { BreachAcknowledgementsController } from './breach-acknowledgements.controller';
import { BreachDeadlineJobsService } from './breach-deadline-jobs.service';
import { BreachNotificationsController } from './breach-notifications.controller';
import { BreachNotificationsService } from './breach-notifications.service';
import { IncidentEvidenceController } from './incident-evidence.controller';
import { IncidentEvidenceService, MAX_EVIDENCE_BYTES } from './incident-evidence.service';
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
    // The evidence file as the raw body, of any media type, up to 25 MB.
    consumer.apply(authenticatedBody(raw({ type: () => true, limit: MAX_EVIDENCE_BYTES }))).forRoutes({ path: 'incidents/:id/evidence', method: RequestMethod.POST });
  }
}
