import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Escalation } from './deadlines';

/**
 * An escalation of one customer's notification deadline (50, 75 or 90% of the window gone, or
 * overdue), recorded once: the key makes a second instance or a rerun of the job a no-op.
 */
@Entity({ name: 'incident_escalations' })
export class IncidentEscalation {
  @PrimaryColumn({ name: 'incident_id', type: 'uuid' })
  incidentId: string;

  @PrimaryColumn({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @PrimaryColumn({ type: 'text' })
  escalation: Escalation;

  @Column({ type: 'timestamptz', precision: 3 })
  at: Date;

  /** The mail to the DPO and security; null for one recorded without mail (a later one was due too). */
  @Column({ name: 'mail_id', type: 'uuid', nullable: true })
  mailId: string | null;
}
