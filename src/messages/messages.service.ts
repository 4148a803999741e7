import { subject } from '@casl/ability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, SelectQueryBuilder } from 'typeorm';
import type { Actor } from '../access/ability';
import { scopeQuery } from '../access/scoping';
import { AuditService } from '../audit/audit.service';
import { ForbiddenError, NotFoundError } from '../common/errors';
import { decodeCursor, isTimeCursor, Page, toPage } from '../common/pagination';
import { DataKey } from './data-key.entity';
import { MessageQuery, MessageResponse, PiiReadDto, PiiResponse } from './dto/message.dto';
import { submittedAtOf } from './message-id';
import { MessageStore } from './message-store';
import { Message } from './message.entity';

interface MetadataRow {
  id: string;
  customer_id: string;
  external_id: string;
  direction: string;
  sender: string;
  destination_country: string;
  status: string;
  route: string[];
  submitted_at: Date;
  received_at: Date;
  msisdn_readable: boolean;
  body_readable: boolean;
}

/**
 * Message metadata for the DPO, security and auditors — never the phone number, the body or the
 * blind index — and the break-glass read of the decrypted PII, audited with its reason.
 */
@Injectable()
export class MessagesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly store: MessageStore,
  ) {}

  async list(actor: Actor, query: MessageQuery): Promise<Page<MessageResponse>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.metadata(this.dataSource.manager);
    scopeQuery(qb, actor.ability, 'read', 'Message');
    if (query.customerId) qb.andWhere('m.customer_id = :customerId', { customerId: query.customerId });
    if (query.from) qb.andWhere('m.submitted_at >= :from', { from: new Date(query.from) });
    if (query.to) qb.andWhere('m.submitted_at < :to', { to: new Date(query.to) });
    if (query.status) qb.andWhere('m.status = :status', { status: query.status });
    if (query.direction) qb.andWhere('m.direction = :direction', { direction: query.direction });
    if (query.subprocessorId) {
      qb.andWhere('EXISTS (SELECT 1 FROM message_hops h WHERE h.message_id = m.id AND h.submitted_at = m.submitted_at AND h.subprocessor_id = :subprocessorId)', { subprocessorId: query.subprocessorId });
    }
    if (before) qb.andWhere('(m.submitted_at, m.id) < (:at, :id)', { at: new Date(before[0]), id: before[1] });
    const rows = await qb.orderBy('m.submitted_at', 'DESC').addOrderBy('m.id', 'DESC').limit(query.limit + 1).getRawMany<MetadataRow>();
    return toPage(rows, query.limit, toResponse, (r) => [r.submitted_at.toISOString(), r.id]);
  }

  async get(actor: Actor, id: string): Promise<MessageResponse> {
    const row = await this.load(this.dataSource.manager, actor, id);
    return toResponse(row);
  }

  /** The decrypted phone number and body, for a DPO holding the break-glass flag; audited in the same transaction. */
  async readPii(actor: Actor, id: string, dto: PiiReadDto): Promise<PiiResponse> {
    return this.dataSource.transaction(async (em) => {
      const meta = await this.load(em, actor, id);
      // The guard let the role through; the row is checked against the same ability.
      if (!actor.ability.can('read', subject('MessagePii', { id: meta.id, customerId: meta.customer_id }))) throw new ForbiddenError('Reading message PII needs the break-glass permission (pii access)');
      const sealed = await em.findOneOrFail(Message, {
        select: { id: true, msisdnKeyId: true, msisdnCiphertext: true, bodyKeyId: true, bodyCiphertext: true },
        where: { id: meta.id, submittedAt: meta.submitted_at },
      });
      const pii = (await this.store.readPii(em, [sealed])).get(sealed.id)!;
      await this.audit.record(em, actor, {
        action: 'message.pii_read', subjectType: 'Message', subjectId: meta.id,
        changes: { customerId: meta.customer_id, reason: dto.reason, phoneNumberRead: pii.msisdn !== null, bodyRead: pii.body !== null },
      });
      return { id: meta.id, customerId: meta.customer_id, msisdn: pii.msisdn, body: pii.body };
    });
  }

  /** By id and the submitted-at the id carries (the partition key); a non-UUIDv7 id matches nothing. */
  private async load(em: EntityManager, actor: Actor, id: string): Promise<MetadataRow> {
    const at = submittedAtOf(id);
    const row = at
      ? await this.metadata(em).where('m.id = :id AND m.submitted_at = :at', { id, at }).getRawOne<MetadataRow>()
      : undefined;
    if (!row || !actor.ability.can('read', subject('Message', { id: row.id, customerId: row.customer_id }))) throw new NotFoundError('Message');
    return row;
  }

  private metadata(em: EntityManager): SelectQueryBuilder<Message> {
    return em.getRepository(Message).createQueryBuilder('m')
      .leftJoin(DataKey, 'km', 'km.id = m.msisdn_key_id')
      .leftJoin(DataKey, 'kb', 'kb.id = m.body_key_id')
      .select(['m.id AS id', 'm.customer_id AS customer_id', 'm.external_id AS external_id', 'm.direction AS direction', 'm.sender AS sender',
        'm.destination_country AS destination_country', 'm.status AS status', 'm.route AS route', 'm.submitted_at AS submitted_at', 'm.received_at AS received_at'])
      .addSelect('(m.msisdn_ciphertext IS NOT NULL AND km.wrapped IS NOT NULL)', 'msisdn_readable')
      .addSelect('(m.body_ciphertext IS NOT NULL AND kb.wrapped IS NOT NULL)', 'body_readable');
  }
}

function toResponse(r: MetadataRow): MessageResponse {
  return {
    id: r.id, customerId: r.customer_id, externalId: r.external_id, direction: r.direction, sender: r.sender,
    destinationCountry: r.destination_country, status: r.status, route: r.route,
    submittedAt: r.submitted_at.toISOString(), receivedAt: r.received_at.toISOString(),
    pii: { msisdn: r.msisdn_readable ? 'readable' : 'destroyed', body: r.body_readable ? 'readable' : 'destroyed' },
  };
}
