import { subject } from '@casl/ability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import type { Actor } from '../access/ability';
import { ChangeNoticesService, type ConsentAt } from '../change-notices/change-notices.service';
import { Clock } from '../common/clock';
import { NotFoundError } from '../common/errors';
import { ReadCache } from '../common/read-cache';
import { sharedReply, stampedReply } from '../common/shared-replies';
import { CustomersService } from '../customers/customers.service';
import type { Authorisation as AuthorisationType, Dpa } from '../dpas/dpa.entity';
import { type ActiveAgreement, DpasService } from '../dpas/dpas.service';
import { AuthorisedQuery, AuthorisedSubprocessor, AuthorisedSubprocessorsResponse } from './dto/subprocessor.dto';
import { applyChanges, carriesFor, FieldChanges } from './subprocessor-rules';
import { Subprocessor } from './subprocessor.entity';
import { transferStanding } from './transfer-countries';

export type WithheldReason = 'objection' | 'approval_required' | 'transfer_not_allowed';

export interface AuthorisationAt {
  /** The DPA in force at that moment; without one, nothing is authorised. */
  dpa: Pick<Dpa, 'id' | 'authorisation'> | null;
  /** Sub-processors that may carry the customer's data then, as they were then. */
  authorised: Subprocessor[];
  /** Active and carrying its countries then, but excluded for this customer. */
  withheld: { subprocessor: Subprocessor; reason: WithheldReason }[];
}

/**
 * Which sub-processors may carry one customer's data at a moment: the rule message ingestion
 * enforces on every route. Answerable for any moment because statuses, objections, approvals and
 * applied material changes all carry their times.
 */
