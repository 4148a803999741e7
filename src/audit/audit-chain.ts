import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';

export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an entry that its hash covers: everything but the hash itself. */
export interface ChainedFields {
  seq: number;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  subjectType: string;
  subjectId: string | null;
  requestId: string | null;
  changes: Record<string, unknown>;
  prevHash: string;
}

/** SHA-256 over the RFC 8785 canonical JSON of the entry, so any field edited breaks the chain. */
export function entryHash(e: ChainedFields): string {
  const canonical = canonicalize({
    seq: e.seq,
    at: e.at.toISOString(),
    actorType: e.actorType,
    actorId: e.actorId,
    action: e.action,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    requestId: e.requestId,
    changes: e.changes,
    prevHash: e.prevHash,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

export interface ChainCursor {
  /** seq the next entry must have. */
  nextSeq: number;
  /** hash the next entry must name as its prevHash. */
  prevHash: string;
}

/** Checks a run of entries in seq order; returns the first seq that breaks the chain, if any. */
export function firstBreak(entries: (ChainedFields & { hash: string })[], cursor: ChainCursor): number | null {
  for (const e of entries) {
    if (e.seq !== cursor.nextSeq) return cursor.nextSeq;
    if (e.prevHash !== cursor.prevHash || entryHash(e) !== e.hash) return e.seq;
    cursor.nextSeq = e.seq + 1;
    cursor.prevHash = e.hash;
  }
  return null;
}

/**
 * Field names whose values never reach the log, which can never be erased: secrets and personal
 * data (e-mail addresses included; the subject id leads to the row). Matched on the name's end,
 * ignoring case, _ and -.
 */
const PII_KEYS = /(password|passwordhash|secret|key|keyhash|token|msisdn|phone|phonenumber|emails?|body|ciphertext)$/i;
const isPiiKey = (name: string) => PII_KEYS.test(name.replace(/[_-]/g, ''));

/**
 * Personal data and secrets are text (or lists and objects of it); a number or a flag under such
 * a name — the retention days of the `body` category, say — is not, and stays readable.
 */
const holdsText = (v: unknown) => typeof v === 'string' || (typeof v === 'object' && v !== null);

/** Redacts PII and secrets (by field name, at any depth) before a change is written to the log. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, isPiiKey(k) && holdsText(v) ? '[redacted]' : redact(v)]),
    );
  }
  return value;
}

/** The fields that differ between two snapshots, as { field: { from, to } }. */
export function diff(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const [a, b] = [before[key], after[key]];
    // Canonical JSON: jsonb hands keys back in its own order, which is not a change.
    const same = canonicalize(isoIfDate(a) ?? null) === canonicalize(isoIfDate(b) ?? null);
    if (!same) out[key] = { from: a ?? null, to: b ?? null };
  }
  return out;
}

function isoIfDate(v: unknown): unknown {
  return v instanceof Date ? v.toISOString() : v;
}
