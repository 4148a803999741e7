import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

export const VIOLATION_REASONS = ['unknown_subprocessor', 'no_dpa', 'not_authorised', 'objection', 'approval_required', 'transfer_not_allowed'] as const;
export type ViolationReason = (typeof VIOLATION_REASONS)[number];

/** A hop of a message's route through a sub-processor the customer had not authorised then (a grey route). */
@Entity({ name: 'route_violations' })
@Unique('route_violations_message_position_key', ['messageId', 'position'])
@Index('route_violations_detected_idx', ['detectedAt', 'id'])
@Index('route_violations_customer_idx', ['customerId', 'detectedAt'])
@Index('route_violations_undigested_idx', ['detectedAt'], { where: 'digested_at IS NULL' })
export class RouteViolation {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'message_id', type: 'uuid' })
  messageId: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ name: 'subprocessor_id', type: 'uuid' })
  subprocessorId: string;

  /** 0-based position of the hop in the route. */
  @Column({ type: 'smallint' })
  position: number;

  @Column({ type: 'text' })
  reason: ViolationReason;

  @Column({ name: 'submitted_at', type: 'timestamptz', precision: 3 })
  submittedAt: Date;

  @Column({ name: 'detected_at', type: 'timestamptz', precision: 3 })
  detectedAt: Date;

  /** When the DPO's daily digest included it. */
  @Column({ name: 'digested_at', type: 'timestamptz', precision: 3, nullable: true })
  digestedAt: Date | null;
}
