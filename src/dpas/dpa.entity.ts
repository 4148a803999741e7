import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { Customer } from '../customers/customer.entity';

export const DPA_STATUSES = ['draft', 'in_review', 'signed', 'active', 'expired', 'terminated'] as const;
export type DpaStatus = (typeof DPA_STATUSES)[number];
export const AUTHORISATIONS = ['general', 'specific'] as const;
export type Authorisation = (typeof AUTHORISATIONS)[number];
export const DATA_CATEGORIES = ['body', 'msisdn', 'delivery_metadata'] as const;
export type DataCategory = (typeof DATA_CATEGORIES)[number];
export const TRANSFER_MECHANISMS = ['adequacy', 'scc', 'bcr', 'none'] as const;
export type TransferMechanism = (typeof TRANSFER_MECHANISMS)[number];

/** One version of a customer's data processing agreement; its terms drive the rest of the system. */
@Entity({ name: 'dpas' })
@Unique('dpas_customer_version_key', ['customerId', 'version'])
@Index('dpas_one_active_per_customer', ['customerId'], { unique: true, where: `status = 'active'` })
export class Dpa {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ManyToOne(() => Customer, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customer_id' })
  customer?: Customer;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'text', default: 'draft' })
  status: DpaStatus;

  @Column({ name: 'breach_notice_hours', type: 'integer', default: 24 })
  breachNoticeHours: number;

  @Column({ name: 'objection_window_days', type: 'integer', default: 30 })
  objectionWindowDays: number;

  @Column({ type: 'text', default: 'general' })
  authorisation: Authorisation;

  /** Longest retention allowed per data category, in days. */
  @Column({ name: 'max_retention_days', type: 'jsonb' })
  maxRetentionDays: Record<DataCategory, number>;

  @Column({ name: 'transfer_mechanisms', type: 'text', array: true })
  transferMechanisms: TransferMechanism[];

  @Column({ name: 'data_categories', type: 'text', array: true })
  dataCategories: DataCategory[];

  @Column({ type: 'text', array: true })
  purposes: string[];

  /** When the agreement ends unless renewed; reminders go to legal before. */
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  /** The customer-side signatory, as written in the document. */
  @Column({ name: 'signed_by_name', type: 'text', nullable: true })
  signedByName: string | null;

  @Column({ name: 'signed_at', type: 'timestamptz', nullable: true })
  signedAt: Date | null;

  /** The user who recorded the signature. */
  @Column({ name: 'signature_recorded_by', type: 'uuid', nullable: true })
  signatureRecordedBy: string | null;

  @Column({ name: 'activated_at', type: 'timestamptz', nullable: true })
  activatedAt: Date | null;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt: Date | null;

  @Column({ name: 'document_sha256', type: 'text', nullable: true })
  documentSha256: string | null;

  @Column({ name: 'document_size', type: 'integer', nullable: true })
  documentSize: number | null;

  @Column({ name: 'document_name', type: 'text', nullable: true })
  documentName: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}

/** The signed PDF, kept apart from the DPA row so lists never load it. */
@Entity({ name: 'dpa_documents' })
export class DpaDocument {
  @ManyToOne(() => Dpa, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'dpa_id' })
  dpa?: Dpa;

  @Column({ name: 'dpa_id', type: 'uuid', primary: true })
  dpaId: string;

  @Column({ type: 'bytea' })
  content: Buffer;
}
