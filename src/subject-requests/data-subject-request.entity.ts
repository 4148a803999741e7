import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const REQUEST_KINDS = ['access', 'erasure'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/**
 * A data-subject request relayed by a customer (Art. 28(3)(e)) for one phone number, kept only as
 * its blind index. Access exports are decrypted when downloaded, never stored.
 */
@Entity({ name: 'data_subject_requests' })
@Index('data_subject_requests_customer_idx', ['customerId', 'requestedAt', 'id'])
export class DataSubjectRequest {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ type: 'text' })
  kind: RequestKind;

  @Column({ name: 'msisdn_hash', type: 'bytea' })
  msisdnHash: Buffer;

  /** The customer's own reference for the request (ticket number), if any. */
  @Column({ type: 'text', nullable: true })
  reference: string | null;

  @Column({ name: 'requested_by', type: 'uuid' })
  requestedBy: string;

  @Column({ name: 'requested_at', type: 'timestamptz', precision: 3 })
  requestedAt: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', precision: 3, nullable: true })
  completedAt: Date | null;

  /** Messages found (access) or whose PII was destroyed (erasure). */
  @Column({ name: 'message_count', type: 'integer', default: 0 })
  messageCount: number;

  /** Erasure: messages left intact because a legal hold covers them. */
  @Column({ name: 'held_count', type: 'integer', default: 0 })
  heldCount: number;

  @Column({ name: 'certificate_id', type: 'uuid', nullable: true })
  certificateId: string | null;
}
