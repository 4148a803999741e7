import { Module, OnModuleInit } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { JobsService } from '../jobs/jobs.service';
import { SubprocessorsModule } from '../subprocessors/subprocessors.module';
import { IngestionService } from './ingestion.service';
import { KeyRing } from './key-ring';
import { MessageStore } from './message-store';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';
import { RouteChecker } from './route-checks';
import { RouteViolationsController } from './route-violations.controller';
import { RouteViolationsService } from './route-violations.service';

@Module({
  controllers: [MessagesController, RouteViolationsController],
  exports: [KeyRing, MessageStore],
  imports: [AccessModule, SubprocessorsModule],
  providers: [IngestionService, KeyRing, MessageStore, MessagesService, RouteChecker, RouteViolationsService],
})
export class MessagesModule implements OnModuleInit {
  constructor(
    private readonly jobs: JobsService,
    private readonly violations: RouteViolationsService,
  ) {}

  onModuleInit(): void {
    this.jobs.register({
      name: 'route-violation-digest',
      schedule: '0 0 7 * * *',
      description: 'Mails the DPO users one digest of the route violations detected since the last one (none when there are none)',
      run: ({ actor, now }) => this.violations.sendDigest(actor, now),
    });
  }
}
