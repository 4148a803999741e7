import { MiddlewareConsumer, Module, NestModule, OnModuleInit, RequestMethod } from '@nestjs/common';
import { raw } from 'express';
import { AccessModule } from '../access/access.module';
import { authenticatedBody } from '../common/authenticated-body';
import { CustomersModule } from '../customers/customers.module';
import { JobsService } from '../jobs/jobs.service';
import { DpaDocumentsService, MAX_DOCUMENT_BYTES, PDF } from './dpa-documents.service';
import { DpaRemindersService } from './dpa-reminders.service';
import { DpasController } from './dpas.controller';
import { DpasService } from './dpas.service';

@Module({
  controllers: [DpasController],
  exports: [DpasService],
  imports: [AccessModule, CustomersModule],
  providers: [DpaDocumentsService, DpaRemindersService, DpasService],
})
export class DpasModule implements NestModule, OnModuleInit {
  constructor(
    private readonly jobs: JobsService,
    private readonly reminders: DpaRemindersService,
    private readonly dpas: DpasService,
  ) {}

  configure(consumer: MiddlewareConsumer): void {
    // The signed PDF as the raw body, up to 10 MB; another media type is left unread (415 from the service).
    consumer.apply(authenticatedBody(raw({ type: PDF, limit: MAX_DOCUMENT_BYTES }))).forRoutes({ path: 'dpas/:id/document', method: RequestMethod.PUT });
  }

  onModuleInit(): void {
    this.jobs.register({
      name: 'dpa-expiry-reminders',
      schedule: '0 0 7 * * *',
      description: 'Mails legal 60, 30 and 7 days before an active DPA expires; each reminder once',
      run: ({ actor, now }) => this.reminders.sendExpiryReminders(actor, now),
    });
    this.jobs.register({
      name: 'dpa-expiry',
      schedule: '0 5 * * * *',
      description: 'Marks active DPAs whose expiresAt has passed as expired',
      run: ({ actor, now }) => this.dpas.expireLapsed(actor, now),
    });
  }
}
