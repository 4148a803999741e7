import { randomUUID } from 'node:crypto';
import type { RecordsOfProcessingResponse } from '../src/records/dto/records.dto';
import { ADMIN, createUser, login, startTestApp, type TestApp } from './support/app';
import { bearer, expectProblem, problemFields } from './support/http';
import { seedCustomer, seedDpa, seedNotice, seedSubprocessor } from './support/registry-fixtures';

const SECURITY_MEASURES = 'Encryption at rest (AES-256-GCM); TLS 1.3 in transit; least privilege; audited PII reads.';

/** RFC 4180, enough for these tests: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  return rows;
}

describe('records of processing (Art. 30(2))', () => {
  let t: TestApp;
  let dpo: string;
  let auditor: string;
  let legal: string;
  let customerUser: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp({ SECURITY_MEASURES });
    ids.acme = await seedCustomer(t, {
      legalName: 'Acme Messaging GmbH', country: 'DE', dpoContact: { name: 'Anna Schmidt', email: 'dpo@acme.example.test' },
      destinationCountries: ['DE', 'US'], dataProfile: { messageKinds: ['otp', 'transactional'], specialCategoryData: false },
    });
    await seedDpa(t, { customerId: ids.acme, version: 1, status: 'expired', activatedAt: new Date('2024-01-01T00:00:00Z'), endedAt: new Date('2025-05-31T00:00:00Z'), purposes: ['Old purpose'] });
    ids.acmeDpa = await seedDpa(t, {
      customerId: ids.acme, version: 2, purposes: ['OTP delivery', 'Transactional notifications'], dataCategories: ['msisdn', 'body', 'delivery_metadata'],
      maxRetentionDays: { body: 7, msisdn: 90, delivery_metadata: 365 }, transferMechanisms: ['scc', 'adequacy'], activatedAt: new Date('2025-06-01T00:00:00Z'),
    });
    ids.beta = await seedCustomer(t, { legalName: 'Beta Bank AG', destinationCountries: ['DE'] });
    await seedDpa(t, { customerId: ids.beta, status: 'in_review', activatedAt: null });
    ids.gamma = await seedCustomer(t, {
      legalName: 'Gamma Health SAS', country: 'FR', dpoContact: { name: 'Gaston Roux', email: 'dpo@gamma.example.test' },
      destinationCountries: ['FR'], dataProfile: { messageKinds: ['health'], specialCategoryData: true },
    });
    await seedDpa(t, { customerId: ids.gamma, purposes: ['Appointment reminders'], dataCategories: ['msisdn', 'body'], maxRetentionDays: { body: 1, msisdn: 30 }, transferMechanisms: ['scc'] });
    // Specific authorisation and nothing approved yet: no sub-processor may carry its data.
    ids.delta = await seedCustomer(t, { legalName: 'Delta Insurance SE', destinationCountries: ['DE'] });
    await seedDpa(t, { customerId: ids.delta, authorisation: 'specific' });
    ids.formula = await seedCustomer(t, { legalName: '=HYPERLINK("http://evil.example")', destinationCountries: ['ZZ'] });
    await seedDpa(t, { customerId: ids.formula });

    ids.deCarrier = await seedSubprocessor(t, { legalEntity: 'DE Carrier AG', country: 'DE', carriesCountries: ['DE'], transferMechanism: 'none' });
    ids.usCarrier = await seedSubprocessor(t, { legalEntity: 'US Carrier Inc.', country: 'US', carriesCountries: ['US'], transferMechanism: 'scc' });
    ids.hosting = await seedSubprocessor(t, { legalEntity: 'Hosting India Pvt Ltd', country: 'IN', role: 'hosting', transferMechanism: 'bcr', purpose: 'Hosting' });
    ids.support = await seedSubprocessor(t, { legalEntity: 'Support Desk BV', country: 'NL', role: 'support', transferMechanism: 'none', purpose: 'Customer support' });
    ids.frCarrier = await seedSubprocessor(t, { legalEntity: 'FR Carrier SA', country: 'FR', carriesCountries: ['FR'], transferMechanism: 'none' });
    ids.jp = await seedSubprocessor(t, { legalEntity: 'JP Aggregator KK', country: 'JP', role: 'aggregator', global: true, transferMechanism: 'adequacy' });
    await seedSubprocessor(t, { legalEntity: 'Proposed DE Carrier', country: 'DE', carriesCountries: ['DE'], status: 'proposed' });
    await seedSubprocessor(t, { legalEntity: 'Suspended US Carrier', country: 'US', carriesCountries: ['US'], status: 'suspended', transferMechanism: 'scc' });
    // Acme objected to this one and the DPO has not resolved it: it may not carry Acme's data.
    ids.objected = await seedSubprocessor(t, { legalEntity: 'Objected Route LLC', country: 'US', carriesCountries: ['US'], transferMechanism: 'scc' });
    const notice = await seedNotice(t, { subprocessorId: ids.objected, status: 'effective' });
    await t.db.superuser(
      `INSERT INTO objections (notice_id, customer_id, subprocessor_id, reason, raised_by, raised_at) VALUES ($1, $2, $3, 'not in our contract', $4, now())`,
      [notice, ids.acme, ids.objected, randomUUID()],
    );

    const admin = await login(t, ADMIN.email, ADMIN.password);
    const user = (role: string, customerId?: string) => createUser(t, admin, { email: `${role}-${randomUUID()}@example.test`, role, customerId }).then((u) => u.token);
    [dpo, auditor, legal, customerUser] = await Promise.all([user('dpo'), user('auditor'), user('legal'), user('customer', ids.acme)]);
  });
  afterAll(() => t.close());

  it('has one record per controller with a DPA in force, with every Art. 30(2) element', async () => {
    const res = await t.http().get('/api/v1/records-of-processing').set(bearer(dpo)).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.body as RecordsOfProcessingResponse;
    expect(Date.parse(body.generatedAt)).not.toBeNaN();
    // Ordered by name in the database's collation, which differs between servers: compare as a set.
    expect(body.records.map((r) => r.controller.name).sort()).toEqual(['=HYPERLINK("http://evil.example")', 'Acme Messaging GmbH', 'Delta Insurance SE', 'Gamma Health SAS']);
    const byName = new Map(body.records.map((r) => [r.controller.name, r]));

    const acme = byName.get('Acme Messaging GmbH')!;
    expect(acme.controller).toEqual({ customerId: ids.acme, name: 'Acme Messaging GmbH', country: 'DE', dpoContact: { name: 'Anna Schmidt', email: 'dpo@acme.example.test' } });
    expect(acme.agreement).toMatchObject({ dpaId: ids.acmeDpa, version: 2, authorisation: 'general', activatedAt: '2025-06-01T00:00:00.000Z' });
    expect(acme.processing).toEqual({
      purposes: ['OTP delivery', 'Transactional notifications'], dataCategories: ['msisdn', 'body', 'delivery_metadata'],
      messageKinds: ['otp', 'transactional'], specialCategoryData: false,
    });
    // Carriers of its destinations, global ones, hosting and support; not proposed, suspended or
    // objected-to ones, nor one in a third country under a mechanism its DPA does not allow (India, BCRs).
    expect(acme.subprocessors.map((s) => s.name)).toEqual(['DE Carrier AG', 'JP Aggregator KK', 'Support Desk BV', 'US Carrier Inc.']);
    expect(acme.thirdCountryTransfers).toEqual([
      { subprocessorId: ids.jp, subprocessor: 'JP Aggregator KK', country: 'JP', countryName: 'Japan', standing: 'adequate', safeguard: 'adequacy', safeguardLabel: 'Adequacy decision (GDPR Art. 45)' },
      { subprocessorId: ids.usCarrier, subprocessor: 'US Carrier Inc.', country: 'US', countryName: 'United States', standing: 'partially_adequate', safeguard: 'scc', safeguardLabel: 'Standard contractual clauses (GDPR Art. 46(2)(c))' },
    ]);
    expect(acme.retention).toEqual([{ category: 'body', maxRetentionDays: 7 }, { category: 'msisdn', maxRetentionDays: 90 }, { category: 'delivery_metadata', maxRetentionDays: 365 }]);
    expect(acme.securityMeasures).toBe(SECURITY_MEASURES);

    const gamma = byName.get('Gamma Health SAS')!;
    expect(gamma.processing).toMatchObject({ messageKinds: ['health'], specialCategoryData: true });
    // Its DPA allows transfers under SCCs only: neither India (BCRs) nor Japan (adequacy) may carry its data.
    expect(gamma.subprocessors.map((s) => s.name)).toEqual(['FR Carrier SA', 'Support Desk BV']);
    expect(gamma.retention).toEqual([{ category: 'body', maxRetentionDays: 1 }, { category: 'msisdn', maxRetentionDays: 30 }]);

    const delta = byName.get('Delta Insurance SE')!;
    expect(delta.agreement.authorisation).toBe('specific');
    expect(delta.subprocessors).toEqual([]);
    expect(delta.thirdCountryTransfers).toEqual([]);
  });

  it('answers CSV for ?format=csv and for Accept: text/csv, one row per controller, formulas defused', async () => {
    const viaQuery = await t.http().get('/api/v1/records-of-processing?format=csv').set(bearer(auditor)).expect(200);
    const viaAccept = await t.http().get('/api/v1/records-of-processing').set(bearer(auditor)).set('Accept', 'text/csv').expect(200);
    for (const res of [viaQuery, viaAccept]) {
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe('attachment; filename="records-of-processing.csv"');
    }
    const strip = (s: string) => s.replace(/,[^,\r\n]*Z\r\n/g, '\r\n'); // generated_at differs between the two calls
    expect(strip(viaAccept.text)).toBe(strip(viaQuery.text));

    const [header, ...rows] = parseCsv(viaQuery.text);
    expect(header).toEqual(['controller', 'controller_country', 'dpo_name', 'dpo_email', 'dpa_version', 'authorisation', 'purposes', 'data_categories',
      'message_kinds', 'special_category_data', 'subprocessors', 'third_country_transfers', 'retention', 'security_measures', 'generated_at']);
    expect(rows.map((r) => r[0]).sort()).toEqual([`'=HYPERLINK("http://evil.example")`, 'Acme Messaging GmbH', 'Delta Insurance SE', 'Gamma Health SAS']);
    const acme = Object.fromEntries(header.map((h, i) => [h, rows.find((r) => r[0] === 'Acme Messaging GmbH')![i]]));
    expect(acme).toMatchObject({
      controller: 'Acme Messaging GmbH', controller_country: 'DE', dpo_name: 'Anna Schmidt', dpo_email: 'dpo@acme.example.test', dpa_version: '2', authorisation: 'general',
      purposes: 'OTP delivery; Transactional notifications', data_categories: 'msisdn; body; delivery_metadata', message_kinds: 'otp; transactional', special_category_data: 'no',
      subprocessors: 'DE Carrier AG (DE, mobile_operator); JP Aggregator KK (JP, aggregator); Support Desk BV (NL, support); US Carrier Inc. (US, mobile_operator)',
      third_country_transfers: 'JP Aggregator KK → JP: adequacy; US Carrier Inc. → US: scc',
      retention: 'body: 7 days; msisdn: 90 days; delivery_metadata: 365 days',
      security_measures: SECURITY_MEASURES,
    });
  });

  it('prefers JSON when the client accepts both, and refuses an unknown format', async () => {
    const res = await t.http().get('/api/v1/records-of-processing').set(bearer(dpo)).set('Accept', 'application/json, text/csv').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const bad = await t.http().get('/api/v1/records-of-processing?format=xml').set(bearer(dpo));
    expectProblem(bad, 400, 'validation');
    expect(problemFields(bad)).toEqual(['format']);
  });

  it('is for the DPO and auditors only', async () => {
    expectProblem(await t.http().get('/api/v1/records-of-processing'), 401);
    expectProblem(await t.http().get('/api/v1/records-of-processing').set(bearer(legal)), 403);
    expectProblem(await t.http().get('/api/v1/records-of-processing').set(bearer(customerUser)), 403);
    expectProblem(await t.http().get('/api/v1/records-of-processing?format=csv').set(bearer(customerUser)), 403);
  });
});
