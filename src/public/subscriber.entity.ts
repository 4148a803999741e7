import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Someone who asked for mail about sub-processor changes; mailed only after double opt-in. The
 * confirmation and unsubscribe links carry an HMAC of the subscriber's id, so no token is stored.
 */
@Entity({ name: 'public_subscribers' })
export class Subscriber {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('public_subscribers_email_key', { unique: true })
  @Column({ type: 'text' })
  email: string;

  @Column({ name: 'confirmed_at', type: 'timestamptz', nullable: true })
  confirmedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
