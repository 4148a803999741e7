import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock';
import { DpasService } from '../src/dpas/dpas.service';
import type { DpaResponse } from '../src/dpas/dto/dpa.dto';
import type { JobRunResponse } from '../src/jobs/dto/job.dto';
import type { MailResponse } from '../src/notifications/dto/mail.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { createCustomer } from './support/fixtures';
import { bearer, countRows, expectProblem, problemFields } from './support/http';
import { startSmtp, TestSmtp } from './support/smtp';

type Status = 'draft' | 'in_review' | 'signed' | 'active' | 'expired' | 'terminated';
const STATUSES: Status[] = ['draft', 'in_review', 'signed', 'active', 'expired', 'terminated'];
const ALLOWED: Record<Status, Status[]> = {
  draft: ['in_review', 'terminated'],
  in_review: ['draft', 'signed', 'terminated'],
  signed: ['active', 'terminated'],
  active: ['expired', 'terminated'],
  expired: [],
  terminated: [],
};
const DAY = 86_400_000;
const unique = (label: string) => `${label}-${randomUUID()}@example.test`;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pdf = (bytes = 2048) => Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(bytes), Buffer.from('\n%%EOF\n')]);
const TERMS = {
  maxRetentionDays: { body: 30, msisdn: 90, delivery_metadata: 365 },
  transferMechanisms: ['adequacy', 'scc'],
  dataCategories: ['body', 'msisdn', 'delivery_metadata'],
  purposes: ['delivery of one-time passwords'],
};

