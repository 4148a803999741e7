import {
  deadlineClock, dueEscalations, escalationAt, formatDeadline, isValidTimeZone, notificationDeadline, type NoticeWindow,
} from './deadlines';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;

describe('notificationDeadline', () => {
  const aware = at('2026-06-15T08:30:00Z');

  it('adds the DPA hours to the moment of awareness, 24 when the DPA says nothing', () => {
    expect(notificationDeadline(aware, 24)).toEqual(at('2026-06-16T08:30:00Z'));
    expect(notificationDeadline(aware, 48)).toEqual(at('2026-06-17T08:30:00Z'));
    expect(notificationDeadline(aware, null)).toEqual(at('2026-06-16T08:30:00Z'));
    expect(notificationDeadline(aware, undefined)).toEqual(at('2026-06-16T08:30:00Z'));
    expect(notificationDeadline(aware, 1)).toEqual(at('2026-06-15T09:30:00Z'));
    expect(notificationDeadline(aware, 720)).toEqual(at('2026-07-15T08:30:00Z'));
  });

  it('refuses hours no DPA can mean', () => {
    for (const hours of [0, -24, 1.5, 721, NaN, Infinity]) {
      expect(() => notificationDeadline(aware, hours)).toThrow(`breachNoticeHours must be a whole number of hours from 1 to 720, got ${hours}`);
    }
    expect(() => notificationDeadline(new Date('not a date'), 24)).toThrow('becameAwareAt is not a valid date');
  });
});

describe('deadlines across DST changes', () => {
  it('Berlin spring-forward (29 March 2026): 24 real hours, which the wall clock reads as 25', () => {
    const aware = at('2026-03-28T09:00:00Z');
    const deadline = notificationDeadline(aware, 24);
    expect(deadline).toEqual(at('2026-03-29T09:00:00Z'));
    expect(deadline.getTime() - aware.getTime()).toBe(24 * HOUR);
    expect(formatDeadline(aware, 'Europe/Berlin')).toBe('Sat 28 March 2026, 10:00 CET (UTC+01:00)');
    expect(formatDeadline(deadline, 'Europe/Berlin')).toBe('Sun 29 March 2026, 11:00 CEST (UTC+02:00)');
  });

  it('Berlin fall-back (25 October 2026): 24 real hours, which the wall clock reads as 23', () => {
    const aware = at('2026-10-24T08:00:00Z');
    const deadline = notificationDeadline(aware, 24);
    expect(deadline).toEqual(at('2026-10-25T08:00:00Z'));
    expect(formatDeadline(aware, 'Europe/Berlin')).toBe('Sat 24 October 2026, 10:00 CEST (UTC+02:00)');
    expect(formatDeadline(deadline, 'Europe/Berlin')).toBe('Sun 25 October 2026, 09:00 CET (UTC+01:00)');
  });

  it('tells apart the two 02:30s of the Berlin fall-back hour, and their deadlines an hour apart', () => {
    const first = at('2026-10-25T00:30:00Z');
    const second = at('2026-10-25T01:30:00Z');
    expect(formatDeadline(first, 'Europe/Berlin')).toBe('Sun 25 October 2026, 02:30 CEST (UTC+02:00)');
    expect(formatDeadline(second, 'Europe/Berlin')).toBe('Sun 25 October 2026, 02:30 CET (UTC+01:00)');
    expect(notificationDeadline(first, null)).toEqual(at('2026-10-26T00:30:00Z'));
    expect(notificationDeadline(second, null)).toEqual(at('2026-10-26T01:30:00Z'));
    expect(formatDeadline(notificationDeadline(first, null), 'Europe/Berlin')).toBe('Mon 26 October 2026, 01:30 CET (UTC+01:00)');
    expect(formatDeadline(notificationDeadline(second, null), 'Europe/Berlin')).toBe('Mon 26 October 2026, 02:30 CET (UTC+01:00)');
  });

  it('New York spring-forward (8 March 2026): 48 real hours, 49 on the wall clock', () => {
    const aware = at('2026-03-07T14:00:00Z');
    const deadline = notificationDeadline(aware, 48);
    expect(deadline).toEqual(at('2026-03-09T14:00:00Z'));
    expect(formatDeadline(aware, 'America/New_York')).toBe('Sat 7 March 2026, 09:00 EST (UTC-05:00)');
    expect(formatDeadline(deadline, 'America/New_York')).toBe('Mon 9 March 2026, 10:00 EDT (UTC-04:00)');
    // The same instant for a reader in Berlin, whose clocks change three weeks later.
    expect(formatDeadline(deadline, 'Europe/Berlin')).toBe('Mon 9 March 2026, 15:00 CET (UTC+01:00)');
  });

  it('New York with the default 24 hours', () => {
    const deadline = notificationDeadline(at('2026-03-07T14:00:00Z'), undefined);
    expect(deadline).toEqual(at('2026-03-08T14:00:00Z'));
    expect(formatDeadline(deadline, 'America/New_York')).toBe('Sun 8 March 2026, 10:00 EDT (UTC-04:00)');
  });
});

