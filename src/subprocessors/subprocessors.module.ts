import { Module, OnModuleInit } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { ChangeNoticesModule } from '../change-notices/change-notices.module';
import { CustomersModule } from '../customers/customers.module';
import { DpasModule } from '../dpas/dpas.module';
import { JobsService } from '../jobs/jobs.service';
import { AuthorisationService } from './authorisation.service';
import { AuthorisedSubprocessorsController } from './authorised-subprocessors.controller';
import { CERT_REMINDER_DAYS, CertificationRemindersService } from './certification-reminders.service';
import { SubprocessorsController } from './subprocessors.controller';
import { SubprocessorsService } from './subprocessors.service';

@Module({
  controllers: [AuthorisedSubprocessorsController, SubprocessorsController],
  exports: [AuthorisationService],
  imports: [AccessModule, ChangeNoticesModule, CustomersModule, DpasModule],
  providers: [AuthorisationService, CertificationRemindersService, SubprocessorsService],
})
export class SubprocessorsModule implements OnModuleInit {
  constructor(
    private readonly jobs: JobsService,
    private readonly subprocessors: SubprocessorsService,
    private readonly reminders: CertificationRemindersService,
  ) {}

  onModuleInit(): void {
    this.jobs.register({
      name: 'change-notices-effective',
      schedule: '0 * * * * *',
      description: 'Makes pending change notices whose effective date has come take effect on their sub-processor',
      run: ({ actor, now }) => this.subprocessors.applyDueNotices(actor, now),
    });
    this.jobs.register({
      name: 'specific-authorisation-enrolment',
      schedule: '30 * * * * *',
      description: 'Asks customers under specific authorisation to approve active sub-processors they were never sent a notice about (their DPA came into force later); one mail per customer',
      run: ({ actor, now }) => this.subprocessors.enrolSpecificAuthorisations(actor, now),
    });
    this.jobs.register({
      name: 'certification-expiry-reminders',
      schedule: '0 30 6 * * *',
      description: `Mails the DPO users ${CERT_REMINDER_DAYS} days before a sub-processor certification expires; each reminder once`,
      run: ({ actor, now }) => this.reminders.sendReminders(actor, now),
    });
  }
}