describe('DPAs', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let adminToken: string;
  const tokens = {} as Record<'legal' | 'legal2' | 'dpo' | 'auditor' | 'security' | 'customerA' | 'customerB', string>;
  const emails = {} as Record<'legal' | 'legal2' | 'legalDisabled' | 'dpo', string>;
  let legalId: string;
  let customerA: string;
  let customerB: string;

  const as = (who: keyof typeof tokens) => bearer(tokens[who]);
  const createDpa = async (customerId: string, body: Record<string, unknown> = {}) =>
    (await t.http().post(`/api/v1/customers/${customerId}/dpas`).set(as('legal')).send({ ...TERMS, ...body }).expect(201)).body as DpaResponse;
  const move = (id: string, to: Status, extra: Record<string, unknown> = {}, who: keyof typeof tokens = 'legal') =>
    t.http().post(`/api/v1/dpas/${id}/transitions`).set(as(who)).send({ to, ...extra });
  const upload = (id: string, content: Buffer, query: Record<string, string> = {}) =>
    t.http().put(`/api/v1/dpas/${id}/document`).query(query).set(as('legal')).set('Content-Type', 'application/pdf').send(content);
  const getDpa = async (id: string) => (await t.http().get(`/api/v1/dpas/${id}`).set(as('legal')).expect(200)).body as DpaResponse;

  /** A DPA brought to the given status through the API, the way legal would. */
  async function dpaIn(status: Status, customerId: string, body: Record<string, unknown> = {}): Promise<DpaResponse> {
    const dpa = await createDpa(customerId, body);
    const path: Status[] = { draft: [], in_review: ['in_review'], signed: ['in_review', 'signed'], active: ['in_review', 'signed', 'active'],
      expired: ['in_review', 'signed', 'active', 'expired'], terminated: ['terminated'] }[status] as Status[];
    for (const to of path) {
      if (to === 'signed') await upload(dpa.id, pdf()).expect(200);
      await move(dpa.id, to, to === 'signed' ? { signedByName: 'Sam Signer' } : {}).expect(200);
    }
    return getDpa(dpa.id);
  }

  async function auditOf(id: string): Promise<AuditEntryResponse[]> {
    const res = await t.http().get('/api/v1/audit').query({ subjectType: 'Dpa', subjectId: id, limit: 200 }).set(as('auditor')).expect(200);
    return (res.body as { items: AuditEntryResponse[] }).items.slice().reverse();
  }

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: 'https://custodian.example' });
    adminToken = await login(t, ADMIN.email, ADMIN.password);
    for (const role of ['legal', 'legal2', 'dpo', 'auditor', 'security'] as const) {
      const email = unique(role);
      const user = await createUser(t, adminToken, { email, role: role === 'legal2' ? 'legal' : role });
      tokens[role] = user.token;
      if (role === 'legal') legalId = user.id;
      if (role !== 'auditor' && role !== 'security') emails[role] = email;
    }
    emails.legalDisabled = unique('legal-disabled');
    const disabled = await createUser(t, adminToken, { email: emails.legalDisabled, role: 'legal' });
    await t.http().patch(`/api/v1/users/${disabled.id}`).set(bearer(adminToken)).send({ disabled: true }).expect(200);
    customerA = (await createCustomer(t, tokens.legal, { legalName: 'Alpha Messaging AG' })).id;
    customerB = (await createCustomer(t, tokens.legal, { legalName: 'Bravo Retail SA' })).id;
    tokens.customerA = (await createUser(t, adminToken, { email: unique('cust-a'), role: 'customer', customerId: customerA })).token;
    tokens.customerB = (await createUser(t, adminToken, { email: unique('cust-b'), role: 'customer', customerId: customerB })).token;
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });
  afterEach(() => jest.restoreAllMocks());

  describe('create and edit', () => {
    it('creates numbered draft versions with the default terms, and audits them', async () => {
      const customer = (await createCustomer(t, tokens.legal)).id;
      const v1 = await createDpa(customer);
      expect(v1).toMatchObject({
        customerId: customer, version: 1, status: 'draft', breachNoticeHours: 24, objectionWindowDays: 30, authorisation: 'general',
        ...TERMS, expiresAt: null, signedByName: null, signedAt: null, signatureRecordedBy: null, activatedAt: null, endedAt: null, document: null,
      });
      const v2 = await createDpa(customer, { breachNoticeHours: 48, objectionWindowDays: 14, authorisation: 'specific', expiresAt: '2031-01-01T00:00:00Z' });
      expect(v2).toMatchObject({ version: 2, status: 'draft', breachNoticeHours: 48, objectionWindowDays: 14, authorisation: 'specific', expiresAt: '2031-01-01T00:00:00.000Z' });

      const list = await t.http().get(`/api/v1/customers/${customer}/dpas`).set(as('dpo')).expect(200);
      expect(list.body).toEqual({ items: [v2, v1], nextCursor: null });
      const page1 = await t.http().get(`/api/v1/customers/${customer}/dpas`).query({ limit: 1 }).set(as('auditor')).expect(200);
      expect((page1.body as { items: DpaResponse[] }).items).toEqual([v2]);
      const page2 = await t.http().get(`/api/v1/customers/${customer}/dpas`).query({ limit: 1, cursor: (page1.body as { nextCursor: string }).nextCursor }).set(as('auditor')).expect(200);
      expect(page2.body).toEqual({ items: [v1], nextCursor: null });
      // A cursor this service could not have issued: a version beyond PostgreSQL's integer (found by the fuzzer as a 500), zero, a fraction.
      for (const forged of [9_007_199_254_740_991, 2_147_483_648, 0, 1.5]) {
        const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');
        expectProblem(await t.http().get(`/api/v1/customers/${customer}/dpas`).query({ cursor }).set(as('auditor')), 400);
      }

      const [entry] = await auditOf(v1.id);
      expect(entry).toMatchObject({ action: 'dpa.created', actorId: legalId });
      // Retention is recorded in a shape the log's redaction (of any field named "body") leaves readable.
      expect(entry.changes).toMatchObject({ version: 1, maxRetentionDays: [{ category: 'body', days: 30 }, { category: 'msisdn', days: 90 }, { category: 'delivery_metadata', days: 365 }] });
    });

    it('numbers versions without gaps or duplicates when created concurrently', async () => {
      const customer = (await createCustomer(t, tokens.legal)).id;
      const made = await Promise.all(Array.from({ length: 5 }, () => createDpa(customer)));
      expect(made.map((d) => d.version).sort()).toEqual([1, 2, 3, 4, 5]);
    });

    it.each([
      ['no retention', { maxRetentionDays: undefined }, ['maxRetentionDays']],
      ['a retention for a category missing', { maxRetentionDays: { body: 30, msisdn: 90 } }, ['maxRetentionDays.delivery_metadata']],
      ['a zero retention', { maxRetentionDays: { body: 0, msisdn: 90, delivery_metadata: 365 } }, ['maxRetentionDays.body']],
      ['an unknown retention category', { maxRetentionDays: { ...TERMS.maxRetentionDays, photos: 3 } }, ['maxRetentionDays.photos']],
      ['an unknown data category', { dataCategories: ['body', 'location'] }, ['dataCategories']],
      ['no data categories', { dataCategories: [] }, ['dataCategories']],
      ['an unknown transfer mechanism', { transferMechanisms: ['handshake'] }, ['transferMechanisms']],
      ['no purposes', { purposes: [] }, ['purposes']],
      ['a blank purpose', { purposes: ['  '] }, ['purposes']],
      ['breach notice of 0 hours', { breachNoticeHours: 0 }, ['breachNoticeHours']],
      ['a fractional objection window', { objectionWindowDays: 2.5 }, ['objectionWindowDays']],
      ['an unknown authorisation', { authorisation: 'implicit' }, ['authorisation']],
      ['an expiry that is not a date', { expiresAt: 'next year' }, ['expiresAt']],
      ['a status', { status: 'active' }, ['status']],
      ['a version', { version: 7 }, ['version']],
    ])('refuses %s with 400 naming the field, and creates nothing', async (_, override, fields) => {
      const before = await countRows(t, 'dpas');
      const res = await t.http().post(`/api/v1/customers/${customerA}/dpas`).set(as('legal')).send({ ...TERMS, ...override });
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toEqual(expect.arrayContaining(fields));
      expect(await countRows(t, 'dpas')).toBe(before);
    });

    it('answers 404 for a customer that does not exist, and 403 to roles that may not create', async () => {
      expectProblem(await t.http().post(`/api/v1/customers/${randomUUID()}/dpas`).set(as('legal')).send(TERMS), 404, 'not-found');
      expectProblem(await t.http().get(`/api/v1/customers/${randomUUID()}/dpas`).set(as('legal')), 404, 'not-found');
      for (const who of ['dpo', 'auditor', 'security', 'customerA'] as const) {
        expectProblem(await t.http().post(`/api/v1/customers/${customerA}/dpas`).set(as(who)).send(TERMS), 403, 'forbidden');
      }
    });

    it('edits terms in draft and in review, refuses nulls, and refuses any edit once signed (409), audited', async () => {
      const dpa = await createDpa(customerA);
      const edited = await t.http().patch(`/api/v1/dpas/${dpa.id}`).set(as('legal')).send({ breachNoticeHours: 12, purposes: ['OTP delivery', 'fraud prevention'] }).expect(200);
      expect(edited.body).toMatchObject({ breachNoticeHours: 12, purposes: ['OTP delivery', 'fraud prevention'], objectionWindowDays: 30 });
      await move(dpa.id, 'in_review').expect(200);
      await t.http().patch(`/api/v1/dpas/${dpa.id}`).set(as('legal')).send({ expiresAt: '2032-06-30T00:00:00Z' }).expect(200);
      const cleared = await t.http().patch(`/api/v1/dpas/${dpa.id}`).set(as('legal')).send({ expiresAt: null }).expect(200);
      expect((cleared.body as DpaResponse).expiresAt).toBeNull();
      for (const body of [{ breachNoticeHours: null }, { purposes: null }, { status: 'active' }]) {
        expectProblem(await t.http().patch(`/api/v1/dpas/${dpa.id}`).set(as('legal')).send(body), 400, 'validation');
      }

      await upload(dpa.id, pdf()).expect(200);
      await move(dpa.id, 'signed', { signedByName: 'Sam Signer' }).expect(200);
      const before = await getDpa(dpa.id);
      const refused = expectProblem(await t.http().patch(`/api/v1/dpas/${dpa.id}`).set(as('legal')).send({ breachNoticeHours: 72 }), 409, 'conflict');
      expect(refused.status).toBe(409);
      expect(await getDpa(dpa.id)).toEqual(before);

      const trail = await auditOf(dpa.id);
      expect(trail.map((e) => e.action)).toEqual(['dpa.created', 'dpa.updated', 'dpa.submitted_for_review', 'dpa.updated', 'dpa.updated', 'dpa.document_uploaded', 'dpa.signed']);
      expect(trail[1].changes).toMatchObject({ breachNoticeHours: { from: 24, to: 12 } });
    });

    it('lets only legal edit or move a DPA (403 for the others)', async () => {
      const dpa = await createDpa(customerA);
      for (const who of ['dpo', 'auditor', 'security', 'customerA'] as const) {
        expectProblem(await t.http().patch(`/api/v1/dpas/${dpa.id}`).set(as(who)).send({ breachNoticeHours: 1 }), 403, 'forbidden');
        expectProblem(await move(dpa.id, 'in_review', {}, who), 403, 'forbidden');
        expectProblem(await t.http().put(`/api/v1/dpas/${dpa.id}/document`).set(as(who)).set('Content-Type', 'application/pdf').send(pdf()), 403, 'forbidden');
      }
      expect(await getDpa(dpa.id)).toEqual(dpa);
    });
  });

  describe('lifecycle', () => {
    it('refuses every transition outside the lifecycle with 409 naming the allowed ones, and changes nothing', async () => {
      const customer = (await createCustomer(t, tokens.legal)).id;
      for (const from of STATUSES) {
        const dpa = await dpaIn(from, customer);
        expect(dpa.status).toBe(from);
        const audit = await countRows(t, 'audit_log');
        for (const to of STATUSES.filter((s) => !ALLOWED[from].includes(s))) {
          const body = expectProblem(await move(dpa.id, to, to === 'signed' ? { signedByName: 'Sam Signer' } : {}), 409, 'invalid-transition');
          expect({ from, to, body: { from: body.from, to: body.to, allowed: body.allowed } }).toEqual({ from, to, body: { from, to, allowed: ALLOWED[from] } });
          expect(body.detail).toContain(ALLOWED[from].length ? ALLOWED[from].join(', ') : 'none');
        }
        expect(await getDpa(dpa.id)).toEqual(dpa);
        expect(await countRows(t, 'audit_log')).toBe(audit);
      }
    });

    it('goes back from review to draft, and can be abandoned before it is in force', async () => {
      const customer = (await createCustomer(t, tokens.legal)).id;
      const dpa = await dpaIn('in_review', customer);
      expect(((await move(dpa.id, 'draft').expect(200)).body as DpaResponse).status).toBe('draft');
      const signed = await dpaIn('signed', customer);
      const terminated = (await move(signed.id, 'terminated').expect(200)).body as DpaResponse;
      expect(terminated).toMatchObject({ status: 'terminated', activatedAt: null });
      expect(terminated.endedAt).not.toBeNull();
    });

    it('records who signed and when only with the signed document uploaded', async () => {
      const dpa = await dpaIn('in_review', customerA);
      expectProblem(await move(dpa.id, 'signed', { signedByName: 'Sam Signer' }), 409, 'conflict');
      await upload(dpa.id, pdf()).expect(200);
      const missing = await move(dpa.id, 'signed');
      expectProblem(missing, 400, 'validation');
      expect(problemFields(missing)).toEqual(['signedByName']);
      const future = await move(dpa.id, 'signed', { signedByName: 'Sam Signer', signedAt: new Date(Date.now() + DAY).toISOString() });
      expectProblem(future, 400, 'validation');
      expect(problemFields(future)).toEqual(['signedAt']);
      expect((await getDpa(dpa.id)).status).toBe('in_review');

      const signed = (await move(dpa.id, 'signed', { signedByName: 'Sam Signer', signedAt: '2026-01-15T10:00:00Z' }).expect(200)).body as DpaResponse;
      expect(signed).toMatchObject({ status: 'signed', signedByName: 'Sam Signer', signedAt: '2026-01-15T10:00:00.000Z', signatureRecordedBy: legalId });
      // The signature fields belong to the move to signed only.
      const other = await move(dpa.id, 'active', { signedByName: 'Someone Else' });
      expectProblem(other, 400, 'validation');
      expect(problemFields(other)).toEqual(['signedByName']);
      const trail = await auditOf(dpa.id);
      expect(trail.at(-1)).toMatchObject({ action: 'dpa.signed', actorId: legalId, changes: { status: { from: 'in_review', to: 'signed' }, signatureRecordedBy: legalId, documentSha256: signed.document!.sha256 } });
    });

    it('activates a version and expires the one it supersedes in the same step: one active per customer', async () => {
      const customer = (await createCustomer(t, tokens.legal)).id;
      const v1 = await dpaIn('active', customer);
      expect(v1.activatedAt).not.toBeNull();
      expect(v1.endedAt).toBeNull();
      const v2 = await dpaIn('signed', customer);
      const activated = (await move(v2.id, 'active').expect(200)).body as DpaResponse;
      expect(activated).toMatchObject({ status: 'active', endedAt: null });

      const old = await getDpa(v1.id);
      expect(old.status).toBe('expired');
      expect(old.endedAt).toBe(activated.activatedAt);
      const active = await t.db.superuser<{ id: string }>(`SELECT id FROM dpas WHERE customer_id = $1 AND status = 'active'`, [customer]);
      expect(active).toEqual([{ id: v2.id }]);
      expect((await auditOf(v1.id)).at(-1)).toMatchObject({ action: 'dpa.expired', actorId: legalId, changes: { status: { from: 'active', to: 'expired' }, supersededBy: v2.id } });
      expect((await auditOf(v2.id)).at(-1)).toMatchObject({ action: 'dpa.activated', changes: { supersedes: v1.id } });

      // An older signed version cannot push the newer active one out.
      const customer2 = (await createCustomer(t, tokens.legal)).id;
      const older = await dpaIn('signed', customer2);
      const newer = await dpaIn('active', customer2);
      expectProblem(await move(older.id, 'active'), 409, 'conflict');
      expect((await getDpa(newer.id)).status).toBe('active');

      // The terms in force, as other modules read them.
      const agreements = await t.app.get(DpasService).activeAgreements(t.app.get(DataSource).manager, new Date(), customer);
      expect(agreements.map((a) => a.dpa.id)).toEqual([v2.id]);
    });

    it('keeps one active version when two are activated at the same time', async () => {
      const customer = (await createCustomer(t, tokens.legal)).id;
      const [x, y] = [await dpaIn('signed', customer), await dpaIn('signed', customer)];
      const results = await Promise.all([move(x.id, 'active'), move(y.id, 'active')]);
      // Either both succeed in turn (the later one superseding), or the older version loses with a 409: never a 500, never two active.
      for (const r of results) expect([200, 409]).toContain(r.status);
      expect(results[1].status).toBe(200);
      const active = await t.db.superuser<{ id: string }>(`SELECT id FROM dpas WHERE customer_id = $1 AND status = 'active'`, [customer]);
      expect(active).toEqual([{ id: y.id }]);
    });

    it('refuses to activate an agreement whose expiry has passed', async () => {
      const dpa = await dpaIn('signed', (await createCustomer(t, tokens.legal)).id, { expiresAt: new Date(Date.now() + DAY).toISOString() });
      jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(Date.now() + 2 * DAY));
      expectProblem(await move(dpa.id, 'active'), 409, 'conflict');
      jest.restoreAllMocks();
      expect((await move(dpa.id, 'active').expect(200)).body).toMatchObject({ status: 'active' });
    });
  });

  describe('document', () => {
    it('stores the PDF with its SHA-256 and serves it back byte for byte with the checksum', async () => {
      const dpa = await createDpa(customerA);
      const content = pdf(2 * 1024 * 1024); // beyond the 1 MB JSON limit
      const res = await upload(dpa.id, content, { filename: 'Alpha DPA v1.pdf' }).expect(200);
      expect((res.body as DpaResponse).document).toEqual({ sha256: sha256(content), size: content.length, name: 'Alpha DPA v1.pdf' });

      const got = await t.http().get(`/api/v1/dpas/${dpa.id}/document`).set(as('dpo')).buffer(true).parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      }).expect(200);
      expect(got.headers['content-type']).toMatch(/^application\/pdf/);
      expect(got.headers['x-content-sha256']).toBe(sha256(content));
      expect(got.headers['content-disposition']).toContain('filename="Alpha DPA v1.pdf"');
      expect(Buffer.compare(got.body as Buffer, content)).toBe(0);

      const [entry] = (await auditOf(dpa.id)).filter((e) => e.action === 'dpa.document_uploaded');
      expect(entry.changes).toMatchObject({ sha256: sha256(content), size: content.length, name: 'Alpha DPA v1.pdf' });
    });

    it('takes the name from Content-Disposition, and replaces the document while still a draft', async () => {
      const dpa = await createDpa(customerA);
      await upload(dpa.id, pdf()).expect(200);
      const second = pdf();
      const res = await t.http().put(`/api/v1/dpas/${dpa.id}/document`).set(as('legal')).set('Content-Type', 'application/pdf')
        .set('Content-Disposition', 'attachment; filename="../../etc/signed.pdf"').send(second).expect(200);
      expect((res.body as DpaResponse).document).toEqual({ sha256: sha256(second), size: second.length, name: 'signed.pdf' });
      const [row] = await t.db.superuser<{ n: string }>('SELECT count(*)::text AS n FROM dpa_documents WHERE dpa_id = $1', [dpa.id]);
      expect(row.n).toBe('1');
    });

    it.each([
      ['text/plain', 'plain text', 415],
      ['application/json', '{"pdf":true}', 415],
      ['application/octet-stream', '%PDF-1.7 but labelled as octets', 415],
      ['application/pdf', 'GIF89a not a pdf at all', 415],
    ])('refuses a %s body that is not a PDF document (%#) and stores nothing', async (type, body, status) => {
      const dpa = await createDpa(customerA);
      const res = await t.http().put(`/api/v1/dpas/${dpa.id}/document`).set(as('legal')).set('Content-Type', type).send(body);
      expectProblem(res, status, 'unsupported-media-type');
      expect((await getDpa(dpa.id)).document).toBeNull();
    });

    it('refuses a document over 10 MB with 413 problem+json', async () => {
      const dpa = await createDpa(customerA);
      const res = await upload(dpa.id, pdf(10 * 1024 * 1024));
      expectProblem(res, 413, 'payload-too-large');
      expect((await getDpa(dpa.id)).document).toBeNull();
    });

    it('refuses to replace the document once signed (409), and answers 404 when there is none', async () => {
      const dpa = await dpaIn('signed', customerA);
      expectProblem(await upload(dpa.id, pdf()), 409, 'conflict');
      expectProblem(await t.http().get(`/api/v1/dpas/${(await createDpa(customerA)).id}/document`).set(as('legal')), 404, 'not-found');
    });

    it('refuses to serve a stored document that no longer matches its checksum, and records the failure', async () => {
      const dpa = await createDpa(customerA);
      const content = pdf();
      await upload(dpa.id, content).expect(200);
      const tampered = Buffer.from(content);
      tampered[100] ^= 0xff;
      await t.db.superuser('UPDATE dpa_documents SET content = $1 WHERE dpa_id = $2', [tampered, dpa.id]);

      const res = await t.http().get(`/api/v1/dpas/${dpa.id}/document`).set(as('legal'));
      const problem = expectProblem(res, 500, 'integrity');
      expect(res.headers['x-content-sha256']).toBeUndefined();
      expect(JSON.stringify(problem)).not.toContain('%PDF');
      expect((await auditOf(dpa.id)).at(-1)).toMatchObject({ action: 'dpa.document_integrity_failed', changes: { expected: sha256(content), actual: sha256(tampered) } });

      // Restored, it is served again.
      await t.db.superuser('UPDATE dpa_documents SET content = $1 WHERE dpa_id = $2', [content, dpa.id]);
      await t.http().get(`/api/v1/dpas/${dpa.id}/document`).set(as('legal')).expect(200);
      await t.db.superuser('DELETE FROM dpa_documents WHERE dpa_id = $1', [dpa.id]);
      expectProblem(await t.http().get(`/api/v1/dpas/${dpa.id}/document`).set(as('legal')), 500, 'integrity');
    });
  });

  describe('customer isolation', () => {
    it('shows a customer user its own DPAs and document, and nothing of another customer', async () => {
      const mine = await dpaIn('active', customerA);
      const theirs = await dpaIn('active', customerB);

      const list = (await t.http().get(`/api/v1/customers/${customerA}/dpas`).query({ limit: 200 }).set(as('customerA')).expect(200)).body as { items: DpaResponse[] };
      expect(list.items.length).toBeGreaterThan(0);
      expect(list.items.every((d) => d.customerId === customerA)).toBe(true);
      expect(list.items.map((d) => d.id)).toContain(mine.id);
      expect((await t.http().get(`/api/v1/dpas/${mine.id}`).set(as('customerA')).expect(200)).body).toEqual(mine);
      await t.http().get(`/api/v1/dpas/${mine.id}/document`).set(as('customerA')).expect(200);

      const same = (res: Response) => {
        const body = expectProblem(res, 404, 'not-found');
        return { type: body.type, title: body.title, detail: body.detail };
      };
      const missingDpa = same(await t.http().get(`/api/v1/dpas/${randomUUID()}`).set(as('customerA')));
      expect(same(await t.http().get(`/api/v1/dpas/${theirs.id}`).set(as('customerA')))).toEqual(missingDpa);
      expect(same(await t.http().get(`/api/v1/dpas/${theirs.id}/document`).set(as('customerA')))).toEqual(same(await t.http().get(`/api/v1/dpas/${randomUUID()}/document`).set(as('customerA'))));
      const missingCustomer = same(await t.http().get(`/api/v1/customers/${randomUUID()}/dpas`).set(as('customerA')));
      expect(same(await t.http().get(`/api/v1/customers/${customerB}/dpas`).set(as('customerA')))).toEqual(missingCustomer);

      // And the other way round.
      expectProblem(await t.http().get(`/api/v1/dpas/${mine.id}`).set(as('customerB')), 404, 'not-found');
      expectProblem(await t.http().get(`/api/v1/dpas/${mine.id}/document`).set(as('customerB')), 404, 'not-found');
    });
  });

  describe('expiry reminders', () => {
    const runJob = async (at: Date) => {
      jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(at);
      const res = await t.http().post('/api/v1/jobs/dpa-expiry-reminders/run').set(as('dpo')).expect(200);
      jest.restoreAllMocks();
      const run = res.body as JobRunResponse;
      expect(run).toMatchObject({ job: 'dpa-expiry-reminders', outcome: 'succeeded' });
      return run.counts;
    };
    const queued = async () => ((await t.http().get('/api/v1/notifications').query({ template: 'dpa-expiry-reminder', limit: 200 }).set(as('dpo')).expect(200)).body as { items: MailResponse[] }).items;

    it('mails every enabled legal user once at 60, 30 and 7 days before an active DPA expires', async () => {
      const customer = await createCustomer(t, tokens.legal, { legalName: 'Reminder Telecom Oy' });
      const expiresAt = new Date(Math.ceil((Date.now() + 200 * DAY) / DAY) * DAY);
      const dpa = await dpaIn('active', customer.id, { expiresAt: expiresAt.toISOString() });
      // A draft and an expired agreement with the same date get nothing.
      await dpaIn('draft', customer.id, { expiresAt: expiresAt.toISOString() });
      const before = (d: number) => new Date(expiresAt.getTime() - d * DAY);
      const mailsFor = () => smtp.received.filter((m) => m.text.includes(dpa.id));

      expect(await runJob(before(61))).toMatchObject({ remindersSent: 0 });
      expect(await queued()).toHaveLength(0);

      const steps: [number, number | null][] = [[60, 60], [59.5, null], [45, null], [30, 30], [30, null], [20, null], [7, 7], [6, null], [1, null]];
      let expected = 0;
      for (const [days, threshold] of steps) {
        const counts = await runJob(before(days));
        expect({ days, sent: counts.remindersSent }).toEqual({ days, sent: threshold === null ? 0 : 1 });
        if (threshold !== null) expected++;
        expect(await queued()).toHaveLength(expected);
      }
      for (const deadline = Date.now() + 15_000; mailsFor().length < 3 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
      const mails = mailsFor().sort((x, y) => parseInt(y.subject.replace(/\D/g, ''), 10) - parseInt(x.subject.replace(/\D/g, ''), 10));
      expect(mails.map((m) => m.subject)).toEqual(['DPA expiry: 60 days', 'DPA expiry: 30 days', 'DPA expiry: 7 days']);
      for (const mail of mails) {
        expect(mail.to.sort()).toEqual([emails.legal, emails.legal2].sort());
        expect(mail.subject).not.toContain('Reminder Telecom');
        expect(mail.text).toContain('Reminder Telecom Oy');
        expect(mail.text).toContain(expiresAt.toISOString().slice(0, 10));
        expect(mail.text).toContain(`https://custodian.example/api/v1/dpas/${dpa.id}`);
        expect(mail.html).toContain('Reminder Telecom Oy');
      }
      expect(mails[1].text).toContain('in 30 days');

      const keys = await t.db.superuser<{ key: string }>('SELECT key FROM sent_reminders WHERE key LIKE $1 ORDER BY key', [`dpa-expiry:${dpa.id}:%`]);
      expect(keys.map((k) => k.key).sort()).toEqual([30, 60, 7].map((d) => `dpa-expiry:${dpa.id}:${d}`).sort());
      const trail = (await auditOf(dpa.id)).filter((e) => e.action === 'dpa.expiry_reminder_sent');
      expect(trail.map((e) => e.changes.threshold)).toEqual([60, 30, 7]);
      expect(trail.every((e) => e.actorType === 'system')).toBe(true);
    });

    it('sends only the most urgent reminder when earlier ones were missed, and none for agreements not in force', async () => {
      const customer = await createCustomer(t, tokens.legal);
      const expiresAt = new Date(Date.now() + 300 * DAY);
      const late = await dpaIn('active', customer.id, { expiresAt: expiresAt.toISOString() });
      const ended = await dpaIn('signed', (await createCustomer(t, tokens.legal)).id, { expiresAt: expiresAt.toISOString() });
      await move(ended.id, 'terminated').expect(200);
      const sent = await queued();
      const counts = await runJob(new Date(expiresAt.getTime() - 10 * DAY));
      expect(counts.remindersSent).toBe(1);
      const fresh = (await queued()).filter((m) => !sent.some((s) => s.id === m.id));
      expect(fresh.map((m) => [m.subject, m.about?.id])).toEqual([['DPA expiry: 30 days', late.id]]);
      expect(fresh[0].customerId).toBeNull(); // internal mail: not shown to the customer's users
      expect(await runJob(new Date(expiresAt.getTime() - 9 * DAY))).toMatchObject({ remindersSent: 0 });
    });

    it('marks an active DPA expired once its end date has passed, and takes it out of force from that moment', async () => {
      const customer = await createCustomer(t, tokens.legal);
      const expiresAt = new Date(Math.ceil((Date.now() + 400 * DAY) / DAY) * DAY);
      const dpa = await dpaIn('active', customer.id, { expiresAt: expiresAt.toISOString() });
      const expire = async (at: Date) => {
        jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(at);
        const res = await t.http().post('/api/v1/jobs/dpa-expiry/run').set(as('dpo')).expect(200);
        jest.restoreAllMocks();
        return (res.body as JobRunResponse).counts;
      };
      // Other tests' agreements in this database expire earlier: look at this one.
      await expire(new Date(expiresAt.getTime() - 1000));
      expect((await t.http().get(`/api/v1/dpas/${dpa.id}`).set(as('legal')).expect(200)).body).toMatchObject({ status: 'active' });
      expect(await expire(new Date(expiresAt.getTime() + 1000))).toMatchObject({ dpasExpired: 1 });
      expect((await t.http().get(`/api/v1/dpas/${dpa.id}`).set(as('legal')).expect(200)).body).toMatchObject({ status: 'expired', endedAt: expiresAt.toISOString() });
      expect(await expire(new Date(expiresAt.getTime() + 2000))).toMatchObject({ dpasExpired: 0 });
      expect((await auditOf(dpa.id)).filter((e) => e.action === 'dpa.expired').map((e) => e.actorType)).toEqual(['system']);
    });
  });

  it('keeps the audit chain intact', async () => {
    expect((await t.http().get('/api/v1/audit/verify').set(as('auditor')).expect(200)).body).toMatchObject({ ok: true });
  });
});
