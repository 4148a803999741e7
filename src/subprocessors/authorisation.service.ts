import { subject } from '@casl/ability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import type { Actor } from '../access/ability';
import { ChangeNoticesService } from '../change-notices/change-notices.service';
import { Clock } from '../common/clock';
import { NotFoundError } from '../common/errors';
import { CustomersService } from '../customers/customers.service';
import type { Authorisation as AuthorisationType, Dpa } from '../dpas/dpa.entity';
import { DpasService } from '../dpas/dpas.service';
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

  /** The HTTP view: the customer's own users, the DPO, legal, auditors and ingest keys; anyone else gets a 404. */
  async forCustomer(actor: Actor, customerId: string, query: AuthorisedQuery): Promise<AuthorisedSubprocessorsResponse> {
    const em = this.dataSource.manager;
    if (!(await this.customers.exists(em, customerId)) || !actor.ability.can('read', subject('RouteAuthorisation', { customerId }))) {
      throw new NotFoundError('Customer');
    }
    const at = query.at ? new Date(query.at) : this.clock.now();
    const result = await this.authorisedAt(em, customerId, at);
    return {
      customerId, at: at.toISOString(), dpaId: result.dpa?.id ?? null, authorisation: (result.dpa?.authorisation ?? null) as AuthorisationType | null,
      subprocessors: result.authorised.map(toItem),
      withheld: result.withheld.map(({ subprocessor, reason }) => ({ ...toItem(subprocessor), reason })),
    };
  }
}

function toItem(s: Subprocessor): AuthorisedSubprocessor {
  return { id: s.id, legalEntity: s.legalEntity, country: s.country, role: s.role, services: s.services, transferMechanism: s.transferMechanism };
}
