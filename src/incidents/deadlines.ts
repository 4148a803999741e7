/**
 * Breach-notice deadlines (GDPR Art. 33(2) as each DPA words it), kept free of clocks and storage
 * so that the clock endpoint, the escalation job and the notification mail agree to the millisecond.
 *
 * Time is counted in elapsed hours: an hour is 3,600 s of real time, whatever the wall clock does.
 * A 24-hour window that spans a DST change therefore ends 24 real hours later, which a local wall
 * clock reads as 23 (autumn) or 25 (spring) hours later. That is how "within 24 hours" is read in
 * a DPA, and it never depends on whose local time the reader happens to use.
 *
 * Boundaries, one rule throughout: the deadline itself is still in time. A notification sent at
 * the deadline is 'sent', one sent a millisecond later is 'sent_late'; an unsent notification is
 * 'overdue' (and escalates as such) only once the deadline has passed, when sending can no longer
 * be in time. A threshold of the window counts as passed from the very moment it is reached.
 */

const HOUR_MS = 3_600_000;

/** What a DPA that says nothing about breach notice gets (the column's default too). */
export const DEFAULT_BREACH_NOTICE_HOURS = 24;

/** The same bound as the DPA terms accept: beyond 30 days a value is a typo, not a promise. */
export const MAX_BREACH_NOTICE_HOURS = 720;

export const DEADLINE_STATUSES = ['pending', 'due_soon', 'overdue', 'sent', 'sent_late'] as const;
export type DeadlineStatus = (typeof DEADLINE_STATUSES)[number];

/** In the order they fall due: a later one never comes before an earlier one. */
export const ESCALATIONS = ['50', '75', '90', 'overdue'] as const;
export type Escalation = (typeof ESCALATIONS)[number];

/** The share of the window after which each escalation is due, as a fraction kept exact in integers. */
const SHARES: Record<Exclude<Escalation, 'overdue'>, [number, number]> = { '50': [1, 2], '75': [3, 4], '90': [9, 10] };

/** From three quarters of the window a notification is due soon: the moment of the second escalation. */
const DUE_SOON = SHARES['75'];

/** One customer's notice window: from awareness to its deadline, and when its notification went out. */
export interface NoticeWindow {
  becameAwareAt: Date;
  deadline: Date;
  /** null while the notification has not been sent. */
  sentAt: Date | null;
}

export interface DeadlineClock {
  status: DeadlineStatus;
  /**
   * Milliseconds from now to the deadline, negative once it has passed. Once sent, the clock stops:
   * the margin the notification was sent with (negative when late).
   */
  timeLeftMs: number;
  /** Share of the window gone by (now, or at sending): 0.5 at half time, above 1 after the deadline. */
  elapsedFraction: number;
}

/**
 * When a customer must have been told: awareness plus its active DPA's breach-notice hours, or
 * 24 hours when no DPA says otherwise. A value outside 1–720 whole hours is refused rather than
 * turned into a deadline nobody agreed to.
 */
export function notificationDeadline(becameAwareAt: Date, breachNoticeHours: number | null | undefined): Date {
  const aware = instant(becameAwareAt, 'becameAwareAt');
  const hours = breachNoticeHours ?? DEFAULT_BREACH_NOTICE_HOURS;
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_BREACH_NOTICE_HOURS) {
    throw new RangeError(`breachNoticeHours must be a whole number of hours from 1 to ${MAX_BREACH_NOTICE_HOURS}, got ${hours}`);
  }
  return new Date(aware + hours * HOUR_MS);
}

/** One customer's line on the incident clock at `now`. */
export function deadlineClock(window: NoticeWindow, now: Date): DeadlineClock {
  const { aware, deadline, length } = bounds(window);
  const sent = window.sentAt === null ? null : instant(window.sentAt, 'sentAt');
  const at = sent ?? instant(now, 'now');
  const elapsed = at - aware;
  const timeLeftMs = deadline - at;
  let status: DeadlineStatus;
  if (sent !== null) status = sent <= deadline ? 'sent' : 'sent_late';
  else if (at > deadline) status = 'overdue';
  else status = reached(elapsed, length, DUE_SOON) ? 'due_soon' : 'pending';
  return { status, timeLeftMs, elapsedFraction: elapsed / length };
}