describe('formatDeadline', () => {
  it('gives the offset where a zone has no common abbreviation, and pads odd offsets', () => {
    const deadline = at('2026-03-30T08:00:00Z');
    expect(formatDeadline(deadline, 'Europe/Berlin')).toBe('Mon 30 March 2026, 10:00 CEST (UTC+02:00)');
    expect(formatDeadline(deadline, 'Asia/Tokyo')).toBe('Mon 30 March 2026, 17:00 (UTC+09:00)');
    expect(formatDeadline(deadline, 'Asia/Kolkata')).toBe('Mon 30 March 2026, 13:30 (UTC+05:30)');
    expect(formatDeadline(deadline, 'UTC')).toBe('Mon 30 March 2026, 08:00 UTC (UTC+00:00)');
  });

  it('writes midnight as 00:00 of the next day and cuts seconds rather than rounding up', () => {
    expect(formatDeadline(at('2026-03-29T22:00:00Z'), 'Europe/Berlin')).toBe('Mon 30 March 2026, 00:00 CEST (UTC+02:00)');
    expect(formatDeadline(at('2026-03-29T09:00:59.999Z'), 'Europe/Berlin')).toBe('Sun 29 March 2026, 11:00 CEST (UTC+02:00)');
  });

  it('refuses a time zone Intl does not know', () => {
    for (const zone of ['Mars/Base', '', 'UTC+2']) {
      expect(isValidTimeZone(zone)).toBe(false);
      expect(() => formatDeadline(at('2026-03-30T08:00:00Z'), zone)).toThrow(`Unknown time zone "${zone}"`);
    }
    expect(isValidTimeZone('America/New_York')).toBe(true);
  });
});

/* One 24-hour window across the Berlin spring-forward: 50% at 21:00Z, 75% at 03:00Z, 90% (21 h 36 min) at 06:36Z. */
const window = (sentAt: Date | null = null): NoticeWindow => ({
  becameAwareAt: at('2026-03-28T09:00:00Z'), deadline: at('2026-03-29T09:00:00Z'), sentAt,
});
const justBefore = (d: Date) => new Date(d.getTime() - 1);

