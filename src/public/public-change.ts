import type { ChangeNotice } from '../change-notices/change-notice.entity';
import type { Subprocessor } from '../subprocessors/subprocessor.entity';
import { countryName, humanDate, mechanismLabel } from './public-format';

/** The public fields of a sub-processor: everything the public page may show of it. */
export type PublicSubprocessorFields = Pick<Subprocessor, 'legalEntity' | 'country' | 'purpose' | 'transferMechanism'>;

/** Fields whose old and new values may be published. */
const PUBLIC_VALUES: Record<string, (v: unknown) => string> = {
  legalEntity: (v) => String(v),
  country: (v) => (typeof v === 'string' ? `${countryName(v)} (${v.toUpperCase()})` : String(v)),
  purpose: (v) => String(v),
  transferMechanism: (v) => mechanismLabel(String(v)),
};

/** Fields the public is told have changed, without their values (ownership, contracts, internals). */
const NAMED_ONLY: Record<string, string> = {
  parentCompany: 'ownership',
  services: 'services',
  dataCategories: 'data categories',
  carriesCountries: 'countries served',
  global: 'countries served',
  role: 'role',
  certifications: 'certifications',
};

export interface PublicChangeText {
  title: string;
  summary: string;
}

/**
 * What a change notice says in public: which sub-processor, what changes and from when. Values
 * are published only for public fields; other changed fields are named, never quoted, so an
 * ownership change cannot leak a parent company that is not public.
 */
export function describeChange(
  notice: Pick<ChangeNotice, 'kind' | 'changes' | 'status' | 'effectiveAt'>,
  sub: PublicSubprocessorFields,
): PublicChangeText {
  const when = `${notice.status === 'effective' ? 'Took effect on' : 'Takes effect on'} ${humanDate(notice.effectiveAt)}.`;
  if (notice.kind === 'new_subprocessor') {
    return {
      title: `New sub-processor: ${sub.legalEntity}`,
      summary: `${sub.legalEntity} (${countryName(sub.country)}) is added as a sub-processor for: ${sub.purpose}. ` +
        `Transfer safeguard: ${mechanismLabel(sub.transferMechanism)}. ${when}`,
    };
  }
  const parts: string[] = [];
  const named = new Set<string>();
  for (const [field, change] of Object.entries(notice.changes ?? {})) {
    const format = PUBLIC_VALUES[field];
    if (format && change && typeof change === 'object') {
      parts.push(`${labelOf(field)} from ${valueOf(format, change.from)} to ${valueOf(format, change.to)}`);
    } else {
      named.add(NAMED_ONLY[field] ?? 'other terms');
    }
  }
  parts.push(...[...named].map((label) => `${label} changes`));
  const what = parts.length > 0 ? `${parts.join('; ')}.` : 'Its terms change.';
  return { title: `Change to sub-processor: ${sub.legalEntity}`, summary: `${sub.legalEntity}: ${what} ${when}` };
}

const valueOf = (format: (v: unknown) => string, v: unknown) => (v === null || v === undefined || v === '' ? 'none' : format(v));

function labelOf(field: string): string {
  return { legalEntity: 'name', country: 'country', purpose: 'purpose', transferMechanism: 'transfer safeguard' }[field] ?? field;
}
