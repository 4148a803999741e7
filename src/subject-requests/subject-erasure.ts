import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { utcDay } from '../messages/message-id';
import type { PiiCategory } from '../messages/message.entity';
import { CertificatesService, DestroyedItem } from '../retention/certificates.service';
import { heldSql, lockCustomerHolds } from '../retention/retention-sql';
import type { DataSubjectRequest } from './data-subject-request.entity';

export interface ErasureOutcome {
  /** Messages of that person whose phone number, body and blind index were cleared. */
  messageCount: number;
  /** Messages of that person left intact because an active legal hold covers them. */
  heldCount: number;
  /** Values that were still readable and are now gone, per category (already-destroyed ones are not counted again). */
  destroyedValues: Record<PiiCategory, number>;
  certificateId: string;
}

interface Match {
  id: string;
  submitted_at: Date;
  held: boolean;
  msisdn_readable: boolean;
  body_readable: boolean;
}

/**
 * Erasure of one person's messages of one customer, in the caller's transaction: the ciphertext of
 * the phone number and body and the blind index are cleared in place (the person's other
 * messages under the same day keys must stay readable, so destroying keys is not an option), and a
 * signed certificate says what was destroyed. Messages under an active legal hold are left intact.
 *
 * The customer's hold lock is held throughout, so a hold placed at the same moment is either seen
 * here or waits until the erasure has committed, and the purge never works on the same rows at once.
 */
@Injectable()
export class SubjectErasure {
  constructor(private readonly certificates: CertificatesService) {}

  async erase(em: EntityManager, actor: Actor, request: DataSubjectRequest, now: Date): Promise<ErasureOutcome> {
    await lockCustomerHolds(em, request.customerId);
    const matches = (await em.query(
      `SELECT m.id, m.submitted_at, ${heldSql('m')} AS held,
              (m.msisdn_ciphertext IS NOT NULL AND EXISTS (SELECT 1 FROM data_keys k WHERE k.id = m.msisdn_key_id AND k.wrapped IS NOT NULL)) AS msisdn_readable,
              (m.body_ciphertext IS NOT NULL AND EXISTS (SELECT 1 FROM data_keys k WHERE k.id = m.body_key_id AND k.wrapped IS NOT NULL)) AS body_readable
         FROM messages m
        WHERE m.customer_id = $1 AND m.msisdn_hash = $2
        ORDER BY m.submitted_at, m.id
          FOR UPDATE OF m`,
      [request.customerId, request.msisdnHash],
    )) as Match[];
    const erased = matches.filter((m) => !m.held);
    const ids = erased.map((m) => m.id);
    if (ids.length) {
      // Only ciphertext under a live key is cleared here: a value whose key the purge has already
      // destroyed is the purge's to count (its certificate) and to reclaim, so none is counted twice or never.
      await em.query(
        `UPDATE messages m SET
            msisdn_ciphertext = CASE WHEN EXISTS (SELECT 1 FROM data_keys k WHERE k.id = m.msisdn_key_id AND k.wrapped IS NOT NULL) THEN NULL ELSE m.msisdn_ciphertext END,
            body_ciphertext = CASE WHEN EXISTS (SELECT 1 FROM data_keys k WHERE k.id = m.body_key_id AND k.wrapped IS NOT NULL) THEN NULL ELSE m.body_ciphertext END,
            msisdn_hash = NULL
          WHERE m.customer_id = $1 AND m.id = ANY($2::uuid[])`,
        [request.customerId, ids],
      );
      await em.query('UPDATE message_hops SET subject = NULL WHERE message_id = ANY($1::uuid[])', [ids]);
    }
    const destroyed: DestroyedItem[] = [];
    const destroyedValues = { msisdn: 0, body: 0 } as Record<PiiCategory, number>;
    for (const category of ['msisdn', 'body'] as const) {
      const readable = erased.filter((m) => (category === 'msisdn' ? m.msisdn_readable : m.body_readable));
      destroyedValues[category] = readable.length;
      if (!readable.length) continue;
      // Rows come ordered by submitted_at: the first and last give the day range.
      destroyed.push({
        category,
        from: utcDay(readable[0].submitted_at),
        to: utcDay(readable[readable.length - 1].submitted_at),
        messageCount: readable.length,
        keyIds: [],
      });
    }
    const certificate = await this.certificates.issue(em, actor, {
      customerId: request.customerId,
      source: { kind: 'erasure_request', requestId: request.id },
      method: 'ciphertext_erasure',
      destroyedAt: now,
      destroyed,
      retainedUnderHold: matches.length - erased.length,
    });
    return { messageCount: erased.length, heldCount: matches.length - erased.length, destroyedValues, certificateId: certificate.id };
  }
}
