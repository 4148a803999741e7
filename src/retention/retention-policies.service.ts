import { subject } from '@casl/ability';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import type { Actor } from '../access/ability';
import { scopeQuery } from '../access/scoping';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ConflictError, DomainError, NotFoundError } from '../common/errors';
import { isUuid } from '../common/ids';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { DAY_MS } from '../common/time';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { CustomersService } from '../customers/customers.service';
import { DATA_CATEGORIES, type DataCategory } from '../dpas/dpa.entity';
import { DpasService } from '../dpas/dpas.service';
import { utcDay } from '../messages/message-id';
import { PII_CATEGORIES } from '../messages/message.entity';
import { CustomerRetentionResponse, EffectiveRetention, RetentionPolicyQuery, RetentionPolicyResponse, RetentionSource } from './dto/retention-policy.dto';
import { RetentionPolicy } from './retention-policy.entity';
import { effectiveRetentionSql } from './retention-sql';

/** Serialises policy changes, so two changes cannot each pass the metadata rule and break it together. */
const POLICY_LOCK = 0x5245_544e; // "RETN"

type Days = Record<DataCategory, number | null>;
/** Effective retention per owner: a customer id, or DEFAULT for the default policy. */
type RetentionMap = Map<string, Days>;
const DEFAULT = 'default';

interface Shortfall {
  customerId: string | null;
  category: 'msisdn' | 'body';
  days: number | null;
  deliveryMetadataDays: number;
}

const isPolicyCursor = (v: unknown): v is [string | null, DataCategory] =>
  Array.isArray(v) && v.length === 2 && (v[0] === null || isUuid(v[0])) && DATA_CATEGORIES.includes(v[1] as DataCategory);

/**
 * Retention policies: the default and each customer's own, per category. Only the DPO changes
 * them (RetentionPolicy manage); every change is bounded (platform minimum, the DPA's maximum,
 * delivery metadata at least as long as the PII) and audited in its own transaction.
 */
