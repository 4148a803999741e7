import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { stringify } from 'csv-stringify/sync';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/ability';
import { Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { Customer } from '../customers/customer.entity';
import { DATA_CATEGORIES, type Dpa } from '../dpas/dpa.entity';
import { DpasService } from '../dpas/dpas.service';
import { countryName, mechanismLabel } from '../public/public-format';
import { AuthorisationService } from '../subprocessors/authorisation.service';
import type { Subprocessor } from '../subprocessors/subprocessor.entity';
import { transferStanding } from '../subprocessors/transfer-countries';
import { ProcessingRecordResponse, RecordsOfProcessingResponse, RecordSubprocessor, RecordTransfer } from './dto/records.dto';

/**
 * Records of processing activities carried out as a processor (GDPR Art. 30(2)), one per
 * controller with an agreement in force, built from the DPA, the customer's data profile and the
 * sub-processors authorised for it (AuthorisationService: active, carrying its countries or serving
 * everyone, not objected to, approved where the DPA requires it). All read in one snapshot, so the
 * parts agree.
 */
@Injectable()
export class RecordsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly dpas: DpasService,
    private readonly authorisation: AuthorisationService,
  ) {}

  async list(_actor: Actor): Promise<RecordsOfProcessingResponse> {
    const at = this.clock.now();
    const records = await this.dataSource.transaction('REPEATABLE READ', async (em) => {
      const agreements = await this.dpas.activeAgreements(em, at);
      const out: ProcessingRecordResponse[] = [];
      for (const { customer, dpa } of agreements) {
        const { authorised } = await this.authorisation.authorisedAt(em, customer.id, at);
        out.push(this.record(customer, dpa, authorised));
      }
      return out;
    });
    return { generatedAt: at.toISOString(), records };
  }

  /** The same records, one row per controller; list cells are joined with "; ". */
  async csv(actor: Actor): Promise<string> {
    const { records, generatedAt } = await this.list(actor);
    const rows = records.map((r) => ({
      controller: r.controller.name,
      controller_country: r.controller.country,
      dpo_name: r.controller.dpoContact.name,
      dpo_email: r.controller.dpoContact.email,
      dpa_version: r.agreement.version,
      authorisation: r.agreement.authorisation,
      purposes: r.processing.purposes.join('; '),
      data_categories: r.processing.dataCategories.join('; '),
      message_kinds: r.processing.messageKinds.join('; '),
      special_category_data: r.processing.specialCategoryData ? 'yes' : 'no',
      subprocessors: r.subprocessors.map((s) => `${s.name} (${s.country}, ${s.role})`).join('; '),
      third_country_transfers: r.thirdCountryTransfers.map((t) => `${t.subprocessor} → ${t.country}: ${t.safeguard}`).join('; '),
      retention: r.retention.map((x) => `${x.category}: ${x.maxRetentionDays} days`).join('; '),
      security_measures: r.securityMeasures,
      generated_at: generatedAt,
    }));
    const columns = ['controller', 'controller_country', 'dpo_name', 'dpo_email', 'dpa_version', 'authorisation', 'purposes', 'data_categories',
      'message_kinds', 'special_category_data', 'subprocessors', 'third_country_transfers', 'retention', 'security_measures', 'generated_at'];
    // escape_formulas: a customer name such as "=HYPERLINK(…)" must stay text in a spreadsheet.
    return stringify(rows, { header: true, columns, escape_formulas: true, record_delimiter: 'windows' });
  }

  private record(customer: Customer, dpa: Dpa, subprocessors: Subprocessor[]): ProcessingRecordResponse {
    const transfers: RecordTransfer[] = subprocessors
      .filter((s) => transferStanding(s.country.trim()) !== 'eu_eea')
      .map((s) => ({
        subprocessorId: s.id,
        subprocessor: s.legalEntity,
        country: s.country.trim().toUpperCase(),
        countryName: countryName(s.country),
        standing: transferStanding(s.country.trim()),
        safeguard: s.transferMechanism,
        safeguardLabel: mechanismLabel(s.transferMechanism),
      }));
    const retention = DATA_CATEGORIES
      .filter((c) => typeof dpa.maxRetentionDays?.[c] === 'number')
      .map((category) => ({ category, maxRetentionDays: dpa.maxRetentionDays[category] }));
    return {
      controller: {
        customerId: customer.id,
        name: customer.legalName,
        country: customer.country.trim().toUpperCase(),
        dpoContact: { name: customer.dpoContact?.name ?? '', email: customer.dpoContact?.email ?? '' },
      },
      agreement: {
        dpaId: dpa.id, version: dpa.version, authorisation: dpa.authorisation,
        activatedAt: dpa.activatedAt?.toISOString() ?? null, expiresAt: dpa.expiresAt?.toISOString() ?? null,
      },
      processing: {
        purposes: dpa.purposes,
        dataCategories: dpa.dataCategories,
        messageKinds: customer.dataProfile?.messageKinds ?? [],
        specialCategoryData: customer.dataProfile?.specialCategoryData ?? false,
      },
      subprocessors: subprocessors.map(toSubprocessor),
      thirdCountryTransfers: transfers,
      retention,
      securityMeasures: this.config.securityMeasures,
    };
  }
}

function toSubprocessor(s: Subprocessor): RecordSubprocessor {
  return { id: s.id, name: s.legalEntity, role: s.role, country: s.country.trim().toUpperCase(), purpose: s.purpose, transferMechanism: s.transferMechanism };
}
