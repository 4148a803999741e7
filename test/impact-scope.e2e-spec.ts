import { DataSource } from 'typeorm';
import { impactScope, ImpactScope } from '../src/messages/impact-scope';
import { KeyRing } from '../src/messages/key-ring';
import type { NewMessage } from '../src/messages/message-store';
import { startTestApp, TestApp } from './support/app';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer, seedSubprocessor } from './support/registry-fixtures';

const at = (iso: string) => new Date(iso);
const DAY = 86_400_000;

/**
 * What a breach of `carriers` between `from` and `to` touched, worked out from the records the
 * test stored: the oracle the query is checked against.
 */
function expected(records: NewMessage[], carriers: string[], from: Date, to: Date, customers?: string[]) {
  const hit = records.filter((r) => r.route.some((s) => carriers.includes(s)) && r.submittedAt >= from && r.submittedAt < to
    && (!customers || customers.includes(r.customerId)));
  const byCustomer = new Map<string, NewMessage[]>();
  for (const r of hit) byCustomer.set(r.customerId, [...(byCustomer.get(r.customerId) ?? []), r]);
  return [...byCustomer.entries()].map(([customerId, rs]) => ({
    customerId,
    messageCount: rs.length,
    distinctSubjects: new Set(rs.map((r) => r.msisdn)).size,
    destinationCountries: [...new Set(rs.map((r) => r.destinationCountry))].sort(),
    firstMessageAt: new Date(Math.min(...rs.map((r) => r.submittedAt.getTime()))),
    lastMessageAt: new Date(Math.max(...rs.map((r) => r.submittedAt.getTime()))),
  })).sort((a, b) => a.customerId.localeCompare(b.customerId));
}

const counted = (scope: ImpactScope) => scope.customers.map(({ customerId, messageCount, distinctSubjects, destinationCountries, firstMessageAt, lastMessageAt }) => ({
  customerId, messageCount, distinctSubjects, destinationCountries, firstMessageAt, lastMessageAt,
})).sort((a, b) => a.customerId.localeCompare(b.customerId));

