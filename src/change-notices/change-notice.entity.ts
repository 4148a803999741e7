import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { Customer } from '../customers/customer.entity';
import { Subprocessor } from '../subprocessors/subprocessor.entity';

export const CHANGE_NOTICE_KINDS = ['new_subprocessor', 'material_change'] as const;
export type ChangeNoticeKind = (typeof CHANGE_NOTICE_KINDS)[number];
export const CHANGE_NOTICE_STATUSES = ['pending', 'effective', 'withdrawn'] as const;
export type ChangeNoticeStatus = (typeof CHANGE_NOTICE_STATUSES)[number];

/** Art. 28(2): the announcement of an intended sub-processor change, before it takes effect. */
@Entity({ name: 'change_notices' })
@Index('change_notices_due_idx', ['status', 'effectiveAt'])
export class ChangeNotice {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ManyToOne(() => Subprocessor, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'subprocessor_id' })
  subprocessor?: Subprocessor;

  @Column({ name: 'subprocessor_id', type: 'uuid' })
  subprocessorId: string;

  @Column({ type: 'text' })
  kind: ChangeNoticeKind;

  /** The fields that change, as { field: { from, to } }; applied when the notice takes effect. */
  @Column({ type: 'jsonb' })
  changes: Record<string, { from: unknown; to: unknown }>;

  /** Why the change is made, in words for the customers. */
  @Column({ type: 'text' })
  reason: string;

  @Column({ type: 'text', default: 'pending' })
  status: ChangeNoticeStatus;

  @Column({ name: 'proposed_at', type: 'timestamptz' })
  proposedAt: Date;

  /** proposedAt + the longest objection window among the affected customers' DPAs. */
  @Column({ name: 'effective_at', type: 'timestamptz' })
  effectiveAt: Date;

  @Column({ name: 'applied_at', type: 'timestamptz', nullable: true })
  appliedAt: Date | null;

  @Column({ name: 'created_by', type: 'uuid' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}

/** A customer affected by a notice: told by mail, may object until its own deadline. */
@Entity({ name: 'change_notice_recipients' })
@Index('change_notice_recipients_customer_idx', ['customerId'])
export class ChangeNoticeRecipient {
  @PrimaryColumn({ name: 'notice_id', type: 'uuid' })
  noticeId: string;

  @PrimaryColumn({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @ManyToOne(() => ChangeNotice, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'notice_id' })
  notice?: ChangeNotice;

  @ManyToOne(() => Customer, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customer_id' })
  customer?: Customer;

  /** The DPA whose terms applied when the notice was made. */
  @Column({ name: 'dpa_id', type: 'uuid' })
  dpaId: string;

  @Column({ name: 'objection_deadline', type: 'timestamptz' })
  objectionDeadline: Date;

  /** Specific authorisation: the customer must approve before the sub-processor may carry its data. */
  @Column({ name: 'approval_required', type: 'boolean' })
  approvalRequired: boolean;

  @Column({ name: 'approved_at', type: 'timestamptz', nullable: true })
  approvedAt: Date | null;

  @Column({ name: 'approved_by', type: 'uuid', nullable: true })
  approvedBy: string | null;
}

export const OBJECTION_RESOLUTIONS = ['withdrawn', 'alternative_route', 'dpa_terminated'] as const;
export type ObjectionResolution = (typeof OBJECTION_RESOLUTIONS)[number];

/** A customer's objection; while open, the sub-processor is not authorised for that customer. */
@Entity({ name: 'objections' })
@Index('objections_customer_subprocessor_idx', ['customerId', 'subprocessorId'])
export class Objection {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ManyToOne(() => ChangeNotice, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'notice_id' })
  notice?: ChangeNotice;

  @Column({ name: 'notice_id', type: 'uuid' })
  noticeId: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ name: 'subprocessor_id', type: 'uuid' })
  subprocessorId: string;

  @Column({ type: 'text' })
  reason: string;

  @Column({ name: 'raised_by', type: 'uuid' })
  raisedBy: string;

  @Column({ name: 'raised_at', type: 'timestamptz' })
  raisedAt: Date;

  @Column({ type: 'text', nullable: true })
  resolution: ObjectionResolution | null;

  @Column({ name: 'resolution_note', type: 'text', nullable: true })
  resolutionNote: string | null;

  @Column({ name: 'resolved_by', type: 'uuid', nullable: true })
  resolvedBy: string | null;

  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt: Date | null;
}