@Injectable()
export class AuthorisationService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly customers: CustomersService,
    private readonly dpas: DpasService,
    private readonly notices: ChangeNoticesService,
    private readonly cache: ReadCache,
  ) {}

  /**
   * Authorised at `at` means all of:
   * - the customer had a DPA in force;
   * - the sub-processor's status was active (subprocessor_status_changes);
   * - it carried one of the customer's destination countries, or served everyone (global, hosting,
   *   support), in its shape at `at` (material changes applied later are undone);
   * - no objection of the customer excluded it (raised by `at` and not resolved as withdrawn by `at`);
 * - outside the EU/EEA, its transfer mechanism is one the customer's DPA allows;
   * - under specific authorisation, the customer had approved it, and every change to it that took
   *   effect by `at` and needed the customer's approval had it.
   * The customer's destination countries are taken as they are now (customers keep no history).
   */
  async authorisedAt(em: EntityManager, customerId: string, at: Date): Promise<AuthorisationAt> {
    const [agreement] = await this.dpas.activeAgreements(em, at, customerId);
    if (!agreement) return { dpa: null, authorised: [], withheld: [] };
    const active = ((await em.query(
      `SELECT id FROM (SELECT DISTINCT ON (subprocessor_id) subprocessor_id AS id, status FROM subprocessor_status_changes
         WHERE at <= $1 ORDER BY subprocessor_id, at DESC) latest WHERE status = 'active'`,
      [at],
    )) as { id: string }[]).map((r) => r.id);
    if (!active.length) return { dpa: agreement.dpa, authorised: [], withheld: [] };
    const subs = new Map((await em.findBy(Subprocessor, { id: In(active) })).map((s) => [s.id, s]));
    for (const notice of await this.notices.materialChangesAppliedAfter(em, active, at)) {
      applyChanges(subs.get(notice.subprocessorId)!, notice.changes as FieldChanges, 'from');
    }
    const consent = await this.notices.consentAt(em, customerId, at);
    const specific = agreement.dpa.authorisation === 'specific';
    const result: AuthorisationAt = { dpa: agreement.dpa, authorised: [], withheld: [] };
    const carrying = [...subs.values()].filter((s) => carriesFor(s, agreement.customer.destinationCountries))
      .sort((a, b) => a.legalEntity.localeCompare(b.legalEntity) || a.id.localeCompare(b.id));
    const mechanisms = new Set<string>(agreement.dpa.transferMechanisms);
    for (const s of carrying) {
      if (consent.objected.has(s.id)) result.withheld.push({ subprocessor: s, reason: 'objection' });
      // Data leaving the EU/EEA only under a transfer mechanism the customer's DPA allows.
      else if (transferStanding(s.country) !== 'eu_eea' && !mechanisms.has(s.transferMechanism)) result.withheld.push({ subprocessor: s, reason: 'transfer_not_allowed' });
      else if (specific && (!consent.approved.has(s.id) || consent.unapproved.has(s.id))) result.withheld.push({ subprocessor: s, reason: 'approval_required' });
      else result.authorised.push(s);
    }
    return result;
  }

  /**
   * authorisedAt for many (customer, moment) pairs — a batch of ingested messages — in a handful
   * of queries instead of one evaluation per pair: each customer's moments are split into
   * stretches in which its answer cannot change (see changeInstants), every stretch is evaluated
   * once at its start, and the customers sharing a start are evaluated together (evaluateMany).
   * Same answers as authorisedAt, in the order asked; pairs of one stretch share one result.
   */
  async authorisedAtMany(em: EntityManager, asks: { customerId: string; at: Date }[]): Promise<AuthorisationAt[]> {
    const out = new Array<AuthorisationAt>(asks.length);
    if (!asks.length) return out;
    const byCustomer = new Map<string, number[]>();
    let from = Infinity;
    let to = -Infinity;
    asks.forEach(({ customerId, at }, i) => {
      const list = byCustomer.get(customerId);
      if (list) list.push(i);
      else byCustomer.set(customerId, [i]);
      from = Math.min(from, at.getTime());
      to = Math.max(to, at.getTime());
    });
    const instants = await this.changeInstants(em, [...byCustomer.keys()], new Date(from), new Date(to));
    // start of a stretch (ms) → customer → the asks in that stretch
    const stretches = new Map<number, Map<string, number[]>>();
    for (const [customerId, indexes] of byCustomer) {
      const changes = instants.get(customerId) ?? [];
      for (const i of indexes) {
        const t = asks[i].at.getTime();
        // The last change at or before t starts its stretch; before the first one, the batch's earliest moment does.
        let lo = 0;
        let hi = changes.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (changes[mid] <= t) lo = mid + 1;
          else hi = mid;
        }
        const start = lo === 0 ? from : changes[lo - 1];
        let customers = stretches.get(start);
        if (!customers) stretches.set(start, (customers = new Map()));
        const list = customers.get(customerId);
        if (list) list.push(i);
        else customers.set(customerId, [i]);
      }
    }
    for (const [start, customers] of stretches) {
      const answers = await this.evaluateMany(em, [...customers.keys()], new Date(start));
      for (const [customerId, indexes] of customers) for (const i of indexes) out[i] = answers.get(customerId)!;
    }
    return out;
  }

  /**
   * authorisedAt for several customers at one moment, sharing what does not depend on the
   * customer (statuses, the sub-processors' shape then). Keep in step with authorisedAt:
   * test/route-checks.e2e-spec.ts compares the two over random moments around registry changes.
   */
  private async evaluateMany(em: EntityManager, customerIds: string[], at: Date): Promise<Map<string, AuthorisationAt>> {
    const wanted = new Set(customerIds);
    const agreements = new Map<string, ActiveAgreement>();
    for (const a of await this.dpas.activeAgreements(em, at)) if (wanted.has(a.customer.id) && !agreements.has(a.customer.id)) agreements.set(a.customer.id, a);
    const out = new Map<string, AuthorisationAt>(customerIds.map((id) => [id, { dpa: null, authorised: [], withheld: [] }]));
    if (!agreements.size) return out;
    const active = ((await em.query(
      `SELECT id FROM (SELECT DISTINCT ON (subprocessor_id) subprocessor_id AS id, status FROM subprocessor_status_changes
         WHERE at <= $1 ORDER BY subprocessor_id, at DESC) latest WHERE status = 'active'`,
      [at],
    )) as { id: string }[]).map((r) => r.id);
    const subs = new Map(active.length ? (await em.findBy(Subprocessor, { id: In(active) })).map((s) => [s.id, s]) : []);
    for (const notice of await this.notices.materialChangesAppliedAfter(em, active, at)) {
      applyChanges(subs.get(notice.subprocessorId)!, notice.changes as FieldChanges, 'from');
    }
    const consent = await this.consentOfMany(em, [...agreements.keys()], at);
    const ordered = [...subs.values()].sort((a, b) => a.legalEntity.localeCompare(b.legalEntity) || a.id.localeCompare(b.id));
    for (const [customerId, agreement] of agreements) {
      const result: AuthorisationAt = { dpa: agreement.dpa, authorised: [], withheld: [] };
      out.set(customerId, result);
      const own = consent.get(customerId)!;
      const specific = agreement.dpa.authorisation === 'specific';
      const mechanisms = new Set<string>(agreement.dpa.transferMechanisms);
      for (const s of ordered) {
        if (!carriesFor(s, agreement.customer.destinationCountries)) continue;
        if (own.objected.has(s.id)) result.withheld.push({ subprocessor: s, reason: 'objection' });
        else if (transferStanding(s.country) !== 'eu_eea' && !mechanisms.has(s.transferMechanism)) result.withheld.push({ subprocessor: s, reason: 'transfer_not_allowed' });
        else if (specific && (!own.approved.has(s.id) || own.unapproved.has(s.id))) result.withheld.push({ subprocessor: s, reason: 'approval_required' });
        else result.authorised.push(s);
      }
    }
    return out;
  }

  /** ChangeNoticesService.consentAt for several customers in one query (the same conditions). */
  private async consentOfMany(em: EntityManager, customerIds: string[], at: Date): Promise<Map<string, ConsentAt>> {
    const out = new Map<string, ConsentAt>(customerIds.map((id) => [id, { objected: new Set(), approved: new Set(), unapproved: new Set() }]));
    const rows = (await em.query(
      `SELECT 'objected' AS kind, customer_id, subprocessor_id FROM objections WHERE customer_id = ANY($1::uuid[]) AND raised_at <= $2
         AND (resolved_at IS NULL OR resolved_at > $2 OR resolution <> 'withdrawn')
       UNION SELECT 'approved', r.customer_id, n.subprocessor_id FROM change_notice_recipients r JOIN change_notices n ON n.id = r.notice_id
        WHERE r.customer_id = ANY($1::uuid[]) AND r.approved_at <= $2
       UNION SELECT 'unapproved', r.customer_id, n.subprocessor_id FROM change_notice_recipients r JOIN change_notices n ON n.id = r.notice_id
        WHERE r.customer_id = ANY($1::uuid[]) AND r.approval_required AND n.applied_at <= $2 AND (r.approved_at IS NULL OR r.approved_at > $2)`,
      [customerIds, at],
    )) as { kind: keyof ConsentAt; customer_id: string; subprocessor_id: string }[];
    for (const r of rows) out.get(r.customer_id)![r.kind].add(r.subprocessor_id);
    return out;
  }

  /**
   * Per customer, the instants in (from, to] at which authorisedAt's answer may change, in
   * milliseconds, ascending: every time it compares with `at` — DPA activation, end and expiry;
   * sub-processor status changes; material changes applied; objections raised and resolved;
   * approvals and the notices that needed them applied. Each comparison there is either
   * `x <= at` or `x > at`, so a new answer holds from x on; a stored x with microseconds first
   * counts for the next whole millisecond (JavaScript times have none). Anything that changes
   * authorisedAt must keep this list complete (the route-check test compares the two).
   */
  async changeInstants(em: EntityManager, customerIds: string[], from: Date, to: Date): Promise<Map<string, number[]>> {
    const rows = (await em.query(
      `SELECT customer_id, (extract(epoch FROM date_trunc('milliseconds', x)) * 1000)::bigint + (CASE WHEN date_trunc('milliseconds', x) < x THEN 1 ELSE 0 END) AS ms
         FROM (SELECT customer_id, unnest(ARRAY[activated_at, ended_at, expires_at]) AS x FROM dpas WHERE customer_id = ANY($1::uuid[])
               UNION ALL SELECT customer_id, unnest(ARRAY[raised_at, resolved_at]) FROM objections WHERE customer_id = ANY($1::uuid[])
               UNION ALL SELECT r.customer_id, unnest(ARRAY[r.approved_at, n.applied_at]) FROM change_notice_recipients r
                           JOIN change_notices n ON n.id = r.notice_id WHERE r.customer_id = ANY($1::uuid[])
               UNION ALL SELECT NULL, at FROM subprocessor_status_changes WHERE at > $2 AND at <= $3
               UNION ALL SELECT NULL, applied_at FROM change_notices WHERE applied_at > $2 AND applied_at <= $3) changes
        WHERE x > $2 AND x <= $3`,
      [customerIds, from, new Date(to.getTime() + 1)],
    )) as { customer_id: string | null; ms: string }[];
    const everyone = rows.filter((r) => r.customer_id === null).map((r) => Number(r.ms));
    const out = new Map<string, number[]>();
    for (const id of customerIds) out.set(id, [...everyone]);
    for (const r of rows) if (r.customer_id !== null) out.get(r.customer_id)?.push(Number(r.ms));
    for (const list of out.values()) list.sort((a, b) => a - b);
    return out;
  }

  /** The HTTP view: the customer's own users, the DPO, legal, auditors and ingest keys; anyone else gets a 404. */
  async forCustomer(actor: Actor, customerId: string, query: AuthorisedQuery): Promise<AuthorisedSubprocessorsResponse> {
    if (!actor.ability.can('read', subject('RouteAuthorisation', { customerId }))) throw new NotFoundError('Customer');
    const given = query.at ? new Date(query.at) : undefined;
    const now = this.clock.now();
    // "Now" is one answer until the next moment it may change (changeInstants); a given moment's never changes by itself.
    const key = `authorised-subprocessors ${customerId} ${given ? given.toISOString() : 'now'}`;
    // `from` is the moment the answer holds from: this request's, or a later one when read again in the background.
    const answer = await this.cache.read(key, async (from) => {
      const at = given ?? from;
      const em = this.dataSource.manager;
      if (!(await this.customers.exists(em, customerId))) throw new NotFoundError('Customer');
      const result = await this.authorisedAt(em, customerId, at);
      const value = sharedReply({
        dpaId: result.dpa?.id ?? null, authorisation: (result.dpa?.authorisation ?? null) as AuthorisationType | null,
        subprocessors: result.authorised.map(toItem),
        withheld: result.withheld.map(({ subprocessor, reason }) => ({ ...toItem(subprocessor), reason })),
      });
      if (given) return { value };
      const horizon = at.getTime() + 86_400_000;
      const [next] = (await this.changeInstants(em, [customerId], at, new Date(horizon))).get(customerId)!;
      return { value, validUntil: next ?? horizon };
    }, now);
    // "Now" is the moment the answer was asked for, that of each reply when replayed (ReplyMemo); a given moment stays as it is.
    return stampedReply((moment) => ({ customerId, at: (given ?? moment).toISOString() }), answer, now);
  }
}

function toItem(s: Subprocessor): AuthorisedSubprocessor {
  return { id: s.id, legalEntity: s.legalEntity, country: s.country, role: s.role, services: s.services, transferMechanism: s.transferMechanism };
}
