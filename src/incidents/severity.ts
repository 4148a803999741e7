import { type FieldError, ValidationProblem } from '../common/errors';
import { type DataProfile, MESSAGE_KINDS, type MessageKind } from '../customers/customer.entity';
import { DATA_CATEGORIES, type DataCategory } from '../dpas/dpa.entity';
import { INCIDENT_NATURES, type IncidentNature } from './incident.entity';

/**
 * The severity suggestion for one affected customer of a breach, by ENISA's "Recommendations for a
 * methodology of the assessment of severity of personal data breaches" (v1.0, 2013):
 *
 *   SE = DPC × EI + CB; low below 2, medium from 2, high from 3, very high from 4.
 *
 * It is a suggestion that the DPO signs off, not a verdict: each factor carries the facts it was
 * read from, any factor can be replaced with a stated reason, and the explanation repeats both so
 * that the customer — the controller, who makes its own Art. 33 assessment — can redo the sum.
 * Inputs are categories and the customer's declared data profile only, so nothing here is PII.
 */

export type SeverityLevel = 'low' | 'medium' | 'high' | 'very_high';
export type SeverityFactorName = 'dpc' | 'ei' | 'cb';

export interface SeverityOverride {
  value: number;
  /** Quoted in the explanation sent to the customer, so written for the customer's eyes. */
  reason: string;
}

export interface SeverityInput {
  dataProfile: DataProfile;
  /** What the breach exposed of this customer's data. */
  categories: readonly DataCategory[];
  /** Which security properties were lost; a personal data breach loses at least one (Art. 4(12)). */
  nature: readonly IncidentNature[];
  maliciousIntent: boolean;
  overrides?: Partial<Record<SeverityFactorName, SeverityOverride>>;
}

export interface SeverityFactor {
  /** What the score uses: the override when there is one. */
  value: number;
  /** What the facts give; equal to `value` without an override. */
  suggested: number;
  /** Why the facts give `suggested`. */
  basis: string;
  overrideReason: string | null;
}

export interface SeverityAssessment {
  dpc: SeverityFactor;
  ei: SeverityFactor;
  cb: SeverityFactor;
  /** DPC × EI + CB, to 2 decimals. */
  score: number;
  level: SeverityLevel;
  /** A paragraph for the notification draft: the sum, each factor and its basis or override. */
  explanation: string;
}

/** ENISA's basic DPC categories. What a message body reveals follows from what the sender sends. */
const DPC_NAMES: Record<number, string> = { 1: 'simple data', 2: 'behavioural data', 3: 'financial data', 4: 'sensitive data' };
const KIND_DPC: Record<Exclude<MessageKind, 'otp'>, number> = {
  marketing: 1, transactional: 1, other: 1, financial: 3, government: 3, health: 4,
};
/**
 * A one-time password is a credential, and ENISA scores credentials by what they open: the sender's
 * other kinds say what that is. A sender of nothing but codes (a verification service) protects
 * accounts of unknown kind; 2 places a leaked code above a mailing list and below a bank statement.
 * Codes expire within minutes, so a higher floor would mostly score codes that open nothing.
 */
const OTP_ONLY_DPC = 2;

const EI_NAMES: Record<number, string> = { 0.25: 'negligible', 0.5: 'limited', 0.75: 'significant', 1: 'maximum' };

const LEVEL_TEXT: Record<SeverityLevel, string> = { low: 'low', medium: 'medium', high: 'high', very_high: 'very high' };

const RANGES: Record<SeverityFactorName, { allowed: (v: number) => boolean; text: string }> = {
  dpc: { allowed: (v) => [1, 2, 3, 4].includes(v), text: 'DPC must be 1, 2, 3 or 4' },
  ei: { allowed: (v) => [0.25, 0.5, 0.75, 1].includes(v), text: 'EI must be 0.25, 0.5, 0.75 or 1' },
  // Four elements of at most +0.5 each, in steps of 0.25.
  cb: { allowed: (v) => v >= 0 && v <= 2 && Number.isInteger(v * 4), text: 'CB must be a multiple of 0.25 from 0 to 2' },
};

const FULL_NAMES: Record<SeverityFactorName, string> = {
  dpc: 'Data processing context (DPC)', ei: 'Ease of identification (EI)', cb: 'Circumstances of the breach (CB)',
};

/** The ENISA severity of a breach for one customer, with every input shown. Throws ValidationProblem naming bad inputs. */
export function assessSeverity(input: SeverityInput): SeverityAssessment {
  check(input);
  const categories = new Set(input.categories);
  const dpc = factor(suggestDpc(input.dataProfile, categories), input.overrides?.dpc);
  const ei = factor(suggestEi(categories), input.overrides?.ei);
  const cb = factor(suggestCb(new Set(input.nature), input.maliciousIntent), input.overrides?.cb);
  const score = Math.round((dpc.value * ei.value + cb.value) * 100) / 100;
  const level: SeverityLevel = score >= 4 ? 'very_high' : score >= 3 ? 'high' : score >= 2 ? 'medium' : 'low';
  const explanation = [
    `Severity: ${LEVEL_TEXT[level]} (${dpc.value} × ${ei.value} + ${cb.value} = ${score}), by the ENISA methodology`
      + ' for personal data breaches (2013): DPC × EI + CB, low below 2, medium from 2, high from 3, very high from 4.',
    sentence('dpc', dpc), sentence('ei', ei), sentence('cb', cb),
  ].join(' ');
  return { dpc, ei, cb, score, level, explanation };
}

interface Suggestion { value: number; basis: string }

/**
 * ENISA scores each kind of data and keeps the highest. Without bodies the leak is who was messaged
 * (contact data) and, with the delivery metadata, by whom and when (traffic data, behavioural).
 */
