import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import type { Action, Actor } from '../access/ability';
import { scopeKey, scopeQuery } from '../access/scoping';
import { diff } from '../audit/audit-chain';
import { AuditService } from '../audit/audit.service';
import { isUuid } from '../common/ids';
import { ReadCache } from '../common/read-cache';
import { sharedReply } from '../common/shared-replies';
import { decodeCursor, Page, toPage, isKeyCursor } from '../common/pagination';
import { Customer } from './customer.entity';
import { CreateCustomerDto, CustomerQuery, CustomerResponse, UpdateCustomerDto } from './dto/customer.dto';
import { loadVisible } from '../access/load-visible';

/** Contact fields hold people's names and addresses: the audit log says that they changed, never what to. */
const CONTACT_FIELDS = ['dpoContact', 'breachNotificationEmails'] as const;

@Injectable()
export class CustomersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly cache: ReadCache,
  ) {}

  async create(actor: Actor, dto: CreateCustomerDto): Promise<CustomerResponse> {
    return this.dataSource.transaction(async (em) => {
      const customer = await em.save(em.create(Customer, fields(dto)));
      await this.audit.record(em, actor, { action: 'customer.created', subjectType: 'Customer', subjectId: customer.id, changes: auditSnapshot(customer) });
      return toResponse(customer);
    });
  }

  async list(actor: Actor, query: CustomerQuery): Promise<Page<CustomerResponse>> {
    const key = `customers ${scopeKey(actor.ability, 'read', 'Customer')} ${JSON.stringify(query)}`;
    return this.cache.read(key, async () => ({ value: sharedReply(await this.readList(actor, query)) }));
  }

  private async readList(actor: Actor, query: CustomerQuery): Promise<Page<CustomerResponse>> {
    const after = decodeCursor(query.cursor, isKeyCursor);
    const qb = this.dataSource.getRepository(Customer).createQueryBuilder('c');
    scopeQuery(qb, actor.ability, 'read', 'Customer');
    if (after) qb.andWhere('(c.legalName, c.id) > (:name, :id)', { name: after[0], id: after[1] });
    const rows = await qb.orderBy('c.legalName', 'ASC').addOrderBy('c.id', 'ASC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (c) => [c.legalName, c.id]);
  }

  async get(actor: Actor, id: string): Promise<CustomerResponse> {
    return toResponse(await this.load(this.dataSource.manager, actor, 'read', id));
  }

  async update(actor: Actor, id: string, dto: UpdateCustomerDto): Promise<CustomerResponse> {
    return this.dataSource.transaction(async (em) => {
      const customer = await this.load(em, actor, 'update', id, true);
      const before = snapshot(customer);
      Object.assign(customer, fields(dto));
      const changes = diff(before, snapshot(customer));
      if (Object.keys(changes).length === 0) return toResponse(customer);
      await em.save(customer);
      for (const field of CONTACT_FIELDS) if (changes[field]) changes[field] = { from: '[redacted]', to: '[redacted]' };
      await this.audit.record(em, actor, { action: 'customer.updated', subjectType: 'Customer', subjectId: customer.id, changes });
      return toResponse(customer);
    });
  }

  /**
   * A customer the actor may act on, for this and other modules (DPAs hang off it). One the actor
   * may not see answers exactly like a missing one. `lock` holds the row until the transaction
   * ends, which serialises work on one customer's DPAs.
   */
  async load(em: EntityManager, actor: Actor, action: Action, id: string, lock = false): Promise<Customer> {
    return loadVisible(em, actor, action, { entity: Customer, subject: 'Customer', name: 'Customer' }, id, lock);
  }

  /** Whether a customer with this id exists, whoever asks (used to validate references to one). */
  async exists(em: EntityManager, id: string): Promise<boolean> {
    return isUuid(id) && em.existsBy(Customer, { id });
  }

  /**
   * Customers by id, for work that has already decided who may see what (a breach's severity, its
   * notifications' recipients); keyed by id, missing ids left out.
   */
  async byIds(em: EntityManager, ids: readonly string[]): Promise<Map<string, Customer>> {
    if (!ids.length) return new Map();
    const rows = await em.findBy(Customer, { id: In([...ids]) });
    return new Map(rows.map((c) => [c.id, c]));
  }
}

function fields(dto: UpdateCustomerDto): Partial<Customer> {
  const out: Partial<Customer> = {};
  if (dto.legalName !== undefined) out.legalName = dto.legalName;
  if (dto.country !== undefined) out.country = dto.country;
  if (dto.dpoContact !== undefined) out.dpoContact = { name: dto.dpoContact.name, email: dto.dpoContact.email };
  if (dto.breachNotificationEmails !== undefined) out.breachNotificationEmails = [...dto.breachNotificationEmails];
  if (dto.destinationCountries !== undefined) out.destinationCountries = [...dto.destinationCountries];
  if (dto.dataProfile !== undefined) out.dataProfile = { messageKinds: [...dto.dataProfile.messageKinds], specialCategoryData: dto.dataProfile.specialCategoryData };
  return out;
}

function snapshot(c: Customer): Record<string, unknown> {
  return {
    legalName: c.legalName, country: c.country, dpoContact: c.dpoContact, breachNotificationEmails: c.breachNotificationEmails,
    destinationCountries: c.destinationCountries, dataProfile: c.dataProfile,
  };
}

/** What the audit log keeps of a new customer: business facts, no contact person or address. */
function auditSnapshot(c: Customer): Record<string, unknown> {
  return { ...snapshot(c), dpoContact: '[redacted]', breachNotificationEmails: '[redacted]' };
}

export function toResponse(c: Customer): CustomerResponse {
  return {
    id: c.id,
    legalName: c.legalName,
    country: c.country.trim(),
    dpoContact: { name: c.dpoContact.name, email: c.dpoContact.email },
    breachNotificationEmails: c.breachNotificationEmails,
    destinationCountries: c.destinationCountries,
    dataProfile: { messageKinds: c.dataProfile.messageKinds, specialCategoryData: c.dataProfile.specialCategoryData },
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}
