import { createPublicKey, verify } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { DATA_CATEGORIES, type DataCategory } from '../dpas/dpa.entity';
import { SigningKey } from './signing-key.entity';

/**
 * A deletion certificate's signed statement, read back: parsing it, the counts it states, and the
 * checks that the API (GET /retention/certificates/:id/verify), the CLI (`certificates:verify`)
 * and anyone holding the statement, the signature and the published key can make.
 */

export interface Statement {
  certificateId?: unknown;
  customerId?: unknown;
  signingKeyId?: unknown;
  method?: unknown;
  destroyedAt?: unknown;
  destroyed?: unknown;
  retainedUnderHold?: unknown;
}

export interface SignedCertificate {
  statement: string;
  signature: string;
  signingKeyId: string;
}

export interface Verification {
  valid: boolean;
  signingKeyId: string;
  reason?: string;
}

/** Parses a signed statement; null when it is not a JSON object (a damaged row must still list). */
export function parseStatement(text: string): (Statement & Record<string, unknown>) | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Statement & Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Values destroyed per category. One message's phone number and body are two destroyed values,
 * so the categories are never added up into a number of messages.
 */
export function messageCountsOf(destroyed: { category?: unknown; messageCount?: unknown }[]): Record<DataCategory, number> {
  const count = (category: DataCategory) => destroyed.filter((d) => d?.category === category)
    .reduce((n, d) => n + (typeof d.messageCount === 'number' ? d.messageCount : 0), 0);
  return Object.fromEntries(DATA_CATEGORIES.map((category) => [category, count(category)])) as Record<DataCategory, number>;
}

/** Offline check, e.g. by a customer holding the statement, the signature and the published PEM. */
export function verifyStatement(statement: string, signatureBase64: string, publicKeyPem: string): boolean {
  try {
    return verify(null, Buffer.from(statement, 'utf8'), createPublicKey(publicKeyPem), Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Checks a certificate against the published key it names: the signature, the key the statement
 * itself names and — given the row it was stored in or shipped with — that the statement was
 * signed for that certificate and customer (a valid statement of another customer's certificate
 * copied into this one must not pass).
 */
export async function verifyCertificate(em: EntityManager, certificate: SignedCertificate, row?: { id: string; customerId: string }): Promise<Verification> {
  const invalid = (reason: string): Verification => ({ valid: false, signingKeyId: certificate.signingKeyId, reason });
  const key = await em.findOneBy(SigningKey, { id: certificate.signingKeyId });
  if (!key) return invalid('unknown signing key');
  if (!verifyStatement(certificate.statement, certificate.signature, key.publicKey)) return invalid('signature does not match the statement');
  const statement = parseStatement(certificate.statement);
  if (statement?.signingKeyId !== certificate.signingKeyId) return invalid('statement names another signing key');
  if (row && (statement.certificateId !== row.id || statement.customerId !== row.customerId)) return invalid('the signed statement belongs to another certificate');
  return { valid: true, signingKeyId: certificate.signingKeyId };
}
