import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { UsersService } from '../access/users.service';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { CustomersService } from '../customers/customers.service';
import { DpasService } from '../dpas/dpas.service';
import { JobsService } from '../jobs/jobs.service';
import { claimReminder } from '../jobs/reminders';
import { MailService } from '../notifications/mail.service';
import { acknowledgementLink, AcknowledgementLinks } from './acknowledgement-links';
import { BreachNotification } from './breach-notification.entity';
import { acknowledgementReminderMail, deadlineEscalationMail, deliveryFailedMail, escalationSentence } from './breach-job-mail.templates';
import { notificationSubject } from './breach-mail.templates';
import { dueEscalations, type Escalation, formatDeadline } from './deadlines';
import { Incident } from './incident.entity';
import type { IncidentStatus } from './incident-lifecycle';
import { type CustomerNoticeWindow, noticeWindows } from './notice-windows';
import { addToTimeline } from './timeline';

/** Until the notifications are sent, the deadlines run: these statuses escalate. */
export const ESCALATING: readonly IncidentStatus[] = ['reported', 'triage', 'confirmed_breach', 'notifying'];

type Counts = Record<string, number>;

/**
 * A notification mail (m) whose outcome the job has not dealt with: sent but not yet recorded, or
 * failed with nobody alerted yet (once alerted it waits for the DPO's resend, which queues a new mail).
 */
const UNRECORDED_DELIVERY = `(m.status = 'sent' OR (m.status = 'failed' AND NOT EXISTS (SELECT 1 FROM sent_reminders r WHERE r.key = 'breach-mail-failed:' || m.id)))`;

/**
 * The breach workflow's scheduled work (docs/incidents.md): delivered notification mails become
 * sent notifications, a `notifying` incident whose customers have all been told becomes
 * `notified`, deadlines escalate to the DPO and security at 50, 75 and 90% of each window and once
 * it has passed, and unacknowledged notifications are reminded. Everything is keyed so that a
 * rerun, or a second instance, changes and mails nothing twice.
 */
@Injectable()
export class BreachDeadlineJobsService implements OnModuleInit {
  private readonly logger = new Logger(BreachDeadlineJobsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly mail: MailService,
    private readonly users: UsersService,
    private readonly customers: CustomersService,
    private readonly dpas: DpasService,
    private readonly links: AcknowledgementLinks,
    private readonly jobs: JobsService,
  ) {}

  onModuleInit(): void {
    this.jobs.register({
      name: 'breach-deadlines',
      schedule: '0 * * * * *',
      description: 'Records delivered breach notifications, marks incidents notified, escalates notification deadlines at 50, 75 and 90% and when overdue',
      run: ({ actor, now }) => this.checkDeadlines(actor, now),
    });
    this.jobs.register({
      name: 'breach-acknowledgement-reminders',
      schedule: '0 */15 * * * *',
      description: `Reminds customers of breach notifications not acknowledged after ${this.config.breach.ackReminderHours} h, at most ${this.config.breach.ackMaxReminders} times`,
      run: ({ actor, now }) => this.remindUnacknowledged(actor, now),
    });
  }

  /** Each incident with work to do, in its own transaction with its row locked: deliveries, then `notified`, then escalations. */
  async checkDeadlines(actor: Actor, now: Date): Promise<Counts> {
    const ids = (await this.dataSource.query(
      `SELECT i.id FROM incidents i
        WHERE i.status = ANY($1::text[]) AND EXISTS (SELECT 1 FROM incident_customers c WHERE c.incident_id = i.id AND c.included)
       UNION
       SELECT n.incident_id FROM breach_notifications n JOIN mails m ON m.id = n.mail_id
        WHERE n.status = 'approved' AND n.sent_at IS NULL AND ${UNRECORDED_DELIVERY}
       ORDER BY 1`,
      [ESCALATING],
    )) as { id: string }[];
    const counts: Counts = { incidents: ids.length, notificationsSent: 0, failedMails: 0, failureAlerts: 0, incidentsNotified: 0, escalationsRecorded: 0, escalationMails: 0, withoutRecipients: 0 };
    await this.eachApart('incident', ids.map((r) => r.id), (id) => this.dataSource.transaction(async (em) => {
      const incident = await em.findOne(Incident, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!incident) return;
      await this.recordDeliveries(em, actor, incident, now, counts);
      await this.markNotified(em, actor, incident, now, counts);
      await this.escalate(em, actor, incident, now, counts);
    }));
    return counts;
  }

