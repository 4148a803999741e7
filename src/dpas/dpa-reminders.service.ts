import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/ability';
import { UsersService } from '../access/users.service';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { MailService } from '../notifications/mail.service';
import { dpaExpiryReminder } from './dpa-mail.templates';
import { DAY_MS } from '../common/time';
import { sendReminderOnce } from '../jobs/reminders';
import { Dpa } from './dpa.entity';

/** Days before expiry at which legal is reminded, each once per DPA. */
export const EXPIRY_THRESHOLDS = [60, 30, 7] as const;

/** The tightest threshold already reached, e.g. 30 when 25 days are left; none beyond 60 days. */
export function dueThreshold(expiresAt: Date, now: Date): number | null {
  const daysLeft = (expiresAt.getTime() - now.getTime()) / DAY_MS;
  if (daysLeft <= 0) return null;
  const reached = EXPIRY_THRESHOLDS.filter((t) => daysLeft <= t);
  return reached.length ? Math.min(...reached) : null;
}

@Injectable()
export class DpaRemindersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly mail: MailService,
    private readonly users: UsersService,
  ) {}

  /**
   * Mails every enabled legal user about each active DPA that has reached a threshold. A DPA whose
   * reminders were missed (the job did not run) gets only the most urgent one; each goes out once.
   */
  async sendExpiryReminders(actor: Actor, now: Date): Promise<Record<string, number>> {
    const due = await this.dataSource.getRepository(Dpa).createQueryBuilder('d')
      .innerJoinAndSelect('d.customer', 'c')
      .where(`d.status = 'active'`)
      .andWhere('d.expiresAt > :now AND d.expiresAt <= :horizon', { now, horizon: new Date(now.getTime() + Math.max(...EXPIRY_THRESHOLDS) * DAY_MS) })
      .orderBy('d.expiresAt', 'ASC')
      .getMany();
    const counts = { dpasExpiringSoon: due.length, remindersSent: 0, withoutRecipients: 0 };
    for (const dpa of due) {
      const threshold = dueThreshold(dpa.expiresAt!, now);
      if (threshold === null) continue;
      const outcome = await this.dataSource.transaction((em) =>
        sendReminderOnce(em, this.users, { key: `dpa-expiry:${dpa.id}:${threshold}`, role: 'legal', now }, async (recipients) => {
          await this.mail.enqueue(em, dpaExpiryReminder, {
            threshold, daysLeft: Math.ceil((dpa.expiresAt!.getTime() - now.getTime()) / DAY_MS), customerName: dpa.customer!.legalName,
            version: dpa.version, expiresAt: dpa.expiresAt!, link: `${this.config.publicBaseUrl}/api/v1/dpas/${dpa.id}`,
          }, { to: recipients, about: { type: 'Dpa', id: dpa.id } });
          await this.audit.record(em, actor, { action: 'dpa.expiry_reminder_sent', subjectType: 'Dpa', subjectId: dpa.id, changes: { threshold, recipientCount: recipients.length } });
        }));
      if (outcome === 'sent') counts.remindersSent++;
      if (outcome === 'no-recipients') counts.withoutRecipients++;
    }
    return counts;
  }
}
