/**
 * Where personal data may go without an Art. 46 safeguard (SCCs, BCRs).
 *
 * Sources (checked 2025-07):
 * - EU member states and the EEA EFTA states (Iceland, Liechtenstein, Norway): GDPR applies there.
 * - European Commission, "Adequacy decisions" (Art. 45 GDPR),
 *   https://commission.europa.eu/law/law-topic/data-protection/international-dimension-data-protection/adequacy-decisions_en
 *   — Andorra, Argentina, Canada (commercial organisations), Faroe Islands, Guernsey, Israel, Isle of
 *   Man, Japan, Jersey, New Zealand, Republic of Korea, Switzerland, United Kingdom, United States
 *   (organisations certified under the EU-US Data Privacy Framework), Uruguay. The eleven pre-GDPR
 *   decisions were confirmed by the Commission's review of 15 January 2024. Brazil's decision was
 *   still a draft when this list was checked.
 *
 * Review this list when the Commission adopts, amends or withdraws a decision (e.g. the UK
 * decisions carry a sunset clause). ISO 3166-1 alpha-2 codes (Greece is GR, not EL).
 */
export const EU_EEA_COUNTRIES: ReadonlySet<string> = new Set([
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU',
  'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE',
  'IS', 'LI', 'NO',
]);

/** Third countries with an EU adequacy decision covering every recipient there. */
export const ADEQUATE_COUNTRIES: ReadonlySet<string> = new Set([
  'AD', 'AR', 'FO', 'GG', 'IL', 'IM', 'JP', 'JE', 'NZ', 'KR', 'CH', 'GB', 'UY',
]);

/**
 * Third countries whose adequacy decision covers only some recipients (Canada: organisations
 * under PIPEDA; United States: organisations certified under the Data Privacy Framework). A
 * sub-processor there must state `adequacy` (asserting it is covered), `scc` or `bcr` — never `none`.
 */
export const PARTIALLY_ADEQUATE_COUNTRIES: ReadonlySet<string> = new Set(['CA', 'US']);

export type TransferStanding = 'eu_eea' | 'adequate' | 'partially_adequate' | 'third_country';

export function transferStanding(country: string): TransferStanding {
  const code = country.toUpperCase();
  if (EU_EEA_COUNTRIES.has(code)) return 'eu_eea';
  if (ADEQUATE_COUNTRIES.has(code)) return 'adequate';
  if (PARTIALLY_ADEQUATE_COUNTRIES.has(code)) return 'partially_adequate';
  return 'third_country';
}