@Injectable()
export class RetentionPoliciesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly customers: CustomersService,
    private readonly dpas: DpasService,
  ) {}

  /** The default policy first, then customers' own, by customer and category; customer users see their own only. */
  async list(actor: Actor, query: RetentionPolicyQuery): Promise<Page<RetentionPolicyResponse>> {
    const after = decodeCursor(query.cursor, isPolicyCursor);
    const qb = this.dataSource.getRepository(RetentionPolicy).createQueryBuilder('p');
    scopeQuery(qb, actor.ability, 'read', 'RetentionPolicy');
    if (query.customerId) qb.andWhere('p.customerId = :customerId', { customerId: query.customerId });
    if (after && after[0] === null) qb.andWhere('(p.customerId IS NOT NULL OR p.category > :afterCategory)', { afterCategory: after[1] });
    if (after && after[0] !== null) {
      qb.andWhere('(p.customerId > :afterCustomer OR (p.customerId = :afterCustomer AND p.category > :afterCategory))', { afterCustomer: after[0], afterCategory: after[1] });
    }
    const rows = await qb.orderBy('p.customerId', 'ASC', 'NULLS FIRST').addOrderBy('p.category', 'ASC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (p) => [p.customerId, p.category]);
  }

  /** What the purge applies to one customer now, per category, and where each number comes from. */
  async effective(actor: Actor, customerId: string): Promise<CustomerRetentionResponse> {
    const em = this.dataSource.manager;
    const customer = await this.customers.load(em, actor, 'read', customerId);
    if (!actor.ability.can('read', subject('RetentionPolicy', { customerId: customer.id }))) throw new NotFoundError('Customer');
    return this.view(em, customer.id, this.clock.now());
  }

  /** Sets the customer's own policy for one category. */
  async setForCustomer(actor: Actor, customerId: string, category: DataCategory, days: number): Promise<CustomerRetentionResponse> {
    return this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [POLICY_LOCK]);
      const customer = await this.loadForChange(em, actor, customerId);
      this.checkMinimum(days);
      const now = this.clock.now();
      const [agreement] = await this.dpas.activeAgreements(em, now, customer.id);
      const maximum = agreement?.dpa.maxRetentionDays[category];
      if (typeof maximum === 'number' && days > maximum) {
        throw new ConflictError(
          `The customer's active DPA (version ${agreement.dpa.version}) allows at most ${maximum} days of ${category} retention`,
          { maximumDays: maximum, dpaId: agreement.dpa.id },
        );
      }
      const existing = await em.findOneBy(RetentionPolicy, { customerId: customer.id, category });
      if (existing?.days === days) return this.view(em, customer.id, now);
      const before = await this.effectiveDays(em, now, customer.id);
      const [{ id }] = (await em.query(
        `INSERT INTO retention_policies (customer_id, category, days, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (customer_id, category) WHERE customer_id IS NOT NULL DO UPDATE SET days = EXCLUDED.days, updated_at = EXCLUDED.updated_at
         RETURNING id`,
        [customer.id, category, days, now],
      )) as { id: string }[];
      const after = await this.effectiveDays(em, now, customer.id);
      checkMetadataCoversPii(before, after);
      await this.audit.record(em, actor, {
        action: existing ? 'retention_policy.updated' : 'retention_policy.created', subjectType: 'RetentionPolicy', subjectId: id,
        changes: {
          customerId: customer.id, category, days: { from: existing?.days ?? null, to: days },
          effectiveDays: { from: before.get(customer.id)![category], to: after.get(customer.id)![category] },
        },
      });
      return this.view(em, customer.id, now);
    });
  }

  /** Removes the customer's own policy for one category: the default applies again. */
  async removeForCustomer(actor: Actor, customerId: string, category: DataCategory): Promise<CustomerRetentionResponse> {
    return this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [POLICY_LOCK]);
      const customer = await this.loadForChange(em, actor, customerId);
      const now = this.clock.now();
      const existing = await em.findOneBy(RetentionPolicy, { customerId: customer.id, category });
      if (!existing) return this.view(em, customer.id, now);
      const before = await this.effectiveDays(em, now, customer.id);
      await em.delete(RetentionPolicy, { id: existing.id });
      const after = await this.effectiveDays(em, now, customer.id);
      checkMetadataCoversPii(before, after);
      await this.audit.record(em, actor, {
        action: 'retention_policy.deleted', subjectType: 'RetentionPolicy', subjectId: existing.id,
        changes: {
          customerId: customer.id, category, days: { from: existing.days, to: null },
          effectiveDays: { from: before.get(customer.id)![category], to: after.get(customer.id)![category] },
        },
      });
      return this.view(em, customer.id, now);
    });
  }

  /** Sets the default for one category; it applies to every customer without its own policy. */
  async setDefault(actor: Actor, category: DataCategory, days: number): Promise<RetentionPolicyResponse> {
    return this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [POLICY_LOCK]);
      if (!actor.ability.can('update', subject('RetentionPolicy', { customerId: null }))) throw new NotFoundError('Retention policy');
      this.checkMinimum(days);
      const now = this.clock.now();
      const existing = await em.findOneBy(RetentionPolicy, { customerId: IsNull(), category });
      if (existing?.days === days) return toResponse(existing);
      const before = await this.effectiveDays(em, now);
      const [{ id }] = (await em.query(
        `INSERT INTO retention_policies (customer_id, category, days, updated_at) VALUES (NULL, $1, $2, $3)
         ON CONFLICT (category) WHERE customer_id IS NULL DO UPDATE SET days = EXCLUDED.days, updated_at = EXCLUDED.updated_at
         RETURNING id`,
        [category, days, now],
      )) as { id: string }[];
      const after = await this.effectiveDays(em, now);
      checkMetadataCoversPii(before, after);
      const affected = [...after].filter(([owner, d]) => owner !== DEFAULT && d[category] !== before.get(owner)?.[category]).length;
      await this.audit.record(em, actor, {
        action: existing ? 'retention_policy.updated' : 'retention_policy.created', subjectType: 'RetentionPolicy', subjectId: id,
        changes: { customerId: null, category, days: { from: existing?.days ?? null, to: days }, customersAffected: affected },
      });
      return toResponse(await em.findOneByOrFail(RetentionPolicy, { id }));
    });
  }

  private async loadForChange(em: EntityManager, actor: Actor, customerId: string) {
    const customer = await this.customers.load(em, actor, 'read', customerId);
    if (!actor.ability.can('update', subject('RetentionPolicy', { customerId: customer.id }))) throw new NotFoundError('Customer');
    return customer;
  }

  private checkMinimum(days: number): void {
    const minimum = this.config.retention.minDays;
    if (days >= minimum) return;
    const message = `days must be at least ${minimum}: the platform keeps every category that long for operations (RETENTION_MIN_DAYS)`;
    throw new DomainError(400, 'validation', 'Invalid request', message, { errors: [{ field: 'days', messages: [message] }], minimumDays: minimum });
  }

  /**
   * Effective retention (effectiveRetentionSql) of one customer, or of every customer plus the
   * default policy itself, at `now`.
   */
  private async effectiveDays(em: EntityManager, now: Date, customerId?: string): Promise<RetentionMap> {
    const rows = (await em.query(
      `SELECT r.customer_id, r.category, r.days FROM (${effectiveRetentionSql('$1', { capPiiByMetadata: false })}) r WHERE $2::uuid IS NULL OR r.customer_id = $2::uuid`,
      [now, customerId ?? null],
    )) as { customer_id: string; category: DataCategory; days: number | null }[];
    if (!customerId) {
      const defaults = await em.findBy(RetentionPolicy, { customerId: IsNull() });
      rows.push(...defaults.map((p) => ({ customer_id: DEFAULT, category: p.category, days: p.days })));
    }
    const map: RetentionMap = new Map();
    for (const row of rows) {
      const days = map.get(row.customer_id) ?? { body: null, msisdn: null, delivery_metadata: null };
      days[row.category] = row.days;
      map.set(row.customer_id, days);
    }
    return map;
  }

  private async view(em: EntityManager, customerId: string, now: Date): Promise<CustomerRetentionResponse> {
    const effective = (await this.effectiveDays(em, now, customerId)).get(customerId)!;
    const policies = await em.find(RetentionPolicy, { where: [{ customerId }, { customerId: IsNull() }] });
    const [agreement] = await this.dpas.activeAgreements(em, now, customerId);
    const categories = DATA_CATEGORIES.map((category): EffectiveRetention => {
      const own = policies.find((p) => p.customerId === customerId && p.category === category)?.days ?? null;
      const dflt = policies.find((p) => p.customerId === null && p.category === category)?.days ?? null;
      const maximum = agreement?.dpa.maxRetentionDays[category];
      const uncapped = effective[category];
      const configured = own ?? dflt;
      let source: RetentionSource = own !== null ? 'customer_policy' : dflt !== null ? 'default' : 'none';
      if (uncapped !== null && (configured === null || uncapped < configured)) source = 'dpa_maximum';
      // Phone numbers and bodies never outlive their message row (effectiveRetentionSql).
      const metadata = effective.delivery_metadata;
      const days = category !== 'delivery_metadata' && uncapped !== null && metadata !== null && metadata < uncapped ? metadata : uncapped;
      if (days !== uncapped) source = 'delivery_metadata';
      return {
        category, days, source, customerPolicyDays: own, defaultDays: dflt, dpaMaximumDays: typeof maximum === 'number' ? maximum : null,
        oldestRetainedDay: days === null ? null : utcDay(new Date(Date.parse(utcDay(now)) - days * DAY_MS)),
      };
    });
    return {
      customerId, at: now.toISOString(), minimumDays: this.config.retention.minDays,
      dpa: agreement ? { id: agreement.dpa.id, version: agreement.dpa.version } : null,
      categories,
    };
  }
}

