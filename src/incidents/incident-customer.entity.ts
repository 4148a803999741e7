import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { SeverityFactorName, SeverityOverride } from './severity';

/**
 * A customer an incident affects: found by scoping (its messages went through the incident's
 * sub-processors in its window; counts from the message store, people counted by blind index),
 * or added by the DPO with a reason. The DPO may also exclude a found customer, with a reason;
 * rescoping updates the counts and keeps that decision.
 */
@Entity({ name: 'incident_customers' })
export class IncidentCustomer {
  @PrimaryColumn({ name: 'incident_id', type: 'uuid' })
  incidentId: string;

  @PrimaryColumn({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  /** 'scope': found in the message store; 'dpo': added by the DPO. */
  @Column({ type: 'text' })
  source: 'scope' | 'dpo';

  @Column({ type: 'boolean' })
  included: boolean;

  /** Why the DPO added or excluded it; null for a customer scoping found and nobody changed. */
  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ name: 'message_count', type: 'integer', default: 0 })
  messageCount: number;

  @Column({ name: 'distinct_subjects', type: 'integer', default: 0 })
  distinctSubjects: number;

  @Column({ name: 'readable_categories', type: 'text', array: true, default: () => "'{}'" })
  readableCategories: string[];

  @Column({ name: 'destination_countries', type: 'text', array: true, default: () => "'{}'" })
  destinationCountries: string[];

  @Column({ name: 'first_message_at', type: 'timestamptz', precision: 3, nullable: true })
  firstMessageAt: Date | null;

  @Column({ name: 'last_message_at', type: 'timestamptz', precision: 3, nullable: true })
  lastMessageAt: Date | null;

  /** The assessor's replacements of ENISA factors, each with its reason (severity.ts). */
  @Column({ name: 'severity_overrides', type: 'jsonb', default: () => "'{}'" })
  severityOverrides: Partial<Record<SeverityFactorName, SeverityOverride>>;

  @Column({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
