import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

export const DIRECTIONS = ['mt', 'mo'] as const;
export type Direction = (typeof DIRECTIONS)[number];
export const MESSAGE_STATUSES = ['accepted', 'sent', 'delivered', 'failed', 'expired', 'rejected', 'received'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
/** The encrypted categories of a message; `delivery_metadata` is the row itself. */
export const PII_CATEGORIES = ['msisdn', 'body'] as const;
export type PiiCategory = (typeof PII_CATEGORIES)[number];

/**
 * One message record handed over by the platform. Metadata is stored in clear; the data subject's
 * phone number and the body are sealed under data keys (see DataKey) and the phone number also
 * kept as a keyed hash (blind index) for lookups. The id is a UUIDv7 whose timestamp is
 * submitted-at, so a lookup by id also knows the time (see message-id.ts).
 *
 * No foreign keys: ingestion checks the customer itself, and per-row FK triggers would cost the
 * batch path more than they protect (rows are never written anywhere else).
 */
@Entity({ name: 'messages' })
@Unique('messages_customer_external_id_key', ['customerId', 'externalId'])
@Index('messages_customer_submitted_idx', ['customerId', 'submittedAt', 'id'])
@Index('messages_submitted_idx', ['submittedAt', 'id'])
@Index('messages_customer_msisdn_hash_idx', ['customerId', 'msisdnHash'], { where: 'msisdn_hash IS NOT NULL' })
export class Message {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ name: 'external_id', type: 'text' })
  externalId: string;

  @Column({ type: 'text' })
  direction: Direction;

  /** The brand's sender id or short code (MT), or the number the person wrote to (MO): not the data subject's. */
  @Column({ type: 'text' })
  sender: string;

  @Column({ name: 'destination_country', type: 'text' })
  destinationCountry: string;

  @Column({ type: 'text' })
  status: MessageStatus;

  /** The sub-processors the message travelled through, in order. */
  @Column({ type: 'uuid', array: true })
  route: string[];

  @Column({ name: 'submitted_at', type: 'timestamptz', precision: 3 })
  submittedAt: Date;

  @Column({ name: 'received_at', type: 'timestamptz', precision: 3, default: () => 'now()' })
  receivedAt: Date;

  /** HMAC-SHA256 of the normalised E.164 number under the customer's index key; cleared with the last of phone number and body. */
  @Column({ name: 'msisdn_hash', type: 'bytea', nullable: true })
  msisdnHash: Buffer | null;

  @Column({ name: 'msisdn_key_id', type: 'uuid', nullable: true })
  msisdnKeyId: string | null;

  @Column({ name: 'msisdn_ciphertext', type: 'bytea', nullable: true })
  msisdnCiphertext: Buffer | null;

  @Column({ name: 'body_key_id', type: 'uuid', nullable: true })
  bodyKeyId: string | null;

  @Column({ name: 'body_ciphertext', type: 'bytea', nullable: true })
  bodyCiphertext: Buffer | null;
}
