import { canonicalize } from 'json-canonicalize';
import { ConflictError, InvalidTransitionError } from '../common/errors';
import { transferStanding } from './transfer-countries';
import type { Subprocessor, SubprocessorStatus } from './subprocessor.entity';

/**
 * The lifecycle. approved → active is listed because it happens, but only when a change notice
 * takes effect (Art. 28(2)): customers are told first. Everything else is a DPO transition.
 */
export const TRANSITIONS: Record<SubprocessorStatus, readonly SubprocessorStatus[]> = {
  proposed: ['approved'],
  approved: ['active'],
  active: ['suspended'],
  suspended: ['active', 'offboarded'],
  offboarded: [],
};

/** What the DPO may do directly from a status. */
export function manualTransitions(from: SubprocessorStatus): SubprocessorStatus[] {
  return TRANSITIONS[from].filter((to) => !(from === 'approved' && to === 'active'));
}

export function checkManualTransition(from: SubprocessorStatus, to: SubprocessorStatus): void {
  if (from === 'approved' && to === 'active') {
    throw new ConflictError(
      'A sub-processor becomes active only when a change notice takes effect, after the customers\' objection windows: ' +
      'propose it with POST /api/v1/subprocessors/:id/change-notices',
      { from, to, allowed: manualTransitions(from) },
    );
  }
  if (!manualTransitions(from).includes(to)) throw new InvalidTransitionError('Sub-processor', from, to, manualTransitions(from));
}

/** Fields a PATCH may change; status has its own endpoint. */
export const EDITABLE_FIELDS = [
  'legalEntity', 'parentCompany', 'country', 'role', 'services', 'purpose', 'dataCategories',
  'carriesCountries', 'global', 'transferMechanism', 'certifications', 'lastSecurityReview',
] as const;
export type EditableField = (typeof EDITABLE_FIELDS)[number];
export type SubprocessorShape = Pick<Subprocessor, EditableField>;

/** Changes customers must be told of before they apply to a sub-processor in service (Art. 28(2)). */
export const MATERIAL_FIELDS: readonly EditableField[] = ['country', 'parentCompany', 'services', 'dataCategories'];
const COVERAGE_FIELDS: readonly EditableField[] = ['role', 'global', 'carriesCountries'];

export type FieldChanges = Partial<Record<EditableField, { from: unknown; to: unknown }>>;

/** Hosting and support vendors, and global carriers, touch every customer's data. */
export function servesEveryone(s: Pick<Subprocessor, 'global' | 'role'>): boolean {
  return s.global || s.role === 'hosting' || s.role === 'support';
}

/** Whether the sub-processor carries traffic to any of these destination countries. */
export function carriesFor(s: Pick<Subprocessor, 'global' | 'role' | 'carriesCountries'>, destinationCountries: string[]): boolean {
  if (servesEveryone(s)) return true;
  const carried = new Set(s.carriesCountries.map((c) => c.toUpperCase()));
  return destinationCountries.some((c) => carried.has(c.toUpperCase()));
}

/** A change that lets it reach customers' data it did not reach before. */
function widensCoverage(before: SubprocessorShape, after: SubprocessorShape): boolean {
  if (servesEveryone(before)) return false;
  if (servesEveryone(after)) return true;
  const carried = new Set(before.carriesCountries);
  return after.carriesCountries.some((c) => !carried.has(c));
}

const same = (a: unknown, b: unknown) => canonicalize(a ?? null) === canonicalize(b ?? null);

/** The fields that differ, as { field: { from, to } }. */
export function changedFields(before: SubprocessorShape, after: SubprocessorShape): FieldChanges {
  const out: FieldChanges = {};
  for (const field of EDITABLE_FIELDS) {
    if (!same(before[field], after[field])) out[field] = { from: before[field], to: after[field] };
  }
  return out;
}

/**
 * Splits a change into what applies at once and what needs a change notice: the material fields
 * (country, ownership, services, data categories) and any widening of whose traffic it carries
 * (the brief lists the first four; a new carried country reaches customers who were never told).
 */
export function splitMaterial(before: SubprocessorShape, after: SubprocessorShape): { immediate: FieldChanges; material: FieldChanges } {
  const changes = changedFields(before, after);
  const widening = widensCoverage(before, after);
  const immediate: FieldChanges = {};
  const material: FieldChanges = {};
  for (const [field, change] of Object.entries(changes) as [EditableField, { from: unknown; to: unknown }][]) {
    const isMaterial = MATERIAL_FIELDS.includes(field) || (widening && COVERAGE_FIELDS.includes(field));
    (isMaterial ? material : immediate)[field] = change;
  }
  return { immediate, material };
}

/** Applies { field: { from, to } } in the given direction to a shape (or the entity itself). */
export function applyChanges<T extends SubprocessorShape>(target: T, changes: FieldChanges, direction: 'to' | 'from' = 'to'): T {
  for (const [field, change] of Object.entries(changes)) {
    if ((EDITABLE_FIELDS as readonly string[]).includes(field) && change) (target as Record<string, unknown>)[field] = change[direction];
  }
  return target;
}

/** Why this shape may not be registered, field by field; empty when it may. */
export function shapeProblems(s: SubprocessorShape): { field: string; messages: string[] }[] {
  const problems: { field: string; messages: string[] }[] = [];
  const transfer = transferProblem(s.country, s.transferMechanism);
  if (transfer) problems.push({ field: 'transferMechanism', messages: [transfer] });
  if (s.global && s.carriesCountries.length > 0) {
    problems.push({ field: 'carriesCountries', messages: ['carriesCountries must be empty for a global sub-processor'] });
  }
  if (!s.global && s.carriesCountries.length === 0 && (s.role === 'mobile_operator' || s.role === 'aggregator')) {
    problems.push({ field: 'carriesCountries', messages: ['a mobile operator or aggregator carries some countries\' traffic: list them in carriesCountries, or set global'] });
  }
  return problems;
}

/** Chapter V GDPR: a transfer outside the EU/EEA needs an adequacy decision or an Art. 46 safeguard. */
export function transferProblem(country: string, mechanism: Subprocessor['transferMechanism']): string | null {
  switch (transferStanding(country)) {
    case 'eu_eea':
      return null;
    case 'adequate':
      return null;
    case 'partially_adequate':
      return mechanism === 'none'
        ? `transferMechanism none is not allowed for ${country}: its adequacy decision covers only some organisations; use adequacy (if this one is covered), scc or bcr`
        : null;
    case 'third_country':
      if (mechanism === 'none') return `transferMechanism none is not allowed for ${country}: it is outside the EU/EEA and has no EU adequacy decision; use scc or bcr`;
      if (mechanism === 'adequacy') return `transferMechanism adequacy is not allowed for ${country}: it has no EU adequacy decision; use scc or bcr`;
      return null;
  }
}
