import { subject } from '@casl/ability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Action, Actor } from '../access/ability';
import { loadVisible } from '../access/load-visible';
import { scopeQuery } from '../access/scoping';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ConflictError, NotFoundError, ValidationProblem } from '../common/errors';
import { decodeCursor, isTimeCursor, Page, toPage } from '../common/pagination';
import { CustomersService } from '../customers/customers.service';
import { normaliseMsisdn } from '../messages/envelope-crypto';
import { KeyRing } from '../messages/key-ring';
import { MessageStore } from '../messages/message-store';
import { Message } from '../messages/message.entity';
import { DataSubjectRequest } from './data-subject-request.entity';
import { CreateSubjectRequestDto, SubjectRequestQuery, SubjectRequestResponse } from './dto/subject-request.dto';
import { SubjectErasure } from './subject-erasure';
import { exportDocument, RouteHop } from './subject-export';

const TARGET = { entity: DataSubjectRequest, subject: 'DataSubjectRequest' as const, name: 'Data-subject request' };

/**
 * Data-subject requests a customer relays to us as its processor (Art. 28(3)(e)). The phone number
 * is used once, to compute its blind index, and never stored, logged or answered back; an access
 * export is decrypted when downloaded and never kept.
 */
@Injectable()
export class SubjectRequestsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly customers: CustomersService,
    private readonly erasure: SubjectErasure,
    private readonly keys: KeyRing,
    private readonly store: MessageStore,
  ) {}

  async create(actor: Actor, dto: CreateSubjectRequestDto): Promise<SubjectRequestResponse> {
    return this.dataSource.transaction(async (em) => {
      // Another customer's id answers exactly like one that does not exist.
      const mayFile = actor.ability.can('create', subject('DataSubjectRequest', { customerId: dto.customerId }));
      if (!mayFile || !(await this.customers.exists(em, dto.customerId))) throw new NotFoundError('Customer');
      const msisdn = normaliseMsisdn(dto.msisdn);
      if (!msisdn) {
        throw new ValidationProblem([{ field: 'msisdn', messages: ['msisdn must be a phone number in international form: + (or 00), country code and number, 8 to 15 digits'] }]);
      }
      if (dto.reference && mentionsNumber(dto.reference, msisdn)) {
        throw new ValidationProblem([{ field: 'reference', messages: ['reference must not contain the phone number'] }]);
      }
      const now = this.clock.now();
      const request = await em.save(em.create(DataSubjectRequest, {
        customerId: dto.customerId,
        kind: dto.kind,
        msisdnHash: this.keys.blindIndex(dto.customerId, msisdn),
        reference: dto.reference ?? null,
        requestedBy: actor.id,
        requestedAt: now,
        completedAt: null,
        messageCount: 0,
        heldCount: 0,
        certificateId: null,
      }));
      await this.audit.record(em, actor, {
        action: 'data_subject_request.created', subjectType: 'DataSubjectRequest', subjectId: request.id,
        // The reference is free text a customer types (it could name the person): the request row keeps it, the unerasable log does not.
        changes: { customerId: request.customerId, kind: request.kind, withReference: request.reference !== null },
      });
      let destroyedValues: Record<string, number> | undefined;
      if (request.kind === 'access') {
        request.messageCount = await this.countMessages(em, request);
      } else {
        const outcome = await this.erasure.erase(em, actor, request, now);
        Object.assign(request, { messageCount: outcome.messageCount, heldCount: outcome.heldCount, certificateId: outcome.certificateId });
        destroyedValues = outcome.destroyedValues;
      }
      request.completedAt = now;
      await em.save(request);
      await this.audit.record(em, actor, {
        action: 'data_subject_request.completed', subjectType: 'DataSubjectRequest', subjectId: request.id,
        changes: { kind: request.kind, messageCount: request.messageCount, heldCount: request.heldCount, certificateId: request.certificateId, ...(destroyedValues ? { destroyedValues } : {}) },
      });
      return toResponse(request);
    });
  }

  async list(actor: Actor, query: SubjectRequestQuery): Promise<Page<SubjectRequestResponse>> {
    const after = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(DataSubjectRequest).createQueryBuilder('r');
    scopeQuery(qb, actor.ability, 'read', 'DataSubjectRequest');
    if (query.customerId) qb.andWhere('r.customerId = :customerId', { customerId: query.customerId });
    if (query.kind) qb.andWhere('r.kind = :kind', { kind: query.kind });
    if (after) qb.andWhere('(r.requestedAt, r.id) < (:at, :id)', { at: after[0], id: after[1] });
    const rows = await qb.orderBy('r.requestedAt', 'DESC').addOrderBy('r.id', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (r) => [r.requestedAt.toISOString(), r.id]);
  }

  async get(actor: Actor, id: string): Promise<SubjectRequestResponse> {
    return toResponse(await this.load(this.dataSource.manager, actor, 'read', id));
  }

  /**
   * The access export: the request and every message of that person of that customer, phone number
   * and body decrypted now, in the same transaction as the audit entry of this PII read. Only those
   * who may file the customer's requests (its users, the DPO) may download it.
   */
  async export(actor: Actor, id: string): Promise<{ name: string; content: Buffer }> {
    return this.dataSource.transaction(async (em) => {
      const request = await this.load(em, actor, 'create', id);
      if (request.kind !== 'access') throw new ConflictError('Only access requests have an export; the outcome of an erasure is its deletion certificate');
      const messages = await em.getRepository(Message).createQueryBuilder('m')
        .where('m.customerId = :customerId AND m.msisdnHash = :hash', { customerId: request.customerId, hash: request.msisdnHash })
        .orderBy('m.submittedAt', 'ASC').addOrderBy('m.id', 'ASC').getMany();
      const pii = await this.store.readPii(em, messages);
      const exportedAt = this.clock.now();
      const document = exportDocument(toResponse(request), messages, pii, await this.routeHops(em, messages), exportedAt);
      await this.audit.record(em, actor, {
        action: 'data_subject_request.exported', subjectType: 'DataSubjectRequest', subjectId: request.id,
        changes: { customerId: request.customerId, messageCount: messages.length, decryptedValues: document.decryptedValues },
      });
      return { name: `data-subject-access-${request.id}.json`, content: Buffer.from(`${JSON.stringify(document.body, null, 2)}\n`, 'utf8') };
    });
  }

  private load(em: EntityManager, actor: Actor, action: Action, id: string): Promise<DataSubjectRequest> {
    return loadVisible(em, actor, action, TARGET, id);
  }

  private async countMessages(em: EntityManager, request: DataSubjectRequest): Promise<number> {
    const [row] = (await em.query('SELECT count(*)::int AS n FROM messages WHERE customer_id = $1 AND msisdn_hash = $2', [request.customerId, request.msisdnHash])) as { n: number }[];
    return row.n;
  }

  /** The sub-processors the messages went through (the recipients Art. 15(1)(c) asks for). */
  private async routeHops(em: EntityManager, messages: Message[]): Promise<Map<string, RouteHop>> {
    const ids = [...new Set(messages.flatMap((m) => m.route))];
    if (!ids.length) return new Map();
    const rows = (await em.query('SELECT id, legal_entity, country FROM subprocessors WHERE id = ANY($1::uuid[])', [ids])) as { id: string; legal_entity: string; country: string }[];
    return new Map(rows.map((r) => [r.id, { subprocessorId: r.id, legalEntity: r.legal_entity, country: r.country.trim() }]));
  }
}

/**
 * Whether free text carries the number: its last eight digits appear among the text's digits
 * (catches +49…, 0049…, national and spaced spellings; E.164 numbers have at least eight digits).
 */
function mentionsNumber(text: string, msisdn: string): boolean {
  return text.replace(/\D/g, '').includes(msisdn.replace(/\D/g, '').slice(-8));
}

export function toResponse(r: DataSubjectRequest): SubjectRequestResponse {
  return {
    id: r.id,
    customerId: r.customerId,
    kind: r.kind,
    reference: r.reference,
    requestedBy: r.requestedBy,
    requestedAt: r.requestedAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? null,
    messageCount: r.messageCount,
    heldCount: r.heldCount,
    certificateId: r.certificateId,
    exportPath: r.kind === 'access' ? `/api/v1/data-subject-requests/${r.id}/export` : null,
  };
}