/**
 * The message row (delivery metadata) is the record that the message existed, and the purge
 * deletes a row only after its phone number and body are destroyed: metadata kept shorter than
 * the PII would stay past its own retention. A change may not open such a gap or widen one that
 * is already there (a DPA's maximums can cause one); it may narrow it.
 */
function checkMetadataCoversPii(before: RetentionMap, after: RetentionMap): void {
  const gap = (d: Days | undefined, category: 'msisdn' | 'body'): number => {
    if (!d || d.delivery_metadata === null) return 0;
    return d[category] === null ? Infinity : d[category] - d.delivery_metadata;
  };
  const shortfalls: Shortfall[] = [];
  for (const [owner, days] of after) {
    for (const category of PII_CATEGORIES) {
      const now = gap(days, category);
      if (now > 0 && now > Math.max(gap(before.get(owner), category), 0)) {
        shortfalls.push({ customerId: owner === DEFAULT ? null : owner, category, days: days[category], deliveryMetadataDays: days.delivery_metadata! });
      }
    }
  }
  if (!shortfalls.length) return;
  const [first] = shortfalls;
  const who = first.customerId ? `customer ${first.customerId}` : 'the default policy';
  const more = shortfalls.length > 1 ? ` (${shortfalls.length - 1} more listed in shortfalls)` : '';
  throw new ConflictError(
    `delivery_metadata must be kept at least as long as msisdn and body: the message row is the record of the message, and the purge deletes it only after its phone number and body are gone. After this change ${who} would keep ${first.category} for ${first.days ?? 'unlimited'} days but delivery_metadata for only ${first.deliveryMetadataDays}${more}.`,
    { shortfalls: shortfalls.slice(0, 20), shortfallCount: shortfalls.length },
  );
}

function toResponse(p: RetentionPolicy): RetentionPolicyResponse {
  return { id: p.id, customerId: p.customerId, category: p.category, days: p.days, updatedAt: p.updatedAt.toISOString() };
}
