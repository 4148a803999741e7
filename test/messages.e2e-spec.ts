import { randomUUID } from 'node:crypto';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import { Clock } from '../src/common/clock';
import type { MessagePage, MessageResponse, PiiResponse } from '../src/messages/dto/message.dto';
import { KeyRing } from '../src/messages/key-ring';
import { messageId } from '../src/messages/message-id';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem, problemFields } from './support/http';
import { ingestKey, postBatch, wireRecord } from './support/ingestion';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';

const NOW = new Date('2026-11-26T12:00:00.000Z');
const hoursAgo = (n: number) => new Date(NOW.getTime() - n * 3_600_000).toISOString();
const FIELDS = ['customerId', 'destinationCountry', 'direction', 'externalId', 'id', 'pii', 'receivedAt', 'route', 'sender', 'status', 'submittedAt'];
const PHONE = '+4915712345678';
const BODY = 'Your one-time code is 918273';

describe('messages: metadata and the break-glass PII read', () => {
  let t: TestApp;
  const tokens: Record<string, string> = {};
  const users: Record<string, string> = {};
  let alpha: string;
  let beta: string;
  let carrierA: string;
  let carrierB: string;
  const ids: Record<string, string> = {};

  const as = (who: string) => bearer(tokens[who]);
  const list = async (query: Record<string, string | number> = {}, who = 'dpo') =>
    (await t.http().get('/api/v1/messages').query(query).set(as(who)).expect(200)).body as MessagePage;
  const readPii = (id: string, who: string, body: unknown = { reason: 'Customer complaint #4411: verifying the recipient' }) =>
    t.http().post(`/api/v1/messages/${id}/pii`).set(as(who)).send(body as object);
  const setPiiAccess = (who: string, body: Record<string, unknown>) => t.http().patch(`/api/v1/users/${users[who]}`).set(as('admin')).send(body);

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(NOW));
    tokens.admin = await login(t, ADMIN.email, ADMIN.password);
    alpha = await seedCustomer(t, { legalName: 'Alpha Retail GmbH', destinationCountries: ['DE'] });
    beta = await seedCustomer(t, { legalName: 'Beta Bank AG', destinationCountries: ['DE'] });
    await seedDpa(t, { customerId: alpha });
    await seedDpa(t, { customerId: beta });
    for (const [who, role] of [['dpo', 'dpo'], ['dpo2', 'dpo'], ['auditor', 'auditor'], ['security', 'security'], ['legal', 'legal']] as const) {
      const user = await createUser(t, tokens.admin, { email: `${who}@messages.test`, role });
      tokens[who] = user.token;
      users[who] = user.id;
    }
    const customer = await createUser(t, tokens.admin, { email: 'user@alpha.messages.test', role: 'customer', customerId: alpha });
    tokens.customer = customer.token;
    users.customer = customer.id;
    carrierA = await seedSubprocessor(t, { legalEntity: 'Carrier A', country: 'DE', carriesCountries: ['DE'] });
    carrierB = await seedSubprocessor(t, { legalEntity: 'Carrier B', country: 'DE', carriesCountries: ['DE'] });
    tokens.ingest = await ingestKey(t, tokens.admin);
    const res = await postBatch(t, tokens.ingest, [
      wireRecord(alpha, [carrierA], { externalId: 'a-1', submittedAt: hoursAgo(5), msisdn: PHONE, body: BODY }),
      wireRecord(alpha, [carrierA, carrierB], { externalId: 'a-2', submittedAt: hoursAgo(4), status: 'failed' }),
      wireRecord(alpha, [carrierB], { externalId: 'a-3', submittedAt: hoursAgo(3), direction: 'mo', status: 'received' }),
      wireRecord(beta, [carrierB], { externalId: 'b-1', submittedAt: hoursAgo(2) }),
      wireRecord(beta, [carrierA], { externalId: 'b-2', submittedAt: hoursAgo(1), status: 'failed' }),
    ]);
    ['a-1', 'a-2', 'a-3', 'b-1', 'b-2'].forEach((ext, i) => (ids[ext] = res.ids[i]!));
  });
  afterAll(() => t?.close());

  const externalIds = (page: MessagePage) => page.items.map((m) => m.externalId);

  it('lists metadata only, newest first: never the phone number, the body or its hash', async () => {
    const page = await list();
    expect(externalIds(page)).toEqual(['b-2', 'b-1', 'a-3', 'a-2', 'a-1']);
    for (const item of page.items) expect(Object.keys(item).sort()).toEqual(FIELDS);
    expect(page.items[4]).toEqual({
      id: ids['a-1'], customerId: alpha, externalId: 'a-1', direction: 'mt', sender: 'ACME', destinationCountry: 'DE', status: 'delivered',
      route: [carrierA], submittedAt: hoursAgo(5), receivedAt: NOW.toISOString(), pii: { msisdn: 'readable', body: 'readable' },
    });
    const text = JSON.stringify(page);
    expect(text).not.toContain(PHONE.slice(1));
    expect(text).not.toContain('918273');
  });

  it('filters by customer, time, sub-processor, status and direction, and pages with a cursor', async () => {
    expect(externalIds(await list({ customerId: alpha }))).toEqual(['a-3', 'a-2', 'a-1']);
    expect(externalIds(await list({ from: hoursAgo(4), to: hoursAgo(2) }))).toEqual(['a-3', 'a-2']);
    expect(externalIds(await list({ subprocessorId: carrierB }))).toEqual(['b-1', 'a-3', 'a-2']);
    expect(externalIds(await list({ subprocessorId: carrierA, customerId: beta }))).toEqual(['b-2']);
    expect(externalIds(await list({ status: 'failed' }))).toEqual(['b-2', 'a-2']);
    expect(externalIds(await list({ direction: 'mo' }))).toEqual(['a-3']);
    expect(externalIds(await list({ customerId: randomUUID() }))).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: MessagePage = await list({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...externalIds(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['b-2', 'b-1', 'a-3', 'a-2', 'a-1']);

    for (const query of [{ status: 'lost' }, { direction: 'up' }, { subprocessorId: 'carrier' }, { from: '2026-11-26' }, { msisdn: PHONE }]) {
      const res = await t.http().get('/api/v1/messages').query(query).set(as('dpo'));
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toHaveLength(1);
      expect(res.text).not.toContain(PHONE.slice(1));
    }
  });

  it('gets one message by id; an id that is not one (not a UUIDv7, or unknown) is a 404', async () => {
    const one = (await t.http().get(`/api/v1/messages/${ids['a-2']}`).set(as('auditor')).expect(200)).body as MessageResponse;
    expect(one).toMatchObject({ id: ids['a-2'], externalId: 'a-2', status: 'failed', route: [carrierA, carrierB] });
    for (const id of [randomUUID(), 'not-an-id', messageId(new Date(hoursAgo(5))), ids['a-2'].toUpperCase().replace(/^(.{14})7/, '$14')]) {
      expectProblem(await t.http().get(`/api/v1/messages/${id}`).set(as('dpo')), 404, 'not-found');
    }
  });

  it('says when the phone number or the body has been destroyed', async () => {
    await t.db.superuser(`UPDATE data_keys SET wrapped = NULL, destroyed_at = now() WHERE customer_id = $1 AND category = 'body'`, [beta]);
    t.app.get(KeyRing).forget((await t.db.superuser<{ id: string }>(`SELECT id FROM data_keys WHERE customer_id = $1`, [beta])).map((r) => r.id));
    const b1 = (await t.http().get(`/api/v1/messages/${ids['b-1']}`).set(as('dpo')).expect(200)).body as MessageResponse;
    expect(b1.pii).toEqual({ msisdn: 'readable', body: 'destroyed' });
    await t.db.superuser(`UPDATE messages SET msisdn_ciphertext = NULL WHERE id = $1`, [ids['b-2']]);
    const b2 = (await t.http().get(`/api/v1/messages/${ids['b-2']}`).set(as('dpo')).expect(200)).body as MessageResponse;
    expect(b2.pii).toEqual({ msisdn: 'destroyed', body: 'destroyed' });
  });

  it('is for the DPO, security and auditors: customers, legal, admins and ingest keys may not list or read messages', async () => {
    for (const who of ['security', 'auditor']) expect((await list({}, who)).items).toHaveLength(5);
    for (const who of ['customer', 'legal', 'admin', 'ingest']) {
      expectProblem(await t.http().get('/api/v1/messages').set(as(who)), 403, 'forbidden');
      expectProblem(await t.http().get(`/api/v1/messages/${ids['a-1']}`).set(as(who)), 403, 'forbidden');
    }
  });

  it('lets only a DPO holding the break-glass flag read the decrypted phone number and body, with a reason, audited', async () => {
    // Nobody has it by default.
    for (const who of ['dpo', 'auditor', 'security', 'admin', 'customer', 'legal', 'ingest']) expectProblem(await readPii(ids['a-1'], who), 403, 'forbidden');

    const granted = await setPiiAccess('dpo', { piiAccess: true }).expect(200);
    expect(granted.body).toMatchObject({ id: users.dpo, role: 'dpo', piiAccess: true });
    for (const body of [{}, { reason: 'because' }, { reason: 'x'.repeat(501) }, { reason: 'Customer complaint #4411', extra: 1 }]) {
      expectProblem(await readPii(ids['a-1'], 'dpo', body), 400, 'validation');
    }
    const res = await readPii(ids['a-1'], 'dpo').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body as PiiResponse).toEqual({ id: ids['a-1'], customerId: alpha, msisdn: PHONE, body: BODY });
    // Another DPO without the flag still may not.
    expectProblem(await readPii(ids['a-1'], 'dpo2'), 403, 'forbidden');
    // Destroyed values read as null.
    expect((await readPii(ids['b-1'], 'dpo').expect(200)).body).toMatchObject({ id: ids['b-1'], body: null, msisdn: expect.stringMatching(/^\+49/) });
    expectProblem(await readPii(randomUUID(), 'dpo'), 404, 'not-found');
    expectProblem(await readPii(messageId(new Date()), 'dpo'), 404, 'not-found');

    const audit = (await t.http().get('/api/v1/audit').query({ action: 'message.pii_read' }).set(as('auditor')).expect(200)).body as { items: AuditEntryResponse[] };
    expect(audit.items.map((e) => [e.subjectId, e.actorId, e.changes])).toEqual([
      [ids['b-1'], users.dpo, { customerId: beta, reason: 'Customer complaint #4411: verifying the recipient', phoneNumberRead: true, bodyRead: false }],
      [ids['a-1'], users.dpo, { customerId: alpha, reason: 'Customer complaint #4411: verifying the recipient', phoneNumberRead: true, bodyRead: true }],
    ]);
    expect(JSON.stringify(audit)).not.toContain(PHONE.slice(1));
    expect(JSON.stringify(audit)).not.toContain('918273');
  });

  it('lets an admin grant the flag to DPO users only; leaving the dpo role takes it away; every change is audited', async () => {
    for (const who of ['legal', 'security', 'auditor', 'customer']) {
      expect(expectProblem(await setPiiAccess(who, { piiAccess: true }), 409, 'conflict').detail).toMatch(/dpo role/);
    }
    expectProblem(await setPiiAccess('dpo2', { piiAccess: 'yes' }), 400, 'validation');
    expectProblem(await t.http().patch(`/api/v1/users/${users.dpo2}`).set(as('dpo')).send({ piiAccess: true }), 403, 'forbidden');
    expect(await t.db.superuser('SELECT id FROM users WHERE pii_access')).toEqual([{ id: users.dpo }]);
    // A role change and the flag in one request: the flag follows the new role.
    expectProblem(await setPiiAccess('dpo2', { role: 'legal', piiAccess: true }), 409, 'conflict');
    expect((await setPiiAccess('legal', { role: 'dpo', piiAccess: true }).expect(200)).body).toMatchObject({ role: 'dpo', piiAccess: true });

    const demoted = await setPiiAccess('dpo', { role: 'security' }).expect(200);
    expect(demoted.body).toMatchObject({ role: 'security', piiAccess: false });
    expectProblem(await readPii(ids['a-1'], 'dpo'), 403, 'forbidden');
    expect((await setPiiAccess('dpo', { role: 'dpo' }).expect(200)).body).toMatchObject({ role: 'dpo', piiAccess: false });
    expect((await setPiiAccess('legal', { piiAccess: false }).expect(200)).body).toMatchObject({ piiAccess: false });

    const history = (await t.http().get('/api/v1/audit').query({ subjectType: 'User', subjectId: users.dpo }).set(as('auditor')).expect(200)).body as { items: AuditEntryResponse[] };
    expect(history.items.map((e) => [e.action, e.changes]).slice(0, 3)).toEqual([
      ['user.updated', { role: { from: 'security', to: 'dpo' } }],
      ['user.updated', { role: { from: 'dpo', to: 'security' }, piiAccess: { from: true, to: false } }],
      ['user.updated', { piiAccess: { from: false, to: true } }],
    ]);
    const listed = (await t.http().get(`/api/v1/users/${users.legal}`).set(as('admin')).expect(200)).body as { piiAccess: boolean };
    expect(listed.piiAccess).toBe(false);
  });
});
