import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { KeyRing } from '../src/messages/key-ring';
import { MessageStore } from '../src/messages/message-store';
import { Message } from '../src/messages/message.entity';
import { verifyCertificate } from '../src/retention/certificate-statement';
import { DeletionCertificate } from '../src/retention/deletion-certificate.entity';
import type { SubjectRequestPage, SubjectRequestResponse } from '../src/subject-requests/dto/subject-request.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem, problemFields } from './support/http';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer, seedSubprocessor } from './support/registry-fixtures';

const PLANTED = '+4915199887766';
/** The same number as a person might write it. */
const PLANTED_WRITTEN = '0049 (151) 9988-7766';
const PLANTED_DIGITS = '99887766';

type Who = 'dpo' | 'auditor' | 'legal' | 'security' | 'admin' | 'customerA' | 'customerB';

interface Planted {
  id: string;
  day: string;
  body: string;
}

describe('data-subject requests', () => {
  let t: TestApp;
  const tokens = {} as Record<Who, string>;
  let customerA: string;
  let customerB: string;
  let carrier: string;
  /** A's messages to the planted number, by label. */
  const a: Record<'destroyedBody' | 'heldByNumber' | 'plain1' | 'plain2' | 'heldByRange' | 'routed', Planted> = {} as never;
  let aOther: string[];
  let bPlanted: string[];
  /** Every response body except exports, for the sweep at the end. */
  const answered: string[] = [];

  const as = (who: Who) => bearer(tokens[who]);
  const seen = (res: Response) => {
    answered.push(res.text ?? JSON.stringify(res.body));
    return res;
  };
  const file = async (who: Who, body: Record<string, unknown>) =>
    seen(await t.http().post('/api/v1/data-subject-requests').set(as(who)).send(body));
  const get = async (who: Who, path: string) => seen(await t.http().get(`/api/v1/data-subject-requests${path}`).set(as(who)));
  const exportOf = (who: Who, id: string) => t.http().get(`/api/v1/data-subject-requests/${id}/export`).set(as(who));

  const em = () => t.app.get(DataSource).manager;
  const readPii = async (ids: string[]) => t.app.get(MessageStore).readPii(em(), await em().findBy(Message, ids.map((id) => ({ id }))));
  const rows = (ids: string[]) =>
    t.db.superuser<{ id: string; msisdn_hash: Buffer | null; msisdn_ciphertext: Buffer | null; body_ciphertext: Buffer | null }>(
      'SELECT id, msisdn_hash, msisdn_ciphertext, body_ciphertext FROM messages WHERE id = ANY($1::uuid[]) ORDER BY id', [ids],
    );

  async function plant(label: keyof typeof a, submittedAt: string, route: string[] = []) {
    const body = `planted ${label} ${randomUUID()}`;
    const { stored } = await storeMessages(t, [messageRecord(customerA, { msisdn: PLANTED, body, submittedAt: new Date(submittedAt), route })]);
    a[label] = { id: stored[0].id, day: submittedAt.slice(0, 10), body };
  }

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    const admin = await login(t, ADMIN.email, ADMIN.password);
    tokens.admin = admin;
    customerA = await seedCustomer(t, { legalName: 'Acme Retail' });
    customerB = await seedCustomer(t, { legalName: 'Globex' });
    for (const role of ['dpo', 'auditor', 'legal', 'security'] as const) {
      tokens[role] = (await createUser(t, admin, { email: `${role}-${randomUUID()}@example.test`, role })).token;
    }
    tokens.customerA = (await createUser(t, admin, { email: `a-${randomUUID()}@example.test`, role: 'customer', customerId: customerA })).token;
    tokens.customerB = (await createUser(t, admin, { email: `b-${randomUUID()}@example.test`, role: 'customer', customerId: customerB })).token;
    carrier = await seedSubprocessor(t, { legalEntity: 'Carrier One AG', country: 'DE' });

    await plant('destroyedBody', '2026-09-01T08:00:00Z');
    await plant('heldByNumber', '2026-10-15T09:00:00Z');
    await plant('plain1', '2026-11-01T10:00:00Z');
    await plant('plain2', '2026-11-05T11:00:00Z');
    await plant('heldByRange', '2026-11-10T12:00:00Z');
    await plant('routed', '2026-11-12T13:00:00Z', [carrier]);
    aOther = (await storeMessages(t, [
      messageRecord(customerA, { submittedAt: new Date('2026-11-01T10:30:00Z') }),
      messageRecord(customerA, { submittedAt: new Date('2026-11-10T10:30:00Z') }),
    ])).stored.map((s) => s.id);
    bPlanted = (await storeMessages(t, [
      messageRecord(customerB, { msisdn: PLANTED, submittedAt: new Date('2026-11-01T10:00:00Z') }),
      messageRecord(customerB, { msisdn: PLANTED, submittedAt: new Date('2026-11-05T10:00:00Z'), route: [carrier] }),
    ])).stored.map((s) => s.id);

    // The body key of A's 2026-09-01 is already shredded (as the purge would have done).
    const shredded = await t.db.superuser<{ id: string }>(
      `UPDATE data_keys SET wrapped = NULL, destroyed_at = now() WHERE customer_id = $1 AND day = '2026-09-01' AND category = 'body' RETURNING id`, [customerA],
    );
    t.app.get(KeyRing).forget(shredded.map((k) => k.id));

    // Legal holds, written directly (the holds API is not what is under test here).
    const hash = t.app.get(KeyRing).blindIndex(customerA, PLANTED);
    const hold = (customerId: string, msisdnHash: Buffer | null, from: string, to: string, releasedAt: string | null = null) =>
      t.db.superuser('INSERT INTO legal_holds (customer_id, msisdn_hash, from_at, to_at, reason, released_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [customerId, msisdnHash, from, to, 'litigation', releasedAt]);
    await hold(customerA, hash, '2026-10-14T00:00:00Z', '2026-10-16T00:00:00Z');
    await hold(customerA, null, '2026-11-10T00:00:00Z', '2026-11-11T00:00:00Z');
    await hold(customerA, hash, '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-20T00:00:00Z'); // released: holds nothing
    // A hold of B's on the same number must not protect A's messages.
    await hold(customerB, t.app.get(KeyRing).blindIndex(customerB, PLANTED), '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
  });
  afterAll(() => t.close());

  describe('filing', () => {
    it('refuses roles that may not file, and customers filing for another customer as if it did not exist', async () => {
      for (const who of ['legal', 'security', 'admin', 'auditor'] as const) {
        expectProblem(await file(who, { customerId: customerA, kind: 'access', msisdn: PLANTED }), 403, 'forbidden');
      }
      const foreign = expectProblem(await file('customerB', { customerId: customerA, kind: 'erasure', msisdn: PLANTED }), 404, 'not-found');
      const missing = expectProblem(await file('customerB', { customerId: randomUUID(), kind: 'erasure', msisdn: PLANTED }), 404, 'not-found');
      expect(foreign.detail).toBe(missing.detail);
      expectProblem(await file('dpo', { customerId: randomUUID(), kind: 'access', msisdn: PLANTED }), 404, 'not-found');
      // Nothing was filed, nothing erased.
      expect(await t.db.superuser('SELECT id FROM data_subject_requests')).toEqual([]);
      expect((await rows([a.plain1.id]))[0].msisdn_ciphertext).not.toBeNull();
    });

    it('refuses a phone number that is not one, and a reference that carries the number, without echoing it', async () => {
      const bad = await file('customerA', { customerId: customerA, kind: 'access', msisdn: `${PLANTED}9999` });
      expectProblem(bad, 400, 'validation');
      expect(problemFields(bad)).toEqual(['msisdn']);
      const national = await file('customerA', { customerId: customerA, kind: 'access', msisdn: '0151 99887766' });
      expect(problemFields(national)).toEqual(['msisdn']);
      const leaky = await file('customerA', { customerId: customerA, kind: 'erasure', msisdn: PLANTED, reference: 'Ticket 42 for 0151-998 877 66' });
      expectProblem(leaky, 400, 'validation');
      expect(problemFields(leaky)).toEqual(['reference']);
      const unknownField = await file('customerA', { customerId: customerA, kind: 'access', msisdn: PLANTED, msisdnHash: 'x' });
      expect(problemFields(unknownField)).toEqual(['msisdnHash']);
      expect(problemFields(await file('customerA', { customerId: customerA, kind: 'rectification', msisdn: PLANTED }))).toEqual(['kind']);
      for (const res of [bad, national, leaky]) expect(res.text).not.toContain(PLANTED_DIGITS);
      expect(await t.db.superuser('SELECT id FROM data_subject_requests')).toEqual([]);
    });
  });

  describe('access', () => {
    let request: SubjectRequestResponse;

    it('counts that person\'s messages of that customer only, found from the number in any written form', async () => {
      const res = await file('customerA', { customerId: customerA, kind: 'access', msisdn: PLANTED_WRITTEN, reference: 'TCK-1' });
      expect(res.status).toBe(201);
      request = res.body as SubjectRequestResponse;
      expect(request).toMatchObject({
        customerId: customerA, kind: 'access', reference: 'TCK-1', messageCount: 6, heldCount: 0, certificateId: null,
        exportPath: `/api/v1/data-subject-requests/${request.id}/export`,
      });
      expect(request.completedAt).toBe(request.requestedAt);
      expect(Object.keys(request).sort()).toEqual(
        ['certificateId', 'completedAt', 'customerId', 'exportPath', 'heldCount', 'id', 'kind', 'messageCount', 'reference', 'requestedAt', 'requestedBy'],
      );
    });

    it('exports every message decrypted at download time, as an attachment, audited as a PII read', async () => {
      const res = await exportOf('customerA', request.id);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['content-disposition']).toBe(`attachment; filename="data-subject-access-${request.id}.json"`);
      expect(res.headers['cache-control']).toBe('private, no-store');
      const doc = JSON.parse(res.text) as ExportDoc;
      expect(doc.request).toMatchObject({ id: request.id, customerId: customerA, kind: 'access' });
      expect(doc.messageCount).toBe(6);
      const planted = Object.values(a).sort((x, y) => x.day.localeCompare(y.day));
      expect(doc.messages.map((m) => m.id)).toEqual(planted.map((p) => p.id));
      for (const m of doc.messages) {
        const p = planted.find((x) => x.id === m.id)!;
        expect(m.msisdn).toBe(PLANTED);
        if (p === a.destroyedBody) {
          expect(m.body).toBeNull();
          expect(m.notes).toEqual([expect.stringMatching(/body .* destroyed/)]);
        } else {
          expect(m.body).toBe(p.body);
          expect(m.notes).toBeUndefined();
        }
        expect(m.submittedAt.slice(0, 10)).toBe(p.day);
      }
      expect(doc.messages.find((m) => m.id === a.routed.id)!.route).toEqual([{ subprocessorId: carrier, legalEntity: 'Carrier One AG', country: 'DE' }]);

      const audit = await t.db.superuser<{ action: string; changes: Record<string, unknown>; actor_type: string }>(
        `SELECT action, changes, actor_type FROM audit_log WHERE subject_type = 'DataSubjectRequest' AND subject_id = $1 ORDER BY seq`, [request.id],
      );
      expect(audit.map((e) => e.action)).toEqual(['data_subject_request.created', 'data_subject_request.completed', 'data_subject_request.exported']);
      expect(audit[0].changes).toEqual({ customerId: customerA, kind: 'access', withReference: true });
      expect(audit[2].changes).toEqual({ customerId: customerA, messageCount: 6, decryptedValues: { msisdn: 6, body: 5 } });
      // Nothing decrypted was kept.
      const [stored] = await t.db.superuser<Record<string, unknown>>('SELECT * FROM data_subject_requests WHERE id = $1', [request.id]);
      expect(JSON.stringify(stored)).not.toContain(PLANTED_DIGITS);
    });

    it('lets the DPO export too, but not the auditor, other roles or another customer', async () => {
      expect((await exportOf('dpo', request.id)).status).toBe(200);
      for (const who of ['auditor', 'legal', 'security', 'admin'] as const) expectProblem(seen(await exportOf(who, request.id)), 403, 'forbidden');
      expectProblem(seen(await exportOf('customerB', request.id)), 404, 'not-found');
      expectProblem(seen(await exportOf('customerA', randomUUID())), 404, 'not-found');
      const exports = await t.db.superuser(`SELECT seq FROM audit_log WHERE action = 'data_subject_request.exported' AND subject_id = $1`, [request.id]);
      expect(exports).toHaveLength(2);
    });
  });

  describe('erasure', () => {
    let request: SubjectRequestResponse;

    it('clears exactly that person\'s unheld messages of that customer and says what a hold kept', async () => {
      const res = await file('dpo', { customerId: customerA, kind: 'erasure', msisdn: PLANTED, reference: 'ERASE-7' });
      expect(res.status).toBe(201);
      request = res.body as SubjectRequestResponse;
      expect(request).toMatchObject({ customerId: customerA, kind: 'erasure', messageCount: 4, heldCount: 2, exportPath: null });
      expect(request.certificateId).toEqual(expect.any(String));

      const erased = [a.destroyedBody, a.plain1, a.plain2, a.routed].map((p) => p.id);
      for (const row of await rows(erased)) {
        // A body whose day key the purge already destroyed is unreadable already; its ciphertext is the
        // purge's to count in its own certificate and to reclaim, so the erasure leaves it.
        const bodyLeftToPurge = row.id === a.destroyedBody.id;
        expect(row).toEqual({ id: row.id, msisdn_hash: null, msisdn_ciphertext: null, body_ciphertext: bodyLeftToPurge ? expect.any(Buffer) : null });
      }
      for (const pii of (await readPii(erased)).values()) expect(pii).toEqual({ msisdn: null, body: null });
      const hops = await t.db.superuser<{ subject: string | null }>('SELECT subject FROM message_hops WHERE message_id = $1', [a.routed.id]);
      expect(hops).toEqual([{ subject: null }]);
      // The metadata stays (it has its own retention); only the person's number, body and hash are gone.
      expect(await t.db.superuser('SELECT id FROM messages WHERE id = ANY($1::uuid[])', [erased])).toHaveLength(4);

      const held = await readPii([a.heldByNumber.id, a.heldByRange.id]);
      expect(held.get(a.heldByNumber.id)).toEqual({ msisdn: PLANTED, body: a.heldByNumber.body });
      expect(held.get(a.heldByRange.id)).toEqual({ msisdn: PLANTED, body: a.heldByRange.body });
      for (const row of await rows([a.heldByNumber.id, a.heldByRange.id])) expect(row.msisdn_hash).not.toBeNull();

      for (const [id, pii] of await readPii([...bPlanted, ...aOther])) {
        expect(pii.msisdn).not.toBeNull();
        expect(pii.body).not.toBeNull();
        if (bPlanted.includes(id)) expect(pii.msisdn).toBe(PLANTED);
      }
      for (const row of await rows([...bPlanted, ...aOther])) expect(row.msisdn_hash).not.toBeNull();
      const bHops = await t.db.superuser<{ subject: string | null }>('SELECT subject FROM message_hops WHERE message_id = ANY($1::uuid[])', [bPlanted]);
      expect(bHops.map((h) => h.subject)).toEqual([expect.any(String)]);
    });

    it('issues a signed certificate that verifies and states the counts', async () => {
      const certificate = await em().findOneByOrFail(DeletionCertificate, { id: request.certificateId! });
      expect(certificate).toMatchObject({ customerId: customerA, requestId: request.id, runId: null });
      expect(await verifyCertificate(em(), certificate, certificate)).toEqual({ valid: true, signingKeyId: certificate.signingKeyId });
      const statement = JSON.parse(certificate.statement) as Record<string, unknown>;
      expect(statement).toMatchObject({
        customerId: customerA,
        source: { kind: 'erasure_request', requestId: request.id },
        method: 'ciphertext_erasure',
        retainedUnderHold: 2,
        destroyed: [
          // The body shredded earlier by the purge is not counted again.
          { category: 'msisdn', from: '2026-09-01', to: '2026-11-12', messageCount: 4, keyIds: [] },
          { category: 'body', from: '2026-11-01', to: '2026-11-12', messageCount: 3, keyIds: [] },
        ],
      });
      expect(certificate.statement).not.toContain(PLANTED_DIGITS);

      const actions = (await t.db.superuser<{ action: string }>(
        `SELECT action FROM audit_log WHERE subject_id IN ($1, $2) ORDER BY seq`, [request.id, certificate.id],
      )).map((e) => e.action);
      expect(actions).toEqual(['data_subject_request.created', 'certificate.issued', 'data_subject_request.completed']);
    });

    it('has no export, and a later access request finds only what a hold kept', async () => {
      expectProblem(seen(await exportOf('dpo', request.id)), 409, 'conflict');
      const again = await file('customerA', { customerId: customerA, kind: 'access', msisdn: PLANTED });
      expect((again.body as SubjectRequestResponse).messageCount).toBe(2);
      const doc = JSON.parse((await exportOf('customerA', (again.body as SubjectRequestResponse).id)).text) as ExportDoc;
      expect(doc.messages.map((m) => m.id).sort()).toEqual([a.heldByNumber.id, a.heldByRange.id].sort());
    });

    it('erasing a number with nothing (left) to erase still completes with an empty certificate', async () => {
      const res = await file('customerB', { customerId: customerB, kind: 'erasure', msisdn: '+447700900123' });
      expect(res.body).toMatchObject({ messageCount: 0, heldCount: 0 });
      const certificate = await em().findOneByOrFail(DeletionCertificate, { id: (res.body as SubjectRequestResponse).certificateId! });
      expect(JSON.parse(certificate.statement)).toMatchObject({ destroyed: [], retainedUnderHold: 0 });
    });
  });

  describe('reading requests', () => {
    it('shows customers their own requests only, and a foreign one as missing', async () => {
      const listA = (await get('customerA', '?limit=200')).body as SubjectRequestPage;
      expect(listA.items.length).toBeGreaterThan(0);
      expect(listA.items.every((r) => r.customerId === customerA)).toBe(true);
      const listB = (await get('customerB', '?limit=200')).body as SubjectRequestPage;
      expect(listB.items.map((r) => r.customerId)).toEqual([customerB]);
      expect(((await get('customerB', `?customerId=${customerA}`)).body as SubjectRequestPage).items).toEqual([]);
      const foreign = expectProblem(await get('customerB', `/${listA.items[0].id}`), 404, 'not-found');
      expect(foreign.detail).toBe(expectProblem(await get('customerB', `/${randomUUID()}`), 404).detail);
      expect((await get('customerA', `/${listA.items[0].id}`)).body).toEqual(listA.items[0]);
    });

    it('lists everything for the DPO and the auditor, newest first, in cursor pages, and nothing for other roles', async () => {
      const all = ((await get('auditor', '?limit=200')).body as SubjectRequestPage).items;
      expect(all.length).toBe(Number((await t.db.superuser<{ n: string }>('SELECT count(*) AS n FROM data_subject_requests'))[0].n));
      expect(new Set(all.map((r) => r.customerId))).toEqual(new Set([customerA, customerB]));
      const paged: SubjectRequestResponse[] = [];
      let cursor: string | null = null;
      do {
        const page = (await get('dpo', `?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).body as SubjectRequestPage;
        paged.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      expect(paged).toEqual(all);
      expect(paged.map((r) => r.requestedAt)).toEqual([...paged.map((r) => r.requestedAt)].sort().reverse());
      const erasures = ((await get('dpo', `?kind=erasure&customerId=${customerA}`)).body as SubjectRequestPage).items;
      expect(erasures.map((r) => r.kind)).toEqual(['erasure']);
      for (const who of ['legal', 'security', 'admin'] as const) expectProblem(await get(who, ''), 403, 'forbidden');
      expectProblem(await get('dpo', '?cursor=bm9wZQ'), 400, 'validation');
    });
  });

  it('never lets the planted number or its hash out: not in answers (exports aside), the audit log or stored requests', async () => {
    const hashes = [customerA, customerB].map((c) => t.app.get(KeyRing).blindIndex(c, PLANTED));
    const forbidden = [PLANTED_DIGITS, ...hashes.flatMap((h) => [h.toString('hex'), h.toString('base64')])];
    expect(answered.length).toBeGreaterThan(20);
    for (const text of answered) for (const f of forbidden) expect(text).not.toContain(f);
    const audit = await t.db.superuser<{ entry: string }>('SELECT row_to_json(a)::text AS entry FROM audit_log a');
    for (const { entry } of audit) for (const f of forbidden) expect(entry).not.toContain(f);
    const requests = await t.db.superuser<{ entry: string }>(`SELECT to_jsonb(r) - 'msisdn_hash' AS entry FROM data_subject_requests r`);
    for (const { entry } of requests) expect(JSON.stringify(entry)).not.toContain(PLANTED_DIGITS);
  });
});

interface ExportDoc {
  request: SubjectRequestResponse;
  messageCount: number;
  messages: { id: string; msisdn: string | null; body: string | null; submittedAt: string; route: unknown[]; notes?: string[] }[];
}

