import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { DataCategory, TransferMechanism } from '../dpas/dpa.entity';

export const SUBPROCESSOR_ROLES = ['mobile_operator', 'aggregator', 'hosting', 'support'] as const;
export type SubprocessorRole = (typeof SUBPROCESSOR_ROLES)[number];
export const SUBPROCESSOR_STATUSES = ['proposed', 'approved', 'active', 'suspended', 'offboarded'] as const;
export type SubprocessorStatus = (typeof SUBPROCESSOR_STATUSES)[number];

export interface Certification {
  /** e.g. "ISO/IEC 27001", "SOC 2 Type II" */
  name: string;
  expiresAt: string;
}

/** A third party that processes message data on the provider's behalf. */
@Entity({ name: 'subprocessors' })
export class Subprocessor {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'legal_entity', type: 'text' })
  legalEntity: string;

  /** Who owns it; a change of ownership is a material change. */
  @Column({ name: 'parent_company', type: 'text', nullable: true })
  parentCompany: string | null;

  /** ISO 3166-1 alpha-2 of where it processes. */
  @Column({ type: 'char', length: 2 })
  country: string;

  @Column({ type: 'text' })
  role: SubprocessorRole;

  @Column({ type: 'text', array: true })
  services: string[];

  @Column({ type: 'text' })
  purpose: string;

  @Column({ name: 'data_categories', type: 'text', array: true })
  dataCategories: DataCategory[];

  /** Countries whose traffic it carries; ignored when `global`. */
  @Column({ name: 'carries_countries', type: 'text', array: true, default: () => `'{}'` })
  carriesCountries: string[];

  @Column({ type: 'boolean', default: false })
  global: boolean;

  @Column({ name: 'transfer_mechanism', type: 'text' })
  transferMechanism: TransferMechanism;

  @Column({ type: 'jsonb', default: () => `'[]'` })
  certifications: Certification[];

  @Column({ name: 'last_security_review', type: 'date', nullable: true })
  lastSecurityReview: string | null;

  @Column({ type: 'text', default: 'proposed' })
  status: SubprocessorStatus;

  /** When it first became active: "since when" on the public page. */
  @Column({ name: 'active_since', type: 'timestamptz', nullable: true })
  activeSince: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}

/** Every status a sub-processor has had and since when, so authorisation can be asked of any moment. */
@Entity({ name: 'subprocessor_status_changes' })
@Index('subprocessor_status_changes_idx', ['subprocessorId', 'at'])
export class SubprocessorStatusChange {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ManyToOne(() => Subprocessor, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'subprocessor_id' })
  subprocessor?: Subprocessor;

  @Column({ name: 'subprocessor_id', type: 'uuid' })
  subprocessorId: string;

  @Column({ type: 'text' })
  status: SubprocessorStatus;

  @Column({ type: 'timestamptz' })
  at: Date;
}
