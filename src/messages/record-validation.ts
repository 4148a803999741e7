import { isISO31661Alpha2 } from 'class-validator';
import { ValidationProblem } from '../common/errors';
import { isUuid } from '../common/ids';
import { normaliseMsisdn } from './envelope-crypto';
import type { NewMessage } from './message-store';
import { DIRECTIONS, type Direction, MESSAGE_STATUSES, type MessageStatus } from './message.entity';

/**
 * The ingestion record format, checked by hand: a batch holds up to 10,000 records and
 * class-validator's per-object machinery costs more than the rest of ingestion per record. Every
 * message names the field and the rule, never the value: a rejected record may carry a phone
 * number or a body, and errors end up in clients' logs.
 */

export const MAX_BATCH_RECORDS = 10_000;
export const MAX_ROUTE_HOPS = 10;
export const MAX_BODY_CHARS = 10_000;
/** How far ahead of our clock a submitted-at may be (clock skew between the platform and us). */
export const MAX_FUTURE_MS = 5 * 60_000;
export const EARLIEST_SUBMITTED_AT = Date.UTC(2000, 0, 1);

export interface RecordError {
  field: string;
  message: string;
}

export interface RejectedRecord {
  index: number;
  /** Echoed only when it is itself a valid external id. */
  externalId?: string;
  errors: RecordError[];
}

export type RecordCheck = { ok: true; record: NewMessage } | { ok: false; externalId?: string; errors: RecordError[] };

const FIELDS = ['customerId', 'externalId', 'direction', 'msisdn', 'sender', 'body', 'route', 'destinationCountry', 'status', 'submittedAt'] as const;
const KNOWN = new Set<string>(FIELDS);
const DIRECTION_SET = new Set<string>(DIRECTIONS);
const STATUS_SET = new Set<string>(MESSAGE_STATUSES);
/** Unknown field names are echoed only when they look like identifiers (a key could be anything, even a phone number). */
const NAME_LIKE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_UNKNOWN_REPORTED = 5;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const MESSAGES = {
  customerId: 'customerId must be a UUID',
  externalId: 'externalId must be a string of 1 to 200 characters without NUL characters',
  direction: `direction must be one of ${DIRECTIONS.join(', ')}`,
  msisdn: 'msisdn must be a phone number in E.164 form (+ and 8 to 15 digits; spaces, dots, dashes, brackets and a leading 00 are accepted)',
  sender: 'sender must be a string of 1 to 64 characters without NUL characters',
  body: `body must be a string of at most ${MAX_BODY_CHARS} characters`,
  route: `route must be an array of 1 to ${MAX_ROUTE_HOPS} sub-processor ids, in the order the message travelled`,
  routeHop: 'must be a sub-processor id (UUID)',
  destinationCountry: 'destinationCountry must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE',
  status: `status must be one of ${MESSAGE_STATUSES.join(', ')}`,
  submittedAt: 'submittedAt must be a date-time with a time zone (RFC 3339), e.g. 2026-11-26T12:00:00Z',
  tooEarly: 'submittedAt must not be before 2000-01-01T00:00:00Z',
  tooLate: 'submittedAt must not be more than 5 minutes ahead of the time of ingestion',
} as const;

/** The records array of a batch body; anything else is a 400 for the whole batch (nothing stored). */
export function batchRecords(body: unknown): unknown[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationProblem([{ field: 'records', messages: ['the body must be a JSON object { "records": [...] }'] }]);
  }
  const extra = Object.keys(body).filter((k) => k !== 'records');
  if (extra.length) {
    throw new ValidationProblem([{ field: extra.every((k) => NAME_LIKE.test(k)) ? extra.join(', ') : 'body', messages: ['only "records" is allowed in the body'] }]);
  }
  const records = (body as { records?: unknown }).records;
  if (!Array.isArray(records)) throw new ValidationProblem([{ field: 'records', messages: ['records must be an array of message records'] }]);
  if (records.length > MAX_BATCH_RECORDS) {
    throw new ValidationProblem([{ field: 'records', messages: [`records must hold at most ${MAX_BATCH_RECORDS} records; split the batch`] }]);
  }
  return records;
}

const text = (v: unknown, min: number, max: number): v is string =>
  typeof v === 'string' && v.length >= min && v.length <= max && !v.includes('\u0000');

