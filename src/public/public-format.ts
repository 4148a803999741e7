import type { TransferMechanism } from '../dpas/dpa.entity';

const regions = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });
const longDate = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' });

/** "Germany" for "DE"; the code itself for anything Intl does not know. */
export function countryName(code: string): string {
  const trimmed = code.trim().toUpperCase();
  try {
    return regions.of(trimmed) ?? trimmed;
  } catch {
    return trimmed;
  }
}

const MECHANISMS: Record<TransferMechanism, string> = {
  adequacy: 'Adequacy decision (GDPR Art. 45)',
  scc: 'Standard contractual clauses (GDPR Art. 46(2)(c))',
  bcr: 'Binding corporate rules (GDPR Art. 47)',
  none: 'None required',
};

export function mechanismLabel(mechanism: string): string {
  return MECHANISMS[mechanism as TransferMechanism] ?? mechanism;
}

/** "1 December 2026", in UTC like every date this service shows. */
export function humanDate(at: Date): string {
  return longDate.format(at);
}

/** "2026-12-01" (UTC). */
export function isoDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}