function suggestDpc(profile: DataProfile, categories: Set<DataCategory>): Suggestion {
  const parts: Suggestion[] = [];
  if (categories.has('msisdn')) parts.push({ value: 1, basis: 'phone numbers are contact details (simple data, 1)' });
  if (categories.has('delivery_metadata')) {
    parts.push({ value: 2, basis: 'delivery metadata shows who was messaged by which sender and when (traffic data: behavioural, 2)' });
  }
  if (categories.has('body')) parts.push(bodyDpc(profile));
  const value = Math.max(...parts.map((p) => p.value));
  const bases = parts.map((p) => p.basis);
  return { value, basis: parts.length > 1 ? `the highest of: ${bases.join('; ')}` : bases[0] };
}

function bodyDpc({ messageKinds, specialCategoryData }: DataProfile): Suggestion {
  if (specialCategoryData) return { value: 4, basis: 'message bodies of a sender that declares special-category data (sensitive data, 4)' };
  const others = MESSAGE_KINDS.filter((k): k is Exclude<MessageKind, 'otp'> => k !== 'otp' && messageKinds.includes(k));
  const otp = messageKinds.includes('otp');
  if (!others.length && otp) {
    const basis = `message bodies of one-time passwords only, for accounts of unknown kind (${OTP_ONLY_DPC}, the floor for a credential)`;
    return { value: OTP_ONLY_DPC, basis };
  }
  if (!others.length) return { value: 1, basis: 'message bodies of a sender with no message kinds on record (simple data, 1)' };
  const value = Math.max(...others.map((k) => KIND_DPC[k]));
  const top = others.filter((k) => KIND_DPC[k] === value).join(' and ');
  const inherit = otp ? ', which its one-time passwords inherit' : '';
  return { value, basis: `message bodies of ${top} messages (${DPC_NAMES[value]}, ${value})${inherit}` };
}

/**
 * A mobile number is unique and registered to one subscriber, and it reaches that person directly:
 * it identifies on its own, bodies or not. A body alone may name its recipient; metadata alone does not.
 */
function suggestEi(categories: Set<DataCategory>): Suggestion {
  const [numbers, bodies] = [categories.has('msisdn'), categories.has('body')];
  if (numbers && bodies) return { value: 1, basis: 'phone numbers with message bodies identify the recipients directly' };
  if (numbers) return { value: 1, basis: 'a phone number is unique to its subscriber and identifies them directly' };
  if (bodies) return { value: 0.5, basis: 'message bodies without phone numbers may name a recipient, but do not point to one' };
  return { value: 0.25, basis: 'delivery metadata alone holds no phone number or content to identify anyone by' };
}

/**
 * Each lost property counts at ENISA's higher step until the facts say otherwise: a processor rarely
 * knows at first who saw the data or whether it can be restored. The DPO lowers CB with a reason
 * (e.g. +0.25 for one known recipient) once it does.
 */
function suggestCb(nature: Set<IncidentNature>, malicious: boolean): Suggestion {
  const parts: string[] = [];
  if (nature.has('confidentiality')) parts.push('loss of confidentiality +0.5 (recipients not known)');
  if (nature.has('integrity')) parts.push('loss of integrity +0.5 (not shown to be recoverable)');
  if (nature.has('availability')) parts.push('loss of availability +0.5 (not shown to be temporary)');
  if (malicious) parts.push('malicious intent suspected +0.5');
  return { value: parts.length * 0.5, basis: parts.join(', ') };
}

function factor(suggestion: Suggestion, override: SeverityOverride | undefined): SeverityFactor {
  return {
    value: override ? override.value : suggestion.value,
    suggested: suggestion.value,
    basis: suggestion.basis,
    overrideReason: override ? override.reason.trim() : null,
  };
}

function sentence(name: SeverityFactorName, f: SeverityFactor): string {
  const label = name === 'ei' ? `${f.value} (${EI_NAMES[f.value]})` : `${f.value}`;
  return f.overrideReason === null
    ? `${FULL_NAMES[name]} ${label}: ${f.basis}.`
    : `${FULL_NAMES[name]} ${label}, set by the assessor instead of the suggested ${f.suggested} (${f.basis})`
      + ` because: ${f.overrideReason}.`;
}

function check(input: SeverityInput): void {
  const errors: FieldError[] = [];
  const bad = (field: string, message: string) => errors.push({ field, messages: [message] });
  if (!input.categories.length || input.categories.some((c) => !DATA_CATEGORIES.includes(c))) {
    bad('categories', `at least one of ${DATA_CATEGORIES.join(', ')}, and nothing else`);
  }
  if (!input.nature.length || input.nature.some((n) => !INCIDENT_NATURES.includes(n))) {
    bad('nature', `at least one of ${INCIDENT_NATURES.join(', ')}, and nothing else`);
  }
  if (input.dataProfile.messageKinds.some((k) => !MESSAGE_KINDS.includes(k))) {
    bad('dataProfile.messageKinds', `only ${MESSAGE_KINDS.join(', ')}`);
  }
  for (const name of ['dpc', 'ei', 'cb'] as const) {
    const override = input.overrides?.[name];
    if (!override) continue;
    const messages: string[] = [];
    const { allowed, text } = RANGES[name];
    if (typeof override.value !== 'number' || !allowed(override.value)) messages.push(`${text} (got ${override.value})`);
    if (typeof override.reason !== 'string' || !override.reason.trim()) messages.push('an override needs a reason');
    if (messages.length) errors.push({ field: `overrides.${name}`, messages });
  }
  if (errors.length) throw new ValidationProblem(errors);
}
