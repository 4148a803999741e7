import { subject } from '@casl/ability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Action, Actor } from '../access/ability';
import { scopeKey, scopeQuery } from '../access/scoping';
import { diff } from '../audit/audit-chain';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ConflictError, InvalidTransitionError, NotFoundError, ValidationProblem } from '../common/errors';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { ReadCache } from '../common/read-cache';
import { sharedReply } from '../common/shared-replies';
import { Customer } from '../customers/customer.entity';
import { CustomersService } from '../customers/customers.service';
import { canTransition, DPA_TRANSITIONS, EDITABLE_STATUSES } from './dpa-lifecycle';
import { DATA_CATEGORIES, Dpa, DpaStatus } from './dpa.entity';
import { CreateDpaDto, DpaListQuery, DpaResponse, DpaTransitionDto, UpdateDpaDto } from './dto/dpa.dto';
import { loadVisible } from '../access/load-visible';

export interface ActiveAgreement {
  customer: Customer;
  dpa: Dpa;
}

const TRANSITION_ACTIONS: Record<DpaStatus, string> = {
  draft: 'dpa.returned_to_draft',
  in_review: 'dpa.submitted_for_review',
  signed: 'dpa.signed',
  active: 'dpa.activated',
  expired: 'dpa.expired',
  terminated: 'dpa.terminated',
};

