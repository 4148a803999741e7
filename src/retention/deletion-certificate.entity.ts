import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

/**
 * A signed statement of what was destroyed for one customer: by a purge run, or by an erasure
 * request. `statement` is the exact JSON that was signed (RFC 8785 canonical form); `signature` is
 * Ed25519 over it with the key `signingKeyId` (public keys: signing_keys).
 */
@Entity({ name: 'deletion_certificates' })
@Unique('deletion_certificates_run_customer_key', ['runId', 'customerId'])
@Index('deletion_certificates_customer_idx', ['customerId', 'issuedAt', 'id'])
export class DeletionCertificate {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ name: 'run_id', type: 'uuid', nullable: true })
  runId: string | null;

  @Column({ name: 'request_id', type: 'uuid', nullable: true })
  requestId: string | null;

  @Column({ name: 'issued_at', type: 'timestamptz', precision: 3 })
  issuedAt: Date;

  @Column({ type: 'text' })
  statement: string;

  @Column({ type: 'text' })
  signature: string;

  @Column({ name: 'signing_key_id', type: 'text' })
  signingKeyId: string;
}