  /**
   * A notification is sent when the SMTP server took its mail: the time is copied from the mail and
   * put on the timeline. A mail refused for good leaves the notification unsent (its deadline keeps
   * escalating) and alerts the DPO and security once.
   */
  private async recordDeliveries(em: EntityManager, actor: Actor, incident: Incident, now: Date, counts: Counts): Promise<void> {
    const rows = (await em.query(
      `SELECT n.id, n.customer_id, n.kind, m.id AS mail_id, m.status AS mail_status, m.sent_at AS mail_sent_at, m.last_error
         FROM breach_notifications n JOIN mails m ON m.id = n.mail_id
        WHERE n.incident_id = $1 AND n.status = 'approved' AND n.sent_at IS NULL AND ${UNRECORDED_DELIVERY}
        ORDER BY m.sent_at NULLS LAST, n.id`,
      [incident.id],
    )) as { id: string; customer_id: string; kind: 'initial' | 'follow_up'; mail_id: string; mail_status: 'sent' | 'failed'; mail_sent_at: Date | null; last_error: string | null }[];
    for (const n of rows) {
      const notificationId = n.id;
      const customerId = n.customer_id;
      if (n.mail_status === 'sent') {
        const sentAt = n.mail_sent_at!;
        await em.update(BreachNotification, { id: notificationId }, { sentAt });
        await addToTimeline(em, actor, incident.id, { kind: 'notification_sent', at: sentAt, customerId, notificationId });
        await this.audit.record(em, actor, {
          action: 'breach_notification.sent', subjectType: 'BreachNotification', subjectId: notificationId, changes: { notificationId, customerId, incidentId: incident.id },
        });
        counts.notificationsSent++;
        continue;
      }
      counts.failedMails++;
      const recipients = await this.staff(em);
      if (!recipients.length) {
        counts.withoutRecipients++;
        continue;
      }
      if (!(await claimReminder(em, `breach-mail-failed:${n.mail_id}`, now))) continue;
      const customer = (await this.customers.byIds(em, [customerId])).get(customerId);
      await this.mail.enqueue(em, deliveryFailedMail, {
        incidentId: incident.id, incidentTitle: incident.title, customerName: customer?.legalName ?? customerId, notificationId, kind: n.kind,
        lastError: n.last_error, notificationLink: `${this.config.publicBaseUrl}/api/v1/breach-notifications/${notificationId}`,
      }, { to: recipients, about: { type: 'BreachNotification', id: notificationId } });
      await this.audit.record(em, actor, {
        action: 'breach_notification.delivery_failed', subjectType: 'BreachNotification', subjectId: notificationId,
        changes: { notificationId, customerId, incidentId: incident.id, recipientCount: recipients.length },
      });
      counts.failureAlerts++;
    }
  }

