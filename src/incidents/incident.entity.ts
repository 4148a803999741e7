import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { DataCategory } from '../dpas/dpa.entity';
import { INCIDENT_STATUSES, type IncidentStatus } from './incident-lifecycle';

export const INCIDENT_NATURES = ['confidentiality', 'integrity', 'availability'] as const;
export type IncidentNature = (typeof INCIDENT_NATURES)[number];

/**
 * A security incident as the security role reported it (issue 5): where it happened (sub-processors
 * and/or internal systems), when, which data categories, and its nature. A *personal data breach*
 * once the DPO confirms it. Facts and status only; every step is in incident_events.
 */
@Entity({ name: 'incidents' })
@Index('incidents_reported_idx', ['reportedAt', 'id'])
@Check('incidents_status_check', `status IN (${INCIDENT_STATUSES.map((s) => `'${s}'`).join(', ')})`)
@Check('incidents_aware_after_detected', 'became_aware_at >= detected_at')
@Check('incidents_window_order', 'window_from IS NULL OR window_to IS NULL OR window_from < window_to')
@Check('incidents_something_affected', 'cardinality(subprocessor_ids) + cardinality(internal_systems) > 0')
export class Incident {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'text' })
  description: string;

  @Column({ name: 'detected_at', type: 'timestamptz', precision: 3 })
  detectedAt: Date;

  /** When the provider became aware: every customer's notification deadline counts from here (Art. 33(2)). */
  @Column({ name: 'became_aware_at', type: 'timestamptz', precision: 3 })
  becameAwareAt: Date;

  @Column({ name: 'subprocessor_ids', type: 'uuid', array: true, default: () => "'{}'" })
  subprocessorIds: string[];

  @Column({ name: 'internal_systems', type: 'text', array: true, default: () => "'{}'" })
  internalSystems: string[];

  /** The time window the incident may have exposed (submitted-at of the messages concerned). */
  @Column({ name: 'window_from', type: 'timestamptz', precision: 3, nullable: true })
  windowFrom: Date | null;

  @Column({ name: 'window_to', type: 'timestamptz', precision: 3, nullable: true })
  windowTo: Date | null;

  @Column({ name: 'data_categories', type: 'text', array: true })
  dataCategories: DataCategory[];

  @Column({ type: 'text', array: true })
  nature: IncidentNature[];

  @Column({ name: 'malicious_intent', type: 'boolean' })
  maliciousIntent: boolean;

  @Column({ type: 'text', default: 'reported' })
  status: IncidentStatus;

  /**
   * Why the DPO declined the legal hold a confirmed breach otherwise places on its scoped data;
   * null when the hold was placed (or the breach is not confirmed).
   */
  @Column({ name: 'legal_hold_declined_reason', type: 'text', nullable: true })
  legalHoldDeclinedReason: string | null;

  @Column({ name: 'reported_by', type: 'uuid', nullable: true })
  reportedBy: string | null;

  @Column({ name: 'reported_at', type: 'timestamptz', precision: 3 })
  reportedAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}

/** How loadVisible finds an incident a caller may see (404 as "Incident" otherwise). */
export const INCIDENT_ROW = { entity: Incident, subject: 'Incident' as const, name: 'Incident' };
