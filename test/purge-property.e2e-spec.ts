import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock';
import { SYSTEM_ACTOR } from '../src/jobs/jobs.service';
import { KeyRing } from '../src/messages/key-ring';
import { MessageStore } from '../src/messages/message-store';
import { Message } from '../src/messages/message.entity';
import { PurgeService } from '../src/retention/purge.service';
import { startTestApp, TestApp } from './support/app';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer, seedDpa } from './support/registry-fixtures';

const MINUTE = 60_000;
const DAY = 86_400_000;
const BASE = Date.parse('2027-01-01T00:00:00Z');
const CATEGORIES = ['msisdn', 'body', 'delivery_metadata'] as const;
type Category = (typeof CATEGORIES)[number];
type Days = Record<Category, number>;

const days = (max: number) => fc.record({ msisdn: fc.integer({ min: 0, max }), body: fc.integer({ min: 0, max }), delivery_metadata: fc.integer({ min: 0, max: max + 3 }) });
const minuteIn = (n: number) => fc.integer({ min: 0, max: n * 1440 - 1 });

const customerArb = fc.record({
  policy: days(5),
  /** The active DPA's maximum retention, which caps the policy. */
  cap: fc.option(days(6), { nil: undefined }),
  messages: fc.array(fc.record({ at: minuteIn(10), phone: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 6 }),
  holds: fc.array(
    fc.record({
      phone: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
      from: fc.option(minuteIn(10), { nil: undefined }),
      length: fc.option(fc.integer({ min: 1, max: 5 * 1440 }), { nil: undefined }),
      released: fc.constantFrom('never', 'before', 'between'),
    }),
    { maxLength: 3 },
  ),
});
const caseArb = fc.record({
  customers: fc.array(customerArb, { minLength: 1, maxLength: 2 }),
  first: minuteIn(16),
  gap: minuteIn(6),
});
type CustomerCase = typeof customerArb extends fc.Arbitrary<infer T> ? T : never;

interface Stored {
  id: string;
  customerId: string;
  submittedAt: number;
  phone: number;
  msisdn: string;
  body: string;
}

/**
 * For random policies (capped by random DPAs), holds (customer-wide, by phone number, by time
 * range; never released, released before the purge, or between two purges), messages and times:
 * after each purge, exactly the expired and unheld PII is unreadable, every other value reads back
 * as it was stored, messages go only when all their data expired unheld, and the certificates
 * count every destroyed value exactly once.
 */
describe('purge (property: exactly the expired, unheld PII goes)', () => {
  let t: TestApp;
  let now = new Date(BASE);
  let caseNo = 0;

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false', PURGE_BATCH_SIZE: '2' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
  });
  afterAll(() => t.close());

  const purge = (at: number) => {
    now = new Date(at);
    return t.app.get(PurgeService).run(SYSTEM_ACTOR, 'manual', now);
  };

  async function seed(c: CustomerCase, phones: string[]) {
    const customerId = await seedCustomer(t, { legalName: `Property ${caseNo}` });
    for (const category of CATEGORIES) {
      await t.db.superuser('INSERT INTO retention_policies (customer_id, category, days) VALUES ($1, $2, $3)', [customerId, category, c.policy[category]]);
    }
    if (c.cap) await seedDpa(t, { customerId, maxRetentionDays: c.cap });
    const records = c.messages.map((m) => messageRecord(customerId, { submittedAt: new Date(BASE + m.at * MINUTE), msisdn: phones[m.phone] }));
    const { stored } = await storeMessages(t, records);
    expect(stored).toHaveLength(records.length);
    const messages: Stored[] = stored.map((s) => ({
      id: s.id, customerId, submittedAt: records[s.index].submittedAt.getTime(), phone: c.messages[s.index].phone, msisdn: records[s.index].msisdn, body: records[s.index].body,
    }));
    const holds: { id: string; phone?: number; from?: number; to?: number; released: string }[] = [];
    for (const h of c.holds) {
      const from = h.from === undefined ? undefined : BASE + h.from * MINUTE;
      const to = h.length === undefined ? undefined : (from ?? BASE) + h.length * MINUTE;
      const [row] = await t.db.superuser<{ id: string }>(
        'INSERT INTO legal_holds (customer_id, msisdn_hash, from_at, to_at, reason, released_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
        [customerId, h.phone === undefined ? null : t.app.get(KeyRing).blindIndex(customerId, phones[h.phone]), from === undefined ? null : new Date(from),
          to === undefined ? null : new Date(to), 'property', h.released === 'before' ? new Date(BASE - DAY) : null],
      );
      holds.push({ id: row.id, phone: h.phone, from, to, released: h.released });
    }
    const chosen = Object.fromEntries(CATEGORIES.map((k) => [k, Math.min(c.policy[k], c.cap?.[k] ?? Infinity)])) as Days;
    // Phone numbers and bodies never outlive their message row.
    const effective = { ...chosen, msisdn: Math.min(chosen.msisdn, chosen.delivery_metadata), body: Math.min(chosen.body, chosen.delivery_metadata) };
    return { customerId, messages, holds, effective };
  }

  type Seeded = Awaited<ReturnType<typeof seed>>;

  /** What must hold after a purge at `at`, with the holds active at that time. */
  async function check(s: Seeded, at: number, active: Seeded['holds']) {
    const expired = (m: Stored, k: Category) => Math.floor(m.submittedAt / DAY) * DAY + (1 + s.effective[k]) * DAY <= at;
    const held = (m: Stored) => active.some((h) => (h.phone === undefined || h.phone === m.phone) && (h.from === undefined || m.submittedAt >= h.from) && (h.to === undefined || m.submittedAt < h.to));
    const em = t.app.get(DataSource).manager;
    const rows = await em.findBy(Message, s.messages.map((m) => ({ id: m.id })));
    const pii = await t.app.get(MessageStore).readPii(em, rows);
    const expected = s.messages.map((m): { id: string; pii: 'deleted' | { msisdn: string | null; body: string | null } } => {
      const gone = (k: Category) => expired(m, k) && !held(m);
      if (CATEGORIES.every(gone)) return { id: m.id, pii: 'deleted' };
      return { id: m.id, pii: { msisdn: gone('msisdn') ? null : m.msisdn, body: gone('body') ? null : m.body } };
    });
    const actual = s.messages.map((m) => ({ id: m.id, pii: pii.get(m.id) ?? 'deleted' }));
    expect(actual).toEqual(expected);

    // Every destroyed value and deleted message is in exactly one certificate.
    const statements = await t.db.superuser<{ statement: string }>('SELECT statement FROM deletion_certificates WHERE customer_id = $1', [s.customerId]);
    const certified = Object.fromEntries(CATEGORIES.map((k) => [k, 0])) as Days;
    for (const { statement } of statements) {
      for (const d of (JSON.parse(statement) as { destroyed: { category: Category; messageCount: number }[] }).destroyed) certified[d.category] += d.messageCount;
    }
    const destroyedNow = (k: 'msisdn' | 'body') => expected.filter((e) => e.pii === 'deleted' || e.pii[k] === null).length;
    expect(certified).toEqual({ msisdn: destroyedNow('msisdn'), body: destroyedNow('body'), delivery_metadata: expected.filter((e) => e.pii === 'deleted').length });
  }

  it('holds for random policies, holds, messages and times', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        caseNo += 1;
        const phones = [0, 1, 2].map((i) => `+4916${String(caseNo).padStart(6, '0')}${i}0`);
        const seeded: Seeded[] = [];
        for (const customer of c.customers) seeded.push(await seed(customer, phones));

        const first = BASE + c.first * MINUTE;
        await purge(first);
        for (const s of seeded) await check(s, first, s.holds.filter((h) => h.released !== 'before'));

        for (const s of seeded) {
          for (const h of s.holds.filter((x) => x.released === 'between')) await t.db.superuser('UPDATE legal_holds SET released_at = $2 WHERE id = $1', [h.id, new Date(first)]);
        }
        const second = first + c.gap * MINUTE;
        await purge(second);
        for (const s of seeded) await check(s, second, s.holds.filter((h) => h.released === 'never'));
      }),
      { numRuns: 25 },
    );
  }, 120_000); // about 15 s alone; the margin is for a machine busy with other suites
});