describe('deadlineClock', () => {
  it('is pending until three quarters of the window, due soon from then until the deadline itself', () => {
    expect(deadlineClock(window(), at('2026-03-28T15:00:00Z'))).toEqual({ status: 'pending', timeLeftMs: 18 * HOUR, elapsedFraction: 0.25 });
    expect(deadlineClock(window(), justBefore(at('2026-03-29T03:00:00Z'))).status).toBe('pending');
    expect(deadlineClock(window(), at('2026-03-29T03:00:00Z'))).toEqual({ status: 'due_soon', timeLeftMs: 6 * HOUR, elapsedFraction: 0.75 });
    expect(deadlineClock(window(), at('2026-03-29T09:00:00Z'))).toEqual({ status: 'due_soon', timeLeftMs: 0, elapsedFraction: 1 });
  });

  it('is overdue from the first millisecond after the deadline', () => {
    expect(deadlineClock(window(), at('2026-03-29T09:00:00.001Z')).status).toBe('overdue');
    expect(deadlineClock(window(), at('2026-03-29T09:00:00.001Z')).timeLeftMs).toBe(-1);
    expect(deadlineClock(window(), at('2026-03-29T15:00:00Z'))).toEqual({ status: 'overdue', timeLeftMs: -6 * HOUR, elapsedFraction: 1.25 });
  });

  it('stops at sending: in time up to the deadline itself, late after it', () => {
    const later = at('2026-04-02T00:00:00Z');
    expect(deadlineClock(window(at('2026-03-29T07:00:00Z')), later)).toEqual({ status: 'sent', timeLeftMs: 2 * HOUR, elapsedFraction: 22 / 24 });
    expect(deadlineClock(window(at('2026-03-29T09:00:00Z')), later)).toEqual({ status: 'sent', timeLeftMs: 0, elapsedFraction: 1 });
    expect(deadlineClock(window(at('2026-03-29T10:30:00Z')), later)).toEqual({ status: 'sent_late', timeLeftMs: -1.5 * HOUR, elapsedFraction: 1.0625 });
  });

  it('refuses a window that ends before it starts', () => {
    const reversed = { becameAwareAt: at('2026-03-29T09:00:00Z'), deadline: at('2026-03-28T09:00:00Z'), sentAt: null };
    expect(() => deadlineClock(reversed, at('2026-03-28T12:00:00Z'))).toThrow('is not after becameAwareAt');
  });
});

describe('escalations', () => {
  const half = at('2026-03-28T21:00:00Z');
  const threeQuarters = at('2026-03-29T03:00:00Z');
  const ninetenths = at('2026-03-29T06:36:00Z');
  const deadline = at('2026-03-29T09:00:00Z');

  it('fall due at exactly half, three quarters and nine tenths of the window, and overdue after the deadline', () => {
    expect(escalationAt(window(), '50')).toEqual(half);
    expect(escalationAt(window(), '75')).toEqual(threeQuarters);
    expect(escalationAt(window(), '90')).toEqual(ninetenths);
    expect(escalationAt(window(), 'overdue')).toEqual(at('2026-03-29T09:00:00.001Z'));
    // 48 hours: nine tenths is 43 h 12 min.
    expect(escalationAt({ becameAwareAt: at('2026-03-07T14:00:00Z'), deadline: at('2026-03-09T14:00:00Z') }, '90')).toEqual(at('2026-03-09T09:12:00Z'));
  });

  it('each is due at its boundary and not a millisecond before', () => {
    expect(dueEscalations(window(), justBefore(half), [])).toEqual([]);
    expect(dueEscalations(window(), half, [])).toEqual(['50']);
    expect(dueEscalations(window(), justBefore(threeQuarters), ['50'])).toEqual([]);
    expect(dueEscalations(window(), threeQuarters, ['50'])).toEqual(['75']);
    expect(dueEscalations(window(), justBefore(ninetenths), ['50', '75'])).toEqual([]);
    expect(dueEscalations(window(), ninetenths, ['50', '75'])).toEqual(['90']);
    expect(dueEscalations(window(), deadline, ['50', '75', '90'])).toEqual([]);
    expect(dueEscalations(window(), at('2026-03-29T09:00:00.001Z'), new Set(['50', '75', '90'] as const))).toEqual(['overdue']);
  });

  it('after the job was down, gives every missed one, earliest first, the latest last', () => {
    expect(dueEscalations(window(), at('2026-03-29T07:00:00Z'), [])).toEqual(['50', '75', '90']);
    expect(dueEscalations(window(), at('2026-03-29T07:00:00Z'), ['50'])).toEqual(['75', '90']);
    expect(dueEscalations(window(), at('2026-03-30T09:00:00Z'), [])).toEqual(['50', '75', '90', 'overdue']);
    expect(dueEscalations(window(), at('2026-03-30T09:00:00Z'), ['50', '75', '90', 'overdue'])).toEqual([]);
  });

  it('stop once the notification is sent, on time or late', () => {
    expect(dueEscalations(window(at('2026-03-29T07:00:00Z')), at('2026-03-30T09:00:00Z'), [])).toEqual([]);
    expect(dueEscalations(window(at('2026-03-29T10:30:00Z')), at('2026-03-30T09:00:00Z'), ['50'])).toEqual([]);
  });
});