/** Milliseconds since the epoch of an RFC 3339 date-time, or NaN; calendar-checked (no 30 February). */
export function parseTimestamp(v: string): number {
  const m = RFC3339.exec(v);
  if (!m) return NaN;
  const year = +m[1], month = +m[2], day = +m[3], hour = +m[4], minute = +m[5], second = m[6] ? +m[6] : 0;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0) || hour > 23 || minute > 59 || second > 59) return NaN;
  const ms = m[7] ? +(m[7] + '00').slice(0, 3) : 0;
  let offset = 0;
  if (m[8]) {
    const oh = +m[9], om = +m[10];
    if (oh > 23 || om > 59) return NaN;
    offset = (m[8] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset;
}

/**
 * Checks one record against the format and turns it into what the store takes (phone number
 * normalised to E.164, submitted-at as a Date). `now` is the time of ingestion in milliseconds.
 */
export function checkRecord(input: unknown, now: number): RecordCheck {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { ok: false, errors: [{ field: 'record', message: 'each record must be a JSON object' }] };
  const r = input as Record<string, unknown>;
  const errors: RecordError[] = [];
  let unknown = 0;
  for (const key in r) {
    if (KNOWN.has(key)) continue;
    if (unknown++ < MAX_UNKNOWN_REPORTED) errors.push({ field: NAME_LIKE.test(key) ? key : '(unnamed)', message: 'unknown field; records take only ' + FIELDS.join(', ') });
  }
  const missing = (field: (typeof FIELDS)[number]) => {
    if (r[field] !== undefined) return false;
    errors.push({ field, message: `${field} is required` });
    return true;
  };

  const { customerId, externalId, direction, sender, body, route, destinationCountry, status, submittedAt } = r;
  if (!missing('customerId') && !isUuid(customerId)) errors.push({ field: 'customerId', message: MESSAGES.customerId });
  const externalIdOk = text(externalId, 1, 200);
  if (!missing('externalId') && !externalIdOk) errors.push({ field: 'externalId', message: MESSAGES.externalId });
  if (!missing('direction') && !(typeof direction === 'string' && DIRECTION_SET.has(direction))) errors.push({ field: 'direction', message: MESSAGES.direction });
  let msisdn: string | null = null;
  if (!missing('msisdn')) {
    msisdn = typeof r.msisdn === 'string' && r.msisdn.length <= 64 ? normaliseMsisdn(r.msisdn) : null;
    if (!msisdn) errors.push({ field: 'msisdn', message: MESSAGES.msisdn });
  }
  if (!missing('sender') && !text(sender, 1, 64)) errors.push({ field: 'sender', message: MESSAGES.sender });
  if (!missing('body') && !(typeof body === 'string' && body.length <= MAX_BODY_CHARS)) errors.push({ field: 'body', message: MESSAGES.body });
  if (!missing('route')) {
    if (!Array.isArray(route) || route.length < 1 || route.length > MAX_ROUTE_HOPS) errors.push({ field: 'route', message: MESSAGES.route });
    else for (let i = 0; i < route.length; i++) if (!isUuid(route[i])) errors.push({ field: `route[${i}]`, message: MESSAGES.routeHop });
  }
  if (!missing('destinationCountry') && !(typeof destinationCountry === 'string' && /^[A-Z]{2}$/.test(destinationCountry) && isISO31661Alpha2(destinationCountry))) {
    errors.push({ field: 'destinationCountry', message: MESSAGES.destinationCountry });
  }
  if (!missing('status') && !(typeof status === 'string' && STATUS_SET.has(status))) errors.push({ field: 'status', message: MESSAGES.status });
  let at = NaN;
  if (!missing('submittedAt')) {
    at = typeof submittedAt === 'string' ? parseTimestamp(submittedAt) : NaN;
    if (Number.isNaN(at)) errors.push({ field: 'submittedAt', message: MESSAGES.submittedAt });
    else if (at < EARLIEST_SUBMITTED_AT) errors.push({ field: 'submittedAt', message: MESSAGES.tooEarly });
    else if (at > now + MAX_FUTURE_MS) errors.push({ field: 'submittedAt', message: MESSAGES.tooLate });
  }

  if (errors.length) return externalIdOk ? { ok: false, externalId: externalId as string, errors } : { ok: false, errors };
  return {
    ok: true,
    record: {
      customerId: (customerId as string).toLowerCase(),
      externalId: externalId as string,
      direction: direction as Direction,
      msisdn: msisdn!,
      sender: sender as string,
      body: body as string,
      route: (route as string[]).map((id) => id.toLowerCase()),
      destinationCountry: destinationCountry as string,
      status: status as MessageStatus,
      submittedAt: new Date(at),
    },
  };
}