@Injectable()
export class DpasService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly customers: CustomersService,
    private readonly clock: Clock,
    private readonly cache: ReadCache,
  ) {}

  /**
   * The DPA in force for each customer at a moment: activated at or before it and not ended by
   * then. Other modules obey these terms (objection windows, authorisation type, breach hours).
   */
  async activeAgreements(em: EntityManager, at: Date, customerId?: string): Promise<ActiveAgreement[]> {
    const qb = em.getRepository(Dpa).createQueryBuilder('d')
      .innerJoinAndSelect('d.customer', 'c')
      .where('d.activatedAt <= :at', { at })
      .andWhere('(d.endedAt IS NULL OR d.endedAt > :at)', { at })
      // An agreement past its end date is not in force, even before anyone marks it expired.
      .andWhere('(d.expiresAt IS NULL OR d.expiresAt > :at)', { at });
    if (customerId) qb.andWhere('d.customerId = :customerId', { customerId });
    const rows = await qb.orderBy('c.legalName', 'ASC').getMany();
    return rows.map(({ customer, ...dpa }) => ({ customer: customer!, dpa: Object.assign(new Dpa(), dpa) }));
  }

  /**
   * Active agreements whose end date has passed become expired (ended at their expiresAt), audited
   * as the system. They were already out of force (see activeAgreements); this makes the status say so.
   */
  async expireLapsed(actor: Actor, now: Date): Promise<Record<string, number>> {
    const lapsed = await this.dataSource.getRepository(Dpa).createQueryBuilder('d')
      .where(`d.status = 'active' AND d.expiresAt <= :now`, { now }).getMany();
    for (const { id } of lapsed) {
      await this.dataSource.transaction(async (em) => {
        const dpa = await em.findOneOrFail(Dpa, { where: { id }, lock: { mode: 'pessimistic_write' } });
        if (dpa.status !== 'active') return; // someone acted on it meanwhile
        Object.assign(dpa, { status: 'expired', endedAt: dpa.expiresAt });
        await em.save(dpa);
        await this.audit.record(em, actor, { action: 'dpa.expired', subjectType: 'Dpa', subjectId: dpa.id, changes: { status: { from: 'active', to: 'expired' }, endedAt: dpa.endedAt, reason: 'expiresAt passed' } });
      });
    }
    return { dpasExpired: lapsed.length };
  }

  /** A new version for the customer: the next number, as a draft. */
  async create(actor: Actor, customerId: string, dto: CreateDpaDto): Promise<DpaResponse> {
    return this.dataSource.transaction(async (em) => {
      // Locking the customer serialises version numbers (and activations) per customer.
      const customer = await this.customers.load(em, actor, 'read', customerId, true);
      if (!actor.ability.can('create', subject('Dpa', { customerId: customer.id }))) throw new NotFoundError('Customer');
      const { max } = (await em.getRepository(Dpa).createQueryBuilder('d').select('MAX(d.version)', 'max')
        .where('d.customerId = :id', { id: customer.id }).getRawOne<{ max: number | null }>())!;
      const dpa = await em.save(em.create(Dpa, {
        customerId: customer.id,
        version: (max ?? 0) + 1,
        status: 'draft',
        breachNoticeHours: dto.breachNoticeHours ?? 24,
        objectionWindowDays: dto.objectionWindowDays ?? 30,
        authorisation: dto.authorisation ?? 'general',
        ...terms(dto),
      } as Partial<Dpa>));
      await this.audit.record(em, actor, { action: 'dpa.created', subjectType: 'Dpa', subjectId: dpa.id, changes: { customerId: dpa.customerId, version: dpa.version, ...auditTerms(dpa) } });
      return toResponse(dpa);
    });
  }

  async list(actor: Actor, customerId: string, query: DpaListQuery): Promise<Page<DpaResponse>> {
    const key = `dpas ${scopeKey(actor.ability, 'read', 'Customer')} ${scopeKey(actor.ability, 'read', 'Dpa')} ${customerId} ${JSON.stringify(query)}`;
    return this.cache.read(key, async () => ({ value: sharedReply(await this.readList(actor, customerId, query)) }));
  }

  private async readList(actor: Actor, customerId: string, query: DpaListQuery): Promise<Page<DpaResponse>> {
    const customer = await this.customers.load(this.dataSource.manager, actor, 'read', customerId);
    // A version is a PostgreSQL integer: a cursor beyond its range is not one this service issued (it was a 500).
    const before = decodeCursor(query.cursor, (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 2_147_483_647);
    const qb = this.dataSource.getRepository(Dpa).createQueryBuilder('d').where('d.customerId = :id', { id: customer.id });
    scopeQuery(qb, actor.ability, 'read', 'Dpa');
    if (before !== undefined) qb.andWhere('d.version < :before', { before });
    const rows = await qb.orderBy('d.version', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (d) => d.version);
  }

  async get(actor: Actor, id: string): Promise<DpaResponse> {
    const key = `dpa ${scopeKey(actor.ability, 'read', 'Dpa')} ${id}`;
    return this.cache.read(key, async () => ({ value: sharedReply(toResponse(await this.load(this.dataSource.manager, actor, 'read', id))) }));
  }

  async update(actor: Actor, id: string, dto: UpdateDpaDto): Promise<DpaResponse> {
    return this.dataSource.transaction(async (em) => {
      const dpa = await this.load(em, actor, 'update', id, true);
      if (!EDITABLE_STATUSES.includes(dpa.status)) {
        throw new ConflictError(`The terms of a ${dpa.status} DPA cannot change; create a new version instead`, { currentStatus: dpa.status });
      }
      const before = auditTerms(dpa);
      Object.assign(dpa, terms(dto), pick(dto, ['breachNoticeHours', 'objectionWindowDays', 'authorisation']));
      const changes = diff(before, auditTerms(dpa));
      if (Object.keys(changes).length === 0) return toResponse(dpa);
      await em.save(dpa);
      await this.audit.record(em, actor, { action: 'dpa.updated', subjectType: 'Dpa', subjectId: dpa.id, changes });
      return toResponse(dpa);
    });
  }

  async transition(actor: Actor, id: string, dto: DpaTransitionDto): Promise<DpaResponse> {
    return this.dataSource.transaction(async (em) => {
      const dpa = await this.load(em, actor, 'update', id, true);
      const from = dpa.status;
      if (!canTransition(from, dto.to)) throw new InvalidTransitionError('DPA', from, dto.to, DPA_TRANSITIONS[from]);
      const now = this.clock.now();
      const changes: Record<string, unknown> = { status: { from, to: dto.to } };
      if (dto.to !== 'signed' && (dto.signedByName !== undefined || dto.signedAt !== undefined)) {
        throw new ValidationProblem([{ field: dto.signedByName !== undefined ? 'signedByName' : 'signedAt', messages: ['only when moving to signed'] }]);
      }
      if (dto.to === 'signed') Object.assign(changes, this.sign(actor, dpa, dto, now));
      if (dto.to === 'active') Object.assign(changes, await this.activate(em, actor, dpa, now));
      if (dto.to === 'expired' || dto.to === 'terminated') dpa.endedAt = now;
      if (dpa.endedAt) changes.endedAt = dpa.endedAt;
      dpa.status = dto.to;
      await em.save(dpa);
      await this.audit.record(em, actor, { action: TRANSITION_ACTIONS[dto.to], subjectType: 'Dpa', subjectId: dpa.id, changes });
      return toResponse(dpa);
    });
  }

  /** Loads a DPA the actor may act on; one it may not see answers exactly like a missing one. */
  async load(em: EntityManager, actor: Actor, action: Action, id: string, lock = false): Promise<Dpa> {
    return loadVisible(em, actor, action, { entity: Dpa, subject: 'Dpa', name: 'DPA' }, id, lock);
  }

  private sign(actor: Actor, dpa: Dpa, dto: DpaTransitionDto, now: Date): Record<string, unknown> {
    if (!dpa.documentSha256) throw new ConflictError('Upload the signed document (PUT /dpas/:id/document) before recording the signature');
    if (!dto.signedByName) throw new ValidationProblem([{ field: 'signedByName', messages: ['signedByName is required to move to signed'] }]);
    const signedAt = dto.signedAt ? new Date(dto.signedAt) : now;
    if (signedAt.getTime() > now.getTime()) throw new ValidationProblem([{ field: 'signedAt', messages: ['signedAt cannot be in the future'] }]);
    Object.assign(dpa, { signedByName: dto.signedByName, signedAt, signatureRecordedBy: actor.kind === 'user' ? actor.id : null });
    // The signatory's name stays on the DPA; the log, which can never be erased, keeps who recorded it and the document's hash.
    return { signedAt, signatureRecordedBy: dpa.signatureRecordedBy, documentSha256: dpa.documentSha256 };
  }

  /** At most one active DPA per customer: the one in force before is expired in the same transaction. */
  private async activate(em: EntityManager, actor: Actor, dpa: Dpa, now: Date): Promise<Record<string, unknown>> {
    if (dpa.expiresAt && dpa.expiresAt.getTime() <= now.getTime()) {
      throw new ConflictError('This DPA has already passed its expiresAt; it cannot come into force', { expiresAt: dpa.expiresAt.toISOString() });
    }
    // The customer's lock makes two activations for one customer take turns.
    await this.customers.load(em, actor, 'read', dpa.customerId, true);
    const previous = await em.findOne(Dpa, { where: { customerId: dpa.customerId, status: 'active' }, lock: { mode: 'pessimistic_write' } });
    if (previous && previous.version > dpa.version) {
      throw new ConflictError(`Version ${previous.version} is active and newer; an older version cannot replace it`, { activeVersion: previous.version });
    }
    if (previous) {
      Object.assign(previous, { status: 'expired', endedAt: now });
      await em.save(previous);
      await this.audit.record(em, actor, {
        action: 'dpa.expired', subjectType: 'Dpa', subjectId: previous.id,
        changes: { status: { from: 'active', to: 'expired' }, endedAt: now, supersededBy: dpa.id },
      });
    }
    dpa.activatedAt = now;
    return { activatedAt: now, supersedes: previous?.id ?? null };
  }
}

