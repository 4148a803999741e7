import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Customer } from '../customers/customer.entity';
import type { UserRole } from './ability';

@Entity({ name: 'users' })
@Check('users_customer_role', `(role = 'customer') = (customer_id IS NOT NULL)`)
@Check('users_pii_access_dpo_only', `NOT pii_access OR role = 'dpo'`)
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Stored lower-cased; unique. */
  @Index('users_email_key', { unique: true })
  @Column({ type: 'text' })
  email: string;

  @Column({ name: 'password_hash', type: 'text' })
  passwordHash: string;

  @Column({ type: 'text' })
  role: UserRole;

  @ManyToOne(() => Customer, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customer_id' })
  customer?: Customer;

  @Index('users_customer_id_idx')
  @Column({ name: 'customer_id', type: 'uuid', nullable: true })
  customerId: string | null;

  @Column({ type: 'boolean', default: false })
  disabled: boolean;

  /** Break-glass: may read decrypted message PII (with a stated reason, audited). Only DPO users can hold it. */
  @Column({ name: 'pii_access', type: 'boolean', default: false })
  piiAccess: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