  /** `notifying` becomes `notified` once every included customer's initial notification has been sent. */
  private async markNotified(em: EntityManager, actor: Actor, incident: Incident, now: Date, counts: Counts): Promise<void> {
    if (incident.status !== 'notifying') return;
    const [{ total, unsent }] = (await em.query(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE n.sent_at IS NULL)::int AS unsent
         FROM incident_customers c
         LEFT JOIN breach_notifications n ON n.incident_id = c.incident_id AND n.customer_id = c.customer_id AND n.kind = 'initial'
        WHERE c.incident_id = $1 AND c.included`,
      [incident.id],
    )) as { total: number; unsent: number }[];
    if (total === 0 || unsent > 0) return;
    const from = incident.status;
    incident.status = 'notified';
    incident.updatedAt = now;
    await em.save(incident);
    await addToTimeline(em, actor, incident.id, { kind: 'status_changed', at: now, fromStatus: from, toStatus: 'notified' });
    await this.audit.record(em, actor, {
      action: 'incident.status_changed', subjectType: 'Incident', subjectId: incident.id, changes: { status: { from, to: 'notified' }, automatic: true },
    });
    counts.incidentsNotified++;
  }

  /**
   * Records every escalation now due for each included customer whose initial notification has not
   * been sent, and mails the DPO and security about the last of them only: after the job was down,
   * 50, 75 and 90% are recorded without mail and one 'overdue' goes out. The key of
   * incident_escalations makes a second run, or instance, record and mail nothing more.
   */
  private async escalate(em: EntityManager, actor: Actor, incident: Incident, now: Date, counts: Counts): Promise<void> {
    if (!ESCALATING.includes(incident.status)) return;
    const windows = await noticeWindows(em, this.dpas, incident);
    const recorded = (await em.query('SELECT customer_id, escalation FROM incident_escalations WHERE incident_id = $1', [incident.id])) as { customer_id: string; escalation: Escalation }[];
    const recordedFor = (customerId: string) => recorded.filter((r) => r.customer_id === customerId).map((r) => r.escalation);
    const due = windows
      .map((w) => ({ w, escalations: dueEscalations({ becameAwareAt: incident.becameAwareAt, deadline: w.deadline, sentAt: w.sentAt }, now, recordedFor(w.customerId)) }))
      .filter((d) => d.escalations.length > 0);
    if (!due.length) return;
    const recipients = await this.staff(em);
    if (!recipients.length) {
      counts.withoutRecipients += due.length;
      return; // nothing recorded: the escalation goes out once somebody can receive it
    }
    const names = await this.customers.byIds(em, due.map((d) => d.w.customerId));
    for (const { w, escalations } of due) {
      const customerName = names.get(w.customerId)?.legalName ?? w.customerId;
      const inserted: Escalation[] = [];
      for (const escalation of escalations) {
        const rows = (await em.query(
          `INSERT INTO incident_escalations (incident_id, customer_id, escalation, at) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING escalation`,
          [incident.id, w.customerId, escalation, now],
        )) as unknown[];
        if (rows.length) inserted.push(escalation);
      }
      counts.escalationsRecorded += inserted.length;
      const last = escalations[escalations.length - 1];
      const mailed = inserted.includes(last);
      for (const escalation of inserted) {
        await this.audit.record(em, actor, {
          action: 'incident.escalated', subjectType: 'Incident', subjectId: incident.id,
          changes: { customerId: w.customerId, escalation, mailed: escalation === last },
        });
      }
      if (!mailed) continue; // another run recorded and mailed it
      const deadlineText = formatDeadline(w.deadline, 'Etc/UTC');
      const mailId = await this.mail.enqueue(em, deadlineEscalationMail, {
        escalation: last, incidentId: incident.id, incidentTitle: incident.title, customerName, deadline: w.deadline, deadlineText,
        timeLeftMs: w.deadline.getTime() - now.getTime(), notificationState: notificationState(w),
        clockLink: `${this.config.publicBaseUrl}/api/v1/incidents/${incident.id}/clock`,
      }, { to: recipients, about: { type: 'Incident', id: incident.id } });
      await em.query('UPDATE incident_escalations SET mail_id = $4 WHERE incident_id = $1 AND customer_id = $2 AND escalation = $3', [incident.id, w.customerId, last, mailId]);
      await addToTimeline(em, actor, incident.id, {
        kind: 'escalated', at: now, customerId: w.customerId, text: `${escalationSentence(last, customerName)}; deadline ${deadlineText}`,
      });
      counts.escalationMails++;
    }
  }

  /**
   * Reminds the customer of each sent, unacknowledged notification of an open incident every
   * ackReminderHours after sending, up to ackMaxReminders times, at the addresses it went to, with a
   * fresh one-click link. Each goes out once: the notification's row is locked and its count checked again.
   */
  async remindUnacknowledged(actor: Actor, now: Date): Promise<Counts> {
    const { ackReminderHours, ackMaxReminders, ackLinkTtlHours } = this.config.breach;
    const due = (await this.dataSource.query(
      `SELECT n.id FROM breach_notifications n JOIN incidents i ON i.id = n.incident_id
        WHERE n.status = 'approved' AND n.sent_at IS NOT NULL AND n.acknowledged_at IS NULL AND i.status <> 'closed'
          AND n.reminders_sent < $1 AND n.sent_at + make_interval(hours => (n.reminders_sent + 1) * $2) <= $3
        ORDER BY n.sent_at, n.id`,
      [ackMaxReminders, ackReminderHours, now],
    )) as { id: string }[];
    const counts: Counts = { due: due.length, remindersSent: 0 };
    await this.eachApart('notification', due.map((r) => r.id), async (id) => {
      const sent = await this.dataSource.transaction(async (em) => {
        const n = await em.findOne(BreachNotification, { where: { id }, lock: { mode: 'pessimistic_write' } });
        // Acknowledged, or reminded by another instance since the query above: the locked row says.
        const dueAt = n ? n.sentAt!.getTime() + (n.remindersSent + 1) * ackReminderHours * 3_600_000 : Infinity;
        if (!n || n.acknowledgedAt || n.remindersSent >= ackMaxReminders || dueAt > now.getTime() || !n.recipients.length) return false;
        const reminder = n.remindersSent + 1;
        await em.update(BreachNotification, { id: n.id }, { remindersSent: reminder });
        const customer = (await this.customers.byIds(em, [n.customerId])).get(n.customerId);
        await this.mail.enqueue(em, acknowledgementReminderMail, {
          incidentId: n.incidentId, notificationId: n.id, customerName: customer?.legalName ?? n.customerId, kind: n.kind, sentAt: n.sentAt!,
          originalSubject: notificationSubject(n), reminder, maxReminders: ackMaxReminders,
          link: acknowledgementLink(this.links, this.config.publicBaseUrl, n.id, now, ackLinkTtlHours),
          apiUrl: `${this.config.publicBaseUrl}/api/v1/breach-notifications/${n.id}/acknowledgement`, dpoContact: this.config.breach.dpoContact,
        }, { to: n.recipients, customerId: n.customerId, about: { type: 'BreachNotification', id: n.id } });
        await addToTimeline(em, actor, n.incidentId, {
          kind: 'reminder_sent', at: now, customerId: n.customerId, notificationId: n.id,
          text: `Reminder ${reminder} of at most ${ackMaxReminders} to acknowledge, to the customer's ${n.recipients.length} breach-notification address${n.recipients.length === 1 ? '' : 'es'}`,
        });
        await this.audit.record(em, actor, {
          action: 'breach_notification.reminded', subjectType: 'BreachNotification', subjectId: n.id, changes: { notificationId: n.id, incidentId: n.incidentId, reminder },
        });
        return true;
      });
      if (sent) counts.remindersSent++;
    });
    return counts;
  }

  /**
   * Runs `work` for each id in turn; one that fails is rolled back and logged, and the others still
   * run (one broken incident must not hold back every other customer's escalation). The run then
   * fails, naming the ids, so that the job's history shows it.
   */
  private async eachApart(what: string, ids: string[], work: (id: string) => Promise<void>): Promise<void> {
    const failed: string[] = [];
    for (const id of ids) {
      try {
        await work(id);
      } catch (error) {
        this.logger.error(`${what} ${id}: ${(error as Error).message}`);
        failed.push(id);
      }
    }
    if (failed.length) throw new Error(`${failed.length} ${what}(s) failed and were left for the next run: ${failed.join(', ')}`);
  }

  /** Every enabled DPO and security user, each address once. */
  private async staff(em: EntityManager): Promise<string[]> {
    return [...new Set([...(await this.users.emailsOfRole(em, 'dpo')), ...(await this.users.emailsOfRole(em, 'security'))])];
  }
}

function notificationState(w: CustomerNoticeWindow): string {
  if (w.notificationStatus === null) return 'not drafted yet';
  if (w.notificationStatus === 'draft') return 'drafted, waiting for a DPO\'s approval';
  return 'approved, its mail not yet taken by the mail server';
}
