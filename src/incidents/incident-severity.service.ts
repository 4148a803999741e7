import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { loadVisible } from '../access/load-visible';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { NotFoundError } from '../common/errors';
import { isUuid } from '../common/ids';
import { CustomersService } from '../customers/customers.service';
import { OverrideSeverityDto, SeverityResponse } from './dto/severity.dto';
import { IncidentCustomer } from './incident-customer.entity';
import { Incident, INCIDENT_ROW } from './incident.entity';
import { assessSeverity, type SeverityAssessment, type SeverityFactorName, type SeverityOverride } from './severity';
import { addToTimeline } from './timeline';


/**
 * Each affected customer's ENISA severity (severity.ts): computed from the incident's facts and
 * the customer's data profile whenever it is read, so it follows the facts; the assessor's
 * overrides (with reasons) are what is stored.
 */
@Injectable()
export class IncidentSeverityService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly customers: CustomersService,
  ) {}

  /** The assessment of each of `rows`, keyed by customer id. */
  async assess(em: EntityManager, incident: Incident, rows: IncidentCustomer[]): Promise<Map<string, SeverityAssessment>> {
    const customers = await this.customers.byIds(em, rows.map((r) => r.customerId));
    const out = new Map<string, SeverityAssessment>();
    for (const row of rows) {
      const customer = customers.get(row.customerId);
      if (!customer) continue;
      out.set(row.customerId, assessSeverity({
        dataProfile: customer.dataProfile, categories: incident.dataCategories, nature: incident.nature,
        maliciousIntent: incident.maliciousIntent, overrides: row.severityOverrides,
      }));
    }
    return out;
  }

  /** Every included customer's assessment, with each factor's basis. */
  async list(actor: Actor, id: string): Promise<SeverityResponse> {
    const em = this.dataSource.manager;
    const incident = await loadVisible(em, actor, 'read', INCIDENT_ROW, id);
    return this.respond(em, incident);
  }

  /**
   * Replaces one customer's overrides (a factor left out goes back to the suggestion). Each needs a
   * reason, which the notification draft quotes; bad values are a 400 naming the factor.
   */
  async override(actor: Actor, id: string, customerId: string, dto: OverrideSeverityDto): Promise<SeverityResponse> {
    return this.dataSource.transaction(async (em) => {
      const incident = await loadVisible(em, actor, 'update', INCIDENT_ROW, id, true);
      const row = isUuid(customerId) ? await em.findOneBy(IncidentCustomer, { incidentId: id, customerId, included: true }) : null;
      if (!row) throw new NotFoundError('Affected customer');
      const overrides: Partial<Record<SeverityFactorName, SeverityOverride>> = {};
      for (const name of ['dpc', 'ei', 'cb'] as const) {
        const o = dto.overrides[name];
        if (o) overrides[name] = { value: o.value, reason: o.reason.trim() };
      }
      row.severityOverrides = overrides;
      // Validates the overrides (400 naming each bad one) before anything is written.
      const [assessment] = (await this.assess(em, incident, [row])).values();
      const now = this.clock.now();
      await em.update(IncidentCustomer, { incidentId: id, customerId }, { severityOverrides: overrides, updatedAt: now });
      incident.updatedAt = now;
      await em.save(incident);
      const described = Object.entries(overrides).map(([name, o]) => `${name.toUpperCase()} ${o.value}: ${o.reason}`);
      await addToTimeline(em, actor, id, {
        kind: 'severity_overridden', at: now, customerId,
        text: `${described.length ? described.join('; ') : 'overrides removed'} (now ${assessment.level}, ${assessment.score})`,
      });
      await this.audit.record(em, actor, {
        action: 'incident.severity_overridden', subjectType: 'Incident', subjectId: id,
        changes: { customerId, factors: Object.fromEntries(Object.entries(overrides).map(([n, o]) => [n, o.value])), level: assessment.level, score: assessment.score },
      });
      return this.respond(em, incident);
    });
  }

  private async respond(em: EntityManager, incident: Incident): Promise<SeverityResponse> {
    const rows = await em.find(IncidentCustomer, { where: { incidentId: incident.id, included: true }, order: { customerId: 'ASC' } });
    const assessed = await this.assess(em, incident, rows);
    return { customers: rows.filter((r) => assessed.has(r.customerId)).map((r) => ({ customerId: r.customerId, ...assessed.get(r.customerId)! })) };
  }
}