type Terms = Pick<Dpa, 'maxRetentionDays' | 'transferMechanisms' | 'dataCategories' | 'purposes' | 'expiresAt'>;

function terms(dto: UpdateDpaDto): Partial<Terms> {
  const out: Partial<Terms> = {};
  if (dto.maxRetentionDays !== undefined) out.maxRetentionDays = Object.fromEntries(DATA_CATEGORIES.map((c) => [c, dto.maxRetentionDays![c]])) as Dpa['maxRetentionDays'];
  if (dto.transferMechanisms !== undefined) out.transferMechanisms = [...dto.transferMechanisms];
  if (dto.dataCategories !== undefined) out.dataCategories = [...dto.dataCategories];
  if (dto.purposes !== undefined) out.purposes = [...dto.purposes];
  if (dto.expiresAt !== undefined) out.expiresAt = dto.expiresAt === null ? null : new Date(dto.expiresAt);
  return out;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Partial<Pick<T, K>>;
}

/**
 * The terms as the audit log records them. Retention is a list of { category, days }: the log
 * redacts any field named `body`, which would hide the message-body retention.
 */
function auditTerms(d: Dpa): Record<string, unknown> {
  return {
    breachNoticeHours: d.breachNoticeHours, objectionWindowDays: d.objectionWindowDays, authorisation: d.authorisation,
    maxRetentionDays: DATA_CATEGORIES.map((category) => ({ category, days: d.maxRetentionDays[category] })),
    transferMechanisms: d.transferMechanisms, dataCategories: d.dataCategories, purposes: d.purposes,
    expiresAt: d.expiresAt?.toISOString() ?? null,
  };
}

export function toResponse(d: Dpa): DpaResponse {
  return {
    id: d.id,
    customerId: d.customerId,
    version: d.version,
    status: d.status,
    breachNoticeHours: d.breachNoticeHours,
    objectionWindowDays: d.objectionWindowDays,
    authorisation: d.authorisation,
    maxRetentionDays: { body: d.maxRetentionDays.body, msisdn: d.maxRetentionDays.msisdn, delivery_metadata: d.maxRetentionDays.delivery_metadata },
    transferMechanisms: d.transferMechanisms,
    dataCategories: d.dataCategories,
    purposes: d.purposes,
    expiresAt: d.expiresAt?.toISOString() ?? null,
    signedByName: d.signedByName,
    signedAt: d.signedAt?.toISOString() ?? null,
    signatureRecordedBy: d.signatureRecordedBy,
    activatedAt: d.activatedAt?.toISOString() ?? null,
    endedAt: d.endedAt?.toISOString() ?? null,
    document: d.documentSha256 ? { sha256: d.documentSha256, size: d.documentSize ?? 0, name: d.documentName ?? `dpa-v${d.version}.pdf` } : null,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
  };
}
