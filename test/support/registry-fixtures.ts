import { randomUUID } from 'node:crypto';
import type { TestApp } from './app';

/*
 * Registry rows written straight into the database (as the superuser), for tests of the public
 * pages and the records of processing that must not depend on the registry's own API.
 */

export interface SubprocessorSeed {
  legalEntity: string;
  parentCompany?: string | null;
  country: string;
  role?: 'mobile_operator' | 'aggregator' | 'hosting' | 'support';
  services?: string[];
  purpose?: string;
  dataCategories?: string[];
  carriesCountries?: string[];
  global?: boolean;
  transferMechanism?: 'adequacy' | 'scc' | 'bcr' | 'none';
  certifications?: { name: string; expiresAt: string }[];
  lastSecurityReview?: string | null;
  status?: 'proposed' | 'approved' | 'active' | 'suspended' | 'offboarded';
  activeSince?: Date | null;
}

export async function seedSubprocessor(t: TestApp, s: SubprocessorSeed): Promise<string> {
  const status = s.status ?? 'active';
  const [row] = await t.db.superuser<{ id: string }>(
    `INSERT INTO subprocessors (legal_entity, parent_company, country, role, services, purpose, data_categories, carries_countries, global,
       transfer_mechanism, certifications, last_security_review, status, active_since)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
    [
      s.legalEntity, s.parentCompany ?? null, s.country, s.role ?? 'mobile_operator', s.services ?? ['sms termination'],
      s.purpose ?? 'Delivering SMS to subscribers', s.dataCategories ?? ['msisdn', 'body', 'delivery_metadata'], s.carriesCountries ?? [],
      s.global ?? false, s.transferMechanism ?? 'none', JSON.stringify(s.certifications ?? []), s.lastSecurityReview ?? null, status,
      s.activeSince === undefined ? (status === 'active' ? new Date('2025-03-01T00:00:00Z') : null) : s.activeSince,
    ],
  );
  // The status history is what "authorised at a moment" reads.
  await t.db.superuser('INSERT INTO subprocessor_status_changes (subprocessor_id, status, at) VALUES ($1, $2, $3)', [
    row.id, status, (status === 'active' ? s.activeSince : null) ?? new Date('2025-03-01T00:00:00Z'),
  ]);
  return row.id;
}

export interface NoticeSeed {
  subprocessorId: string;
  kind?: 'new_subprocessor' | 'material_change';
  changes?: Record<string, { from: unknown; to: unknown }>;
  reason?: string;
  status?: 'pending' | 'effective' | 'withdrawn';
  proposedAt?: Date;
  effectiveAt?: Date;
  appliedAt?: Date | null;
}

export async function seedNotice(t: TestApp, n: NoticeSeed): Promise<string> {
  const proposedAt = n.proposedAt ?? new Date('2026-01-10T09:00:00Z');
  const [row] = await t.db.superuser<{ id: string }>(
    `INSERT INTO change_notices (subprocessor_id, kind, changes, reason, status, proposed_at, effective_at, applied_at, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      n.subprocessorId, n.kind ?? 'new_subprocessor', JSON.stringify(n.changes ?? {}), n.reason ?? 'Better delivery rates',
      n.status ?? 'pending', proposedAt, n.effectiveAt ?? new Date(proposedAt.getTime() + 30 * 86_400_000), n.appliedAt ?? null, randomUUID(),
    ],
  );
  return row.id;
}

export interface CustomerSeed {
  legalName: string;
  country?: string;
  dpoContact?: { name: string; email: string };
  breachNotificationEmails?: string[];
  destinationCountries?: string[];
  dataProfile?: { messageKinds: string[]; specialCategoryData: boolean };
}

export async function seedCustomer(t: TestApp, c: CustomerSeed): Promise<string> {
  const [row] = await t.db.superuser<{ id: string }>(
    `INSERT INTO customers (legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [
      c.legalName, c.country ?? 'DE', JSON.stringify(c.dpoContact ?? { name: 'Dana Protector', email: 'dpo@customer.example.test' }),
      c.breachNotificationEmails ?? ['breach@customer.example.test'], c.destinationCountries ?? ['DE'],
      JSON.stringify(c.dataProfile ?? { messageKinds: ['otp'], specialCategoryData: false }),
    ],
  );
  return row.id;
}

export interface DpaSeed {
  customerId: string;
  version?: number;
  status?: 'draft' | 'in_review' | 'signed' | 'active' | 'expired' | 'terminated';
  authorisation?: 'general' | 'specific';
  maxRetentionDays?: Record<string, number>;
  transferMechanisms?: string[];
  dataCategories?: string[];
  purposes?: string[];
  activatedAt?: Date | null;
  endedAt?: Date | null;
  expiresAt?: Date | null;
}

export async function seedDpa(t: TestApp, d: DpaSeed): Promise<string> {
  const status = d.status ?? 'active';
  const [row] = await t.db.superuser<{ id: string }>(
    `INSERT INTO dpas (customer_id, version, status, authorisation, max_retention_days, transfer_mechanisms, data_categories, purposes,
       activated_at, ended_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    [
      d.customerId, d.version ?? 1, status, d.authorisation ?? 'general',
      JSON.stringify(d.maxRetentionDays ?? { body: 30, msisdn: 90, delivery_metadata: 365 }), d.transferMechanisms ?? ['adequacy', 'scc'],
      d.dataCategories ?? ['body', 'msisdn', 'delivery_metadata'], d.purposes ?? ['Delivering one-time passwords'],
      d.activatedAt === undefined ? (status === 'active' ? new Date('2025-06-01T00:00:00Z') : null) : d.activatedAt,
      d.endedAt ?? null, d.expiresAt ?? null,
    ],
  );
  return row.id;
}
