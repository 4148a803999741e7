import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** Every public key that ever signed a certificate, so old certificates stay verifiable after a key change. */
@Entity({ name: 'signing_keys' })
export class SigningKey {
  /** SHA-256 of the raw public key, hex, first 16 characters. */
  @PrimaryColumn('text')
  id: string;

  @Column({ type: 'text', default: 'Ed25519' })
  algorithm: string;

  /** SPKI PEM. */
  @Column({ name: 'public_key', type: 'text' })
  publicKey: string;

  @CreateDateColumn({ name: 'first_used_at', type: 'timestamptz', precision: 3 })
  firstUsedAt: Date;
}
