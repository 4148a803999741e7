import fc from 'fast-check';
import { ValidationProblem } from '../common/errors';
import { batchRecords, checkRecord, parseTimestamp } from './record-validation';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const CUSTOMER = '0b7c5f7e-2f1a-4c3b-9d4e-5f6a7b8c9d0e';
const HOP = '1c8d6a8f-3a2b-4d4c-8e5f-6a7b8c9d0e1f';

const valid = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  customerId: CUSTOMER, externalId: 'ext-1', direction: 'mt', msisdn: '+49 151 1234-5678', sender: 'ACME', body: 'Your code is 1234',
  route: [HOP], destinationCountry: 'DE', status: 'delivered', submittedAt: '2026-11-26T11:59:00Z', ...overrides,
});

describe('ingestion record format', () => {
  it('turns a valid record into what the store takes: E.164 number, lower-case ids, a Date', () => {
    const result = checkRecord(valid({ customerId: CUSTOMER.toUpperCase(), route: [HOP.toUpperCase(), HOP] }), NOW);
    expect(result).toEqual({
      ok: true,
      record: {
        customerId: CUSTOMER, externalId: 'ext-1', direction: 'mt', msisdn: '+4915112345678', sender: 'ACME', body: 'Your code is 1234',
        route: [HOP, HOP], destinationCountry: 'DE', status: 'delivered', submittedAt: new Date('2026-11-26T11:59:00Z'),
      },
    });
  });

  it.each([
    [{ customerId: 'acme' }, 'customerId'],
    [{ externalId: '' }, 'externalId'],
    [{ externalId: 'x'.repeat(201) }, 'externalId'],
    [{ externalId: 'a\u0000b' }, 'externalId'],
    [{ direction: 'MT' }, 'direction'],
    [{ msisdn: '+49 151' }, 'msisdn'],
    [{ msisdn: 4915112345678 }, 'msisdn'],
    [{ sender: 'x'.repeat(65) }, 'sender'],
    [{ body: 'x'.repeat(10_001) }, 'body'],
    [{ body: null }, 'body'],
    [{ route: [] }, 'route'],
    [{ route: Array(11).fill(HOP) }, 'route'],
    [{ route: HOP }, 'route'],
    [{ route: [HOP, 7] }, 'route[1]'],
    [{ destinationCountry: 'EU' }, 'destinationCountry'],
    [{ destinationCountry: 'deu' }, 'destinationCountry'],
    [{ status: 'lost' }, 'status'],
    [{ submittedAt: '2026-11-26 11:59:00Z' }, 'submittedAt'],
    [{ submittedAt: '2026-11-26T11:59:00' }, 'submittedAt'],
    [{ submittedAt: '2026-02-29T00:00:00Z' }, 'submittedAt'],
    [{ submittedAt: '2026-11-26T24:00:00Z' }, 'submittedAt'],
    [{ submittedAt: '2026-11-26T12:05:00.001Z' }, 'submittedAt'],
    [{ submittedAt: '1999-12-31T23:59:59.999Z' }, 'submittedAt'],
    [{ customerId: undefined }, 'customerId'],
    [{ colour: 'red' }, 'colour'],
  ])('rejects %j naming %s', (overrides, field) => {
    const result = checkRecord(valid(overrides), NOW);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.field)).toEqual([field]);
  });

  it('accepts the edges: 5 minutes ahead, 2000-01-01, 10,000-character bodies, 10 hops, leap days, offsets', () => {
    for (const overrides of [
      { submittedAt: '2026-11-26T12:05:00Z' }, { submittedAt: '2000-01-01T00:00:00Z' }, { body: 'x'.repeat(10_000) }, { body: '' },
      { route: Array(10).fill(HOP) }, { submittedAt: '2024-02-29T10:00:00.123456+02:00' }, { msisdn: '0049151 12345678' },
    ]) expect(checkRecord(valid(overrides), NOW).ok).toBe(true);
    expect(parseTimestamp('2024-02-29T10:00:00.123456+02:00')).toBe(Date.parse('2024-02-29T08:00:00.123Z'));
  });

  it('never echoes a value and never throws, whatever it is given', () => {
    const secret = '+4917655512345';
    const value = fc.oneof(fc.constant(secret), fc.constant(`${secret}x`), fc.constant([secret]), fc.anything());
    fc.assert(fc.property(fc.dictionary(fc.string(), value), fc.constantFrom(...Object.keys(valid())), value, (junk, field, planted) => {
      const record = { ...valid(), ...junk, [field]: planted };
      const result = checkRecord(record, NOW);
      if (!result.ok) expect(JSON.stringify(result.errors)).not.toContain('17655512345');
    }));
    for (const input of [null, 42, 'text', [], [valid()], secret]) expect(checkRecord(input, NOW)).toMatchObject({ ok: false, errors: [{ field: 'record' }] });
  });

  it('takes a body { records: [...] } of at most 10,000 records', () => {
    expect(batchRecords({ records: [] })).toEqual([]);
    expect(batchRecords({ records: Array(10_000).fill(1) })).toHaveLength(10_000);
    for (const body of [null, [], 'x', {}, { records: {} }, { records: [], more: 1 }, { records: Array(10_001).fill(1) }]) {
      expect(() => batchRecords(body)).toThrow(ValidationProblem);
    }
  });
});