describe('impact scope (which customers, messages and people went through a sub-processor)', () => {
  let t: TestApp;
  let customers: string[];
  let carrierA: string;
  let carrierB: string;
  let carrierC: string;
  const records: NewMessage[] = [];
  const scope = (query: Parameters<typeof impactScope>[1]) => impactScope(t.app.get(DataSource).manager, query);

  beforeAll(async () => {
    t = await startTestApp();
    customers = [];
    for (const name of ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli']) customers.push(await seedCustomer(t, { legalName: name }));
    carrierA = await seedSubprocessor(t, { legalEntity: 'Carrier A', country: 'DE' });
    carrierB = await seedSubprocessor(t, { legalEntity: 'Carrier B', country: 'FR' });
    carrierC = await seedSubprocessor(t, { legalEntity: 'Carrier C', country: 'NL' });

    // Five customers, ten days, three carriers; each customer writes to a few recurring people.
    const routes = [[carrierA], [carrierB], [carrierC], [carrierB, carrierA], [carrierC, carrierB], [carrierA, carrierC]];
    const countries = ['DE', 'FR', 'NL', 'AT'];
    let n = 0;
    for (let day = 0; day < 10; day++) {
      for (const [c, customerId] of customers.entries()) {
        for (let k = 0; k < 3 + c; k++) {
          n++;
          records.push(messageRecord(customerId, {
            msisdn: `+4917${String(1000 + c * 100 + ((n * 7) % (4 + c))).padStart(8, '0')}`,
            route: routes[(n + c) % routes.length],
            destinationCountry: countries[(n + day) % countries.length],
            submittedAt: new Date(Date.parse('2026-10-01T00:00:00Z') + day * DAY + k * 3_600_000 + c * 60_000),
          }));
        }
      }
    }
    // Routed twice through listed carriers: through A and B, and through A twice.
    records.push(messageRecord(customers[0], { msisdn: '+4917099999991', route: [carrierA, carrierB], submittedAt: at('2026-10-05T12:00:00Z') }));
    records.push(messageRecord(customers[0], { msisdn: '+4917099999992', route: [carrierA, carrierC, carrierA], submittedAt: at('2026-10-05T13:00:00Z') }));
    // Exactly at the window's bounds (from is included, to is not).
    records.push(messageRecord(customers[1], { msisdn: '+4917099999993', route: [carrierA], submittedAt: at('2026-10-03T00:00:00Z') }));
    records.push(messageRecord(customers[1], { msisdn: '+4917099999994', route: [carrierA], submittedAt: at('2026-10-08T00:00:00Z') }));
    // Customer 4 only ever uses carrier C.
    for (const r of records) if (r.customerId === customers[4]) r.route = [carrierC];
    const outcome = await storeMessages(t, records);
    expect(outcome.stored).toHaveLength(records.length);
  });
  afterAll(() => t.close());

  const from = at('2026-10-03T00:00:00Z');
  const to = at('2026-10-08T00:00:00Z');

  it('finds exactly the customers, messages and distinct people that went through one carrier in the window', async () => {
    const result = await scope({ subprocessorIds: [carrierA], from, to });
    const want = expected(records, [carrierA], from, to);
    expect(want.map((c) => c.customerId).sort()).toEqual(customers.slice(0, 4).sort()); // customer 4 never used carrier A
    expect(counted(result)).toEqual(want);
    expect(result.totals).toEqual({
      customers: 4,
      messageCount: want.reduce((s, c) => s + c.messageCount, 0),
      distinctSubjects: want.reduce((s, c) => s + c.distinctSubjects, 0),
    });
  });

  it('leaves out messages outside the window and messages through other carriers only', async () => {
    const outside = records.filter((r) => r.route.includes(carrierA) && (r.submittedAt < from || r.submittedAt >= to));
    const elsewhere = records.filter((r) => !r.route.includes(carrierA) && r.submittedAt >= from && r.submittedAt < to);
    expect(outside.length).toBeGreaterThan(0);
    expect(elsewhere.length).toBeGreaterThan(0);
    const inWindow = records.filter((r) => r.route.includes(carrierA) && r.submittedAt >= from && r.submittedAt < to);
    expect((await scope({ subprocessorIds: [carrierA], from, to })).totals.messageCount).toBe(inWindow.length);
    // Messages exactly at `to` count once the window includes them; those exactly at `from` always did.
    const longer = new Date(to.getTime() + 1);
    const atTo = records.filter((r) => r.route.includes(carrierA) && r.submittedAt.getTime() === to.getTime());
    expect(atTo.length).toBeGreaterThan(0);
    expect(inWindow.some((r) => r.submittedAt.getTime() === from.getTime())).toBe(true);
    expect((await scope({ subprocessorIds: [carrierA], from, to: longer })).totals.messageCount).toBe(inWindow.length + atTo.length);
  });

  it('counts a message routed through several listed carriers (or one carrier twice) once', async () => {
    const result = await scope({ subprocessorIds: [carrierA, carrierB], from, to });
    expect(counted(result)).toEqual(expected(records, [carrierA, carrierB], from, to));
    const hops = records.filter((r) => r.submittedAt >= from && r.submittedAt < to).reduce((s, r) => s + r.route.filter((x) => x === carrierA || x === carrierB).length, 0);
    expect(result.totals.messageCount).toBeLessThan(hops); // some messages went through both
    const acme = (await scope({ subprocessorIds: [carrierA], from: at('2026-10-05T12:30:00Z'), to: at('2026-10-05T13:30:00Z'), customerIds: [customers[0]] }));
    expect(acme.customers).toEqual([expect.objectContaining({ customerId: customers[0], messageCount: 1, distinctSubjects: 1 })]); // A, C, A
  });

  it('narrows to the given customers and answers an empty scope when nothing matches', async () => {
    const result = await scope({ subprocessorIds: [carrierA, carrierC], from, to, customerIds: [customers[2], customers[4]] });
    expect(counted(result)).toEqual(expected(records, [carrierA, carrierC], from, to, [customers[2], customers[4]]));
    expect(result.customers.map((c) => c.customerId).sort()).toEqual([customers[2], customers[4]].sort());
    const none = await scope({ subprocessorIds: [carrierA], from: at('2026-12-01T00:00:00Z'), to: at('2026-12-08T00:00:00Z') });
    expect(none).toEqual({ customers: [], totals: { customers: 0, messageCount: 0, distinctSubjects: 0 } });
    expect((await scope({ subprocessorIds: [], from, to })).customers).toEqual([]);
  });

  it('says which categories are still readable, by the data keys of the affected days', async () => {
    const result = await scope({ subprocessorIds: [carrierB], from, to });
    expect(result.customers.length).toBeGreaterThan(1);
    for (const c of result.customers) expect(c.readableCategories).toEqual(['body', 'msisdn']);

    // Crypto-shred the bodies of the first customer's affected days, then its phone numbers as well.
    const [first, second] = [customers[0], customers[1]];
    const destroy = async (customerId: string, category: string) => {
      const rows = await t.db.superuser<{ id: string }>(
        `UPDATE data_keys SET wrapped = NULL, destroyed_at = now() WHERE customer_id = $1 AND category = $2 AND day >= '2026-10-03' AND day < '2026-10-08' RETURNING id`,
        [customerId, category],
      );
      t.app.get(KeyRing).forget(rows.map((r) => r.id));
    };
    await destroy(first, 'body');
    let after = await scope({ subprocessorIds: [carrierB], from, to });
    expect(after.customers.find((c) => c.customerId === first)!.readableCategories).toEqual(['msisdn']);
    expect(after.customers.find((c) => c.customerId === second)!.readableCategories).toEqual(['body', 'msisdn']);
    await destroy(first, 'msisdn');
    after = await scope({ subprocessorIds: [carrierB], from, to });
    const shredded = after.customers.find((c) => c.customerId === first)!;
    expect(shredded.readableCategories).toEqual([]);
    // The messages still count as affected: their metadata went through the carrier too.
    expect(shredded.messageCount).toBe(expected(records, [carrierB], from, to).find((c) => c.customerId === first)!.messageCount);
  });
});
