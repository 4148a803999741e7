import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ChangeNotice } from '../change-notices/change-notice.entity';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Subprocessor } from '../subprocessors/subprocessor.entity';
import { renderAtom } from './atom';
import { PublicChangeResponse, PublicLinks, PublicSubprocessorList, PublicSubprocessorResponse } from './dto/public-subprocessor.dto';
import { describeChange } from './public-change';
import { countryName, mechanismLabel } from './public-format';
import { registryPage } from './public-pages';

/** How many change notices the feed carries, newest first. */
const FEED_ENTRIES = 100;

type NoticeRow = Pick<ChangeNotice, 'id' | 'kind' | 'changes' | 'status' | 'proposedAt' | 'effectiveAt' | 'appliedAt'> & {
  subprocessor: Pick<Subprocessor, 'legalEntity' | 'country' | 'purpose' | 'transferMechanism'>;
};

/**
 * The public sub-processor list: HTML, JSON and Atom from the same rows. It reads the registry
 * tables itself, selecting public columns only, so a new internal column never reaches the public.
 */
@Injectable()
export class PublicRegistryService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async page(): Promise<string> {
    const [subprocessors, notices] = await Promise.all([this.activeSubprocessors(), this.notices(['pending'])]);
    return registryPage(subprocessors, soonestFirst(notices.map(toChange)));
  }

  async json(): Promise<PublicSubprocessorList> {
    const [subprocessors, notices] = await Promise.all([this.activeSubprocessors(), this.notices(['pending'])]);
    return { subprocessors, announcedChanges: soonestFirst(notices.map(toChange)), links: this.links() };
  }

  /** One entry per change notice that was not withdrawn. */
  async feed(): Promise<string> {
    const notices = await this.notices(['pending', 'effective'], FEED_ENTRIES);
    const links = this.links();
    const entries = notices.map((n) => {
      const change = toChange(n);
      return {
        id: `urn:uuid:${n.id}`,
        title: change.title,
        summary: change.summary,
        published: n.proposedAt,
        // The entry's text changes when the notice takes effect ("Takes effect" → "Took effect").
        updated: n.appliedAt ?? n.proposedAt,
        link: links.page,
        category: n.kind,
      };
    });
    // A stable `updated` (not "now"), so the feed and its ETag change only when an entry does.
    const updated = entries.reduce((max, e) => (e.updated > max ? e.updated : max), new Date(0));
    return renderAtom({
      id: links.page,
      title: 'Sub-processor changes',
      subtitle: 'Sub-processors added or changed, with the date each change takes effect',
      updated,
      selfUrl: links.atom,
      alternateUrl: links.page,
      author: 'Custodian',
      entries,
    });
  }

  private links(): PublicLinks {
    const base = `${this.config.publicBaseUrl}/public`;
    return { page: `${base}/subprocessors`, json: `${base}/subprocessors.json`, atom: `${base}/subprocessors/feed.atom`, subscribe: `${base}/subscriptions` };
  }

  private async activeSubprocessors(): Promise<PublicSubprocessorResponse[]> {
    const rows = await this.dataSource.getRepository(Subprocessor).find({
      select: { id: true, legalEntity: true, purpose: true, country: true, transferMechanism: true, activeSince: true },
      where: { status: 'active' },
      order: { legalEntity: 'ASC', id: 'ASC' },
    });
    return rows.map((s) => ({
      name: s.legalEntity,
      purpose: s.purpose,
      country: s.country.trim().toUpperCase(),
      countryName: countryName(s.country),
      transferMechanism: s.transferMechanism,
      transferMechanismLabel: mechanismLabel(s.transferMechanism),
      activeSince: s.activeSince?.toISOString() ?? null,
    }));
  }

  /** Notices in the given states, newest first, with their sub-processor's public fields. */
  private async notices(statuses: ChangeNotice['status'][], limit = 500): Promise<NoticeRow[]> {
    return this.dataSource.getRepository(ChangeNotice).createQueryBuilder('n')
      .innerJoin('n.subprocessor', 's')
      .select(['n.id', 'n.kind', 'n.changes', 'n.status', 'n.proposedAt', 'n.effectiveAt', 'n.appliedAt'])
      .addSelect(['s.id', 's.legalEntity', 's.country', 's.purpose', 's.transferMechanism'])
      .where('n.status IN (:...statuses)', { statuses })
      .orderBy('n.proposedAt', 'DESC')
      .addOrderBy('n.id', 'DESC')
      .limit(limit)
      .getMany() as Promise<NoticeRow[]>;
  }
}

const soonestFirst = (changes: PublicChangeResponse[]) =>
  changes.sort((a, b) => a.effectiveAt.localeCompare(b.effectiveAt) || a.id.localeCompare(b.id));

function toChange(n: NoticeRow): PublicChangeResponse {
  const text = describeChange(n, n.subprocessor);
  return {
    id: n.id,
    kind: n.kind,
    status: n.status as PublicChangeResponse['status'],
    subprocessorName: n.subprocessor.legalEntity,
    title: text.title,
    summary: text.summary,
    announcedAt: n.proposedAt.toISOString(),
    effectiveAt: n.effectiveAt.toISOString(),
  };
}
