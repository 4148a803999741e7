import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export const MESSAGE_KINDS = ['otp', 'transactional', 'marketing', 'health', 'financial', 'government', 'other'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export interface ContactPerson {
  name: string;
  email: string;
}

/** What kinds of messages a brand sends; drives breach severity and records of processing. */
export interface DataProfile {
  messageKinds: MessageKind[];
  specialCategoryData: boolean;
}

/** A brand the provider processes messages for: the GDPR controller. */
@Entity({ name: 'customers' })
export class Customer {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'legal_name', type: 'text' })
  legalName: string;

  /** ISO 3166-1 alpha-2. */
  @Column({ type: 'char', length: 2 })
  country: string;

  @Column({ name: 'dpo_contact', type: 'jsonb' })
  dpoContact: ContactPerson;

  @Column({ name: 'breach_notification_emails', type: 'text', array: true })
  breachNotificationEmails: string[];

  /** ISO 3166-1 alpha-2 codes of the countries this customer's traffic goes to. */
  @Column({ name: 'destination_countries', type: 'text', array: true })
  destinationCountries: string[];

  @Column({ name: 'data_profile', type: 'jsonb' })
  dataProfile: DataProfile;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
