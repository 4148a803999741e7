import { randomBytes } from 'node:crypto';
import type { CustomerResponse } from '../../src/customers/dto/customer.dto';
import type { TestApp } from './app';
import { bearer } from './http';

/** A valid customer body; override any field. */
export function customerBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const tag = randomBytes(4).toString('hex');
  return {
    legalName: `Brand ${tag} GmbH`,
    country: 'DE',
    dpoContact: { name: 'Dana Protector', email: `dpo-${tag}@brand.example` },
    breachNotificationEmails: [`security-${tag}@brand.example`],
    destinationCountries: ['DE', 'FR'],
    dataProfile: { messageKinds: ['otp', 'transactional'], specialCategoryData: false },
    ...overrides,
  };
}

/**
 * A real customer, so customer users can reference it: created through the API when given a
 * legal user's token, else inserted directly (for tests about something else).
 */
export async function createCustomer(t: TestApp, legalToken?: string, overrides: Record<string, unknown> = {}): Promise<{ id: string; legalName: string }> {
  const body = customerBody(overrides);
  if (legalToken) {
    const res = await t.http().post('/api/v1/customers').set(bearer(legalToken)).send(body);
    if (res.status !== 201) throw new Error(`creating a customer answered ${res.status}: ${JSON.stringify(res.body)}`);
    const created = res.body as CustomerResponse;
    return { id: created.id, legalName: created.legalName };
  }
  const [row] = await t.db.superuser<{ id: string }>(
    `INSERT INTO customers (legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [body.legalName, body.country, JSON.stringify(body.dpoContact), body.breachNotificationEmails, body.destinationCountries, JSON.stringify(body.dataProfile)],
  );
  return { id: row.id, legalName: body.legalName as string };
}