/** The moment an escalation falls due: its share of the window, or just after the deadline for 'overdue'. */
export function escalationAt(window: Pick<NoticeWindow, 'becameAwareAt' | 'deadline'>, escalation: Escalation): Date {
  const { aware, deadline, length } = bounds(window);
  if (escalation === 'overdue') return new Date(deadline + 1);
  const [numerator, denominator] = SHARES[escalation];
  return new Date(aware + Math.ceil((length * numerator) / denominator));
}

/**
 * Escalations due at `now` that are not among those already `recorded`, earliest first; none once
 * the notification is sent, whatever had been missed. After the job was down several can be due at
 * once: all are returned so that each is recorded, and the last one is where the window stands now
 * (the one worth an e-mail when the others would only repeat it).
 */
export function dueEscalations(window: NoticeWindow, now: Date, recorded: Iterable<Escalation>): Escalation[] {
  const { aware, deadline, length } = bounds(window);
  if (window.sentAt !== null) return [];
  const at = instant(now, 'now');
  const done = new Set(recorded);
  return ESCALATIONS.filter((e) => !done.has(e) && (e === 'overdue' ? at > deadline : reached(at - aware, length, SHARES[e])));
}

/** True for a time zone name Intl knows (IANA names such as Europe/Berlin, case-insensitive). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * A deadline as a person in `timeZone` reads it, with the offset spelt out so that the hour a DST
 * change repeats cannot be misread: "Mon 30 March 2026, 10:00 CEST (UTC+02:00)". The abbreviation is
 * left out where there is no common one ("Sat 4 April 2026, 17:00 (UTC+09:00)"). Seconds are cut,
 * never rounded up, so a reader sees a deadline at or before the real one.
 */
export function formatDeadline(deadline: Date, timeZone: string): string {
  const at = new Date(instant(deadline, 'deadline'));
  if (!isValidTimeZone(timeZone)) {
    throw new RangeError(`Unknown time zone "${timeZone}": expected an IANA name such as Europe/Berlin or America/New_York`);
  }
  const part = (locale: string, options: Intl.DateTimeFormatOptions, type: Intl.DateTimeFormatPartTypes) =>
    new Intl.DateTimeFormat(locale, { timeZone, ...options }).formatToParts(at).find((p) => p.type === type)?.value ?? '';
  const local = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone, weekday: 'short', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(at).map((p) => [p.type, p.value]),
  );
  // en-GB names European zones (CEST, BST), en-US American ones (EDT); elsewhere both give "GMT+9".
  const abbreviation = ['en-GB', 'en-US']
    .map((locale) => part(locale, { timeZoneName: 'short' }, 'timeZoneName'))
    .find((name) => name !== '' && !/^GMT[+\-\u2212]/.test(name));
  const offset = part('en-GB', { timeZoneName: 'longOffset' }, 'timeZoneName').replace(/^GMT/, '').replace('\u2212', '-') || '+00:00';
  return `${local.weekday} ${local.day} ${local.month} ${local.year}, ${local.hour}:${local.minute}${abbreviation ? ` ${abbreviation}` : ''} (UTC${offset})`;
}

/** Whether `elapsed` ms is at least numerator/denominator of `length` ms, compared exactly in integers. */
const reached = (elapsed: number, length: number, [numerator, denominator]: [number, number]) =>
  elapsed * denominator >= length * numerator;

function bounds(window: Pick<NoticeWindow, 'becameAwareAt' | 'deadline'>) {
  const aware = instant(window.becameAwareAt, 'becameAwareAt');
  const deadline = instant(window.deadline, 'deadline');
  if (deadline <= aware) {
    throw new RangeError(`deadline ${window.deadline.toISOString()} is not after becameAwareAt ${window.becameAwareAt.toISOString()}`);
  }
  return { aware, deadline, length: deadline - aware };
}

function instant(at: Date, name: string): number {
  const ms = at instanceof Date ? at.getTime() : NaN;
  if (Number.isNaN(ms)) throw new RangeError(`${name} is not a valid date`);
  return ms;
}
