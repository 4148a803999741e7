import type { EntityManager } from 'typeorm';
import type { DpasService } from '../dpas/dpas.service';
import { deadlineClock, type DeadlineClock, DEFAULT_BREACH_NOTICE_HOURS, notificationDeadline } from './deadlines';
import type { IncidentClockEntry } from './dto/incident.dto';
import type { Incident } from './incident.entity';

/** One included customer's notice window and where its initial notification stands. */
export interface CustomerNoticeWindow {
  customerId: string;
  breachNoticeHours: number;
  hoursFrom: 'dpa' | 'default';
  deadline: Date;
  /** The initial notification, once drafted. */
  notificationId: string | null;
  notificationStatus: 'draft' | 'approved' | null;
  /** When its mail reached the SMTP server: the moment the customer was told. */
  sentAt: Date | null;
  acknowledgedAt: Date | null;
}

/**
 * Every included customer's deadline — awareness plus the breach-notice hours of its DPA in force
 * at awareness, 24 without one — with its initial notification's state. The clock, the escalation
 * job and the report all read it from here, so they cannot disagree. Sent means the mail was taken
 * by the SMTP server (approval alone only queues it), read from the mail itself so it counts the
 * moment it happens.
 */
export async function noticeWindows(em: EntityManager, dpas: DpasService, incident: Incident): Promise<CustomerNoticeWindow[]> {
  const rows = (await em.query(
    `SELECT c.customer_id, n.id AS notification_id, n.status, COALESCE(n.sent_at, m.sent_at) AS sent_at, n.acknowledged_at
       FROM incident_customers c
       LEFT JOIN breach_notifications n ON n.incident_id = c.incident_id AND n.customer_id = c.customer_id AND n.kind = 'initial'
       LEFT JOIN mails m ON m.id = n.mail_id AND m.status = 'sent'
      WHERE c.incident_id = $1 AND c.included
      ORDER BY c.customer_id`,
    [incident.id],
  )) as { customer_id: string; notification_id: string | null; status: 'draft' | 'approved' | null; sent_at: Date | null; acknowledged_at: Date | null }[];
  if (!rows.length) return [];
  const agreed = new Map((await dpas.activeAgreements(em, incident.becameAwareAt)).map((a) => [a.customer.id, a.dpa.breachNoticeHours]));
  return rows
    .map((r): CustomerNoticeWindow => {
      const hours = agreed.get(r.customer_id);
      return {
        customerId: r.customer_id, breachNoticeHours: hours ?? DEFAULT_BREACH_NOTICE_HOURS, hoursFrom: hours === undefined ? 'default' : 'dpa',
        deadline: notificationDeadline(incident.becameAwareAt, hours), notificationId: r.notification_id, notificationStatus: r.status,
        sentAt: r.sent_at, acknowledgedAt: r.acknowledged_at,
      };
    })
    .sort((a, b) => a.deadline.getTime() - b.deadline.getTime() || a.customerId.localeCompare(b.customerId));
}

/** Where a customer's window stands at `now` (the clock stops when the notification is sent). */
export const windowClock = (incident: Incident, w: CustomerNoticeWindow, now: Date): DeadlineClock =>
  deadlineClock({ becameAwareAt: incident.becameAwareAt, deadline: w.deadline, sentAt: w.sentAt }, now);

/** One customer's line on GET /incidents/:id/clock (and, in part, in the report). */
export function clockEntry(incident: Incident, w: CustomerNoticeWindow, now: Date): IncidentClockEntry {
  const state = windowClock(incident, w, now);
  return {
    customerId: w.customerId, breachNoticeHours: w.breachNoticeHours, hoursFrom: w.hoursFrom, deadline: w.deadline.toISOString(),
    timeLeftMs: state.timeLeftMs, elapsedFraction: state.elapsedFraction, status: state.status,
    notificationId: w.notificationId, sentAt: w.sentAt?.toISOString() ?? null, acknowledgedAt: w.acknowledgedAt?.toISOString() ?? null,
  };
}
