import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Not } from 'typeorm';
import type { Actor } from '../access/ability';
import { UsersService } from '../access/users.service';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { MailService } from '../notifications/mail.service';
import { certificationExpiryMail } from './certification-expiry.mail';
import { DAY_MS } from '../common/time';
import { sendReminderOnce } from '../jobs/reminders';
import { Subprocessor } from './subprocessor.entity';

/** How long before a certification expires the DPO is reminded. */
export const CERT_REMINDER_DAYS = 30;

@Injectable()
export class CertificationRemindersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly mail: MailService,
    private readonly users: UsersService,
  ) {}

  /**
   * Mails the DPO users about every certification of a sub-processor still in the registry that
   * expires within 30 days (or has expired unnoticed). Each (sub-processor, certification, expiry
   * date) once: a renewal with a new date is reminded again in its turn. The sent_reminders row,
   * the mail and the audit entry commit together.
   */
  async sendReminders(actor: Actor, now: Date): Promise<Record<string, number>> {
    const subs = await this.dataSource.getRepository(Subprocessor).find({ where: { status: Not('offboarded') }, order: { legalEntity: 'ASC' } });
    const counts = { certificationsDue: 0, remindersSent: 0, withoutRecipients: 0 };
    for (const sub of subs) {
      for (const cert of sub.certifications) {
        const daysLeft = Math.ceil((Date.parse(`${cert.expiresAt}T00:00:00Z`) - now.getTime()) / DAY_MS);
        if (daysLeft > CERT_REMINDER_DAYS) continue;
        counts.certificationsDue++;
        const key = `cert-expiry:${sub.id}:${cert.name}:${cert.expiresAt}`;
        const outcome = await this.dataSource.transaction((em) =>
          sendReminderOnce(em, this.users, { key, role: 'dpo', now }, async (recipients) => {
            await this.mail.enqueue(em, certificationExpiryMail, {
              legalEntity: sub.legalEntity, certification: cert.name, expiresAt: cert.expiresAt, daysLeft,
              link: `${this.config.publicBaseUrl}/api/v1/subprocessors/${sub.id}`,
            }, { to: recipients, about: { type: 'Subprocessor', id: sub.id } });
            await this.audit.record(em, actor, { action: 'subprocessor.certification_reminder_sent', subjectType: 'Subprocessor', subjectId: sub.id, changes: { certification: cert.name, expiresAt: cert.expiresAt, recipientCount: recipients.length } });
          }));
        if (outcome === 'sent') counts.remindersSent++;
        if (outcome === 'no-recipients') counts.withoutRecipients++;
      }
    }
    return counts;
  }
}
