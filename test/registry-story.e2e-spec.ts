import { createHash } from 'node:crypto';
import { type Element, xml2js } from 'xml-js';
import type { AuditVerifyResponse } from '../src/audit/audit.dto';
import type { ChangeNoticePage, ChangeNoticeResponse, ObjectionPage, ObjectionResponse } from '../src/change-notices/dto/change-notice.dto';
import { Clock } from '../src/common/clock';
import type { CustomerResponse } from '../src/customers/dto/customer.dto';
import type { DpaResponse } from '../src/dpas/dto/dpa.dto';
import type { JobRunResponse } from '../src/jobs/dto/job.dto';
import type { PublicSubprocessorList } from '../src/public/dto/public-subprocessor.dto';
import type { AuthorisedSubprocessorsResponse, SubprocessorResponse } from '../src/subprocessors/dto/subprocessor.dto';
import { ADMIN, createUser, login, startTestApp, type TestApp } from './support/app';
import { bearer, expectProblem } from './support/http';
import { type ReceivedMail, startSmtp, type TestSmtp } from './support/smtp';

/*
 * The whole registry story of issue 3, on real Postgres, with a real SMTP server receiving the
 * mail, strictly through the HTTP API — each step done by the person who does it in real life:
 *
 *   admin creates the users; legal records three customers and brings a DPA for each to `active`;
 *   the DPO registers a German carrier and announces it (GDPR Art. 28(2)); only the customers whose
 *   traffic it carries are mailed; one objects in time, one too late; when the date comes the job
 *   makes the change effective and the carrier is authorised for exactly the customers that neither
 *   objected nor lie outside its countries; the public page, JSON and feed show it, and nothing
 *   about any customer; the audit chain still verifies.
 *
 * Time is the app's Clock, moved forward step by step; everything else is real.
 */

const BASE = 'https://custodian.example.test';
const DAY = 86_400_000;
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const day = (n: number) => new Date(T0.getTime() + n * DAY);
const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const humanDate = (d: Date) => new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(d);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** A small but valid PDF, as legal would upload the scanned, signed agreement. */
const signedPdf = (label: string) => Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n' +
  `3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n% signed DPA of ${label}\n` +
  'trailer << /Root 1 0 R >>\n%%EOF\n',
);

type Brand = 'a' | 'b' | 'c';

interface BrandSpec {
  legalName: string;
  country: string;
  dpoContact: { name: string; email: string };
  breachNotificationEmails: string[];
  destinationCountries: string[];
  dataProfile: { messageKinds: string[]; specialCategoryData: boolean };
  dpa: Record<string, unknown>;
}

const TERMS = {
  maxRetentionDays: { body: 30, msisdn: 90, delivery_metadata: 365 },
  dataCategories: ['body', 'msisdn', 'delivery_metadata'],
  purposes: ['Delivery of one-time passwords and transactional SMS'],
};

const BRANDS: Record<Brand, BrandSpec> = {
  // Sends to Germany and France; the longest objection window of the affected customers.
  a: {
    legalName: 'Alpha Messaging AG', country: 'DE',
    dpoContact: { name: 'Anna Aufsicht', email: 'privacy@alpha-messaging.test' },
    breachNotificationEmails: ['soc@alpha-messaging.test', 'legal-breach@alpha-messaging.test'],
    destinationCountries: ['DE', 'FR'],
    dataProfile: { messageKinds: ['otp', 'transactional'], specialCategoryData: false },
    dpa: { ...TERMS, authorisation: 'general', objectionWindowDays: 30, transferMechanisms: ['adequacy', 'scc', 'none'] },
  },
  // Sends to Germany only; a shorter window.
  b: {
    legalName: 'Bravo Retail GmbH', country: 'AT',
    dpoContact: { name: 'Bernd Datenschutz', email: 'dpo@bravo-retail.test' },
    breachNotificationEmails: ['incidents@bravo-retail.test'],
    destinationCountries: ['DE'],
    dataProfile: { messageKinds: ['marketing', 'transactional'], specialCategoryData: false },
    dpa: { ...TERMS, authorisation: 'general', objectionWindowDays: 14, transferMechanisms: ['none', 'scc'] },
  },
  // Sends to the United States only: a German carrier is none of its business. Its window is the
  // longest of all, so counting it by mistake would show in the effective date.
  c: {
    legalName: 'Charlie Commerce Inc.', country: 'US',
    dpoContact: { name: 'Carla Compliance', email: 'privacy@charlie-commerce.test' },
    breachNotificationEmails: ['security@charlie-commerce.test'],
    destinationCountries: ['US'],
    dataProfile: { messageKinds: ['otp'], specialCategoryData: false },
    dpa: { ...TERMS, authorisation: 'general', objectionWindowDays: 60, transferMechanisms: ['scc'] },
  },
};

const addressesOf = (b: Brand) => [BRANDS[b].dpoContact.email, ...BRANDS[b].breachNotificationEmails];
/** Anything that identifies a customer: none of it may reach a public page, a subject line, or another customer. */
const customerIdentifiers = (b: Brand) => [BRANDS[b].legalName, BRANDS[b].dpoContact.name, ...addressesOf(b)];
const ALL_CUSTOMER_IDENTIFIERS = (['a', 'b', 'c'] as const).flatMap(customerIdentifiers);

const CARRIER = {
  legalEntity: 'Nordfunk Mobil GmbH',
  // Non-public fields, which must never appear on the public page, JSON or feed.
  parentCompany: 'Nordfunk Beteiligungs SE',
  country: 'DE',
  role: 'mobile_operator',
  services: ['SMS termination on the Nordfunk network'],
  purpose: 'Delivering SMS to subscribers of German mobile networks',
  dataCategories: ['msisdn', 'body', 'delivery_metadata'],
  carriesCountries: ['DE'],
  // Germany is in the EU: no transfer, no safeguard needed.
  transferMechanism: 'none',
  certifications: [{ name: 'ISO/IEC 27001', expiresAt: isoDay(day(700)) }],
  lastSecurityReview: isoDay(day(-20)),
};
const NOTICE_REASON = 'Direct connection to German networks for faster one-time passwords';
const OBJECTION_REASON = 'Our works council has not approved Nordfunk as a processor';

/** Waits until the condition holds (mail is sent after the commit), then a little longer so a stray extra mail would show. */
async function until(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500));
}

/** The children of an xml-js element with the given name, and the text inside one. */
const children = (el: Element | undefined, name: string): Element[] => (el?.elements ?? []).filter((e) => e.type === 'element' && e.name === name);
const textOf = (el: Element | undefined): string => (el?.elements ?? []).map((e) => (e.type === 'text' || e.type === 'cdata' ? String(e.text ?? e.cdata) : '')).join('');

describe('the registry story: customers, DPAs, a new carrier, objections, authorisation and the public list', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now = T0;
  const tokens: Record<string, string> = {};
  const customers = {} as Record<Brand, CustomerResponse>;
  const dpas = {} as Record<Brand, DpaResponse>;
  let carrier: SubprocessorResponse;
  let notice: ChangeNoticeResponse;
  let objection: ObjectionResponse;
  const emails = { dpo: 'dpo@custodian-provider.test', legal: 'legal@custodian-provider.test' };

  const as = (who: string) => bearer(tokens[who]);
  const setNow = (d: Date) => { now = d; };
  const noticeMails = (): ReceivedMail[] => smtp.received.filter((m) => m.headers.get('x-custodian-mail') === 'change-notice');
  const authorised = async (b: Brand, who: string, at?: Date) => {
    const req = t.http().get(`/api/v1/customers/${customers[b].id}/authorised-subprocessors`).set(as(who));
    if (at) req.query({ at: at.toISOString() });
    return (await req.expect(200)).body as AuthorisedSubprocessorsResponse;
  };

  beforeAll(async () => {
    smtp = await startSmtp();
    // The cron ticks stay off: the DPO runs the job on demand, at the moment the test chooses.
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: BASE });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('1. the admin creates the legal and DPO users', async () => {
    tokens.admin = await login(t, ADMIN.email, ADMIN.password);
    tokens.legal = (await createUser(t, tokens.admin, { email: emails.legal, role: 'legal' })).token;
    tokens.dpo = (await createUser(t, tokens.admin, { email: emails.dpo, role: 'dpo' })).token;
  });

  it('2. legal records three customers, each with a DPA uploaded, signed and brought into force', async () => {
    for (const b of ['a', 'b', 'c'] as const) {
      const { dpa: terms, ...customer } = BRANDS[b];
      const created = await t.http().post('/api/v1/customers').set(as('legal')).send(customer).expect(201);
      customers[b] = created.body as CustomerResponse;
      expect(customers[b]).toMatchObject(customer);

      const draft = (await t.http().post(`/api/v1/customers/${customers[b].id}/dpas`).set(as('legal')).send(terms).expect(201)).body as DpaResponse;
      expect(draft).toMatchObject({ customerId: customers[b].id, version: 1, status: 'draft', objectionWindowDays: terms.objectionWindowDays, authorisation: 'general' });
      await t.http().post(`/api/v1/dpas/${draft.id}/transitions`).set(as('legal')).send({ to: 'in_review' }).expect(200);

      const pdf = signedPdf(customer.legalName);
      const uploaded = await t.http().put(`/api/v1/dpas/${draft.id}/document`).query({ filename: `dpa-${b}-v1.pdf` })
        .set(as('legal')).set('Content-Type', 'application/pdf').send(pdf).expect(200);
      expect((uploaded.body as DpaResponse).document).toEqual({ sha256: sha256(pdf), size: pdf.length, name: `dpa-${b}-v1.pdf` });

      const signedAt = new Date(now.getTime() - 2 * 3_600_000).toISOString();
      const signed = (await t.http().post(`/api/v1/dpas/${draft.id}/transitions`).set(as('legal'))
        .send({ to: 'signed', signedByName: `${customer.dpoContact.name}, for ${customer.legalName}`, signedAt }).expect(200)).body as DpaResponse;
      expect(signed).toMatchObject({ status: 'signed', signedAt });
      const active = (await t.http().post(`/api/v1/dpas/${draft.id}/transitions`).set(as('legal')).send({ to: 'active' }).expect(200)).body as DpaResponse;
      expect(active).toMatchObject({ status: 'active', activatedAt: now.toISOString() });
      dpas[b] = active;

      // The stored agreement comes back byte for byte, with its checksum.
      const download = await t.http().get(`/api/v1/dpas/${draft.id}/document`).set(as('dpo'))
        .buffer(true).parse((res, cb) => { const chunks: Buffer[] = []; res.on('data', (c: Buffer) => chunks.push(c)); res.on('end', () => cb(null, Buffer.concat(chunks))); })
        .expect(200);
      expect(download.headers['content-type']).toMatch(/^application\/pdf/);
      expect(download.headers['x-content-sha256']).toBe(sha256(pdf));
      expect(Buffer.compare(download.body as Buffer, pdf)).toBe(0);
    }

    // Each brand gets its own user, which sees its own customer and DPA only.
    for (const b of ['a', 'b', 'c'] as const) {
      tokens[b] = (await createUser(t, tokens.admin, { email: `user@${b}-brand.test`, role: 'customer', customerId: customers[b].id })).token;
      const mine = (await t.http().get('/api/v1/customers').set(as(b)).expect(200)).body as { items: CustomerResponse[] };
      expect(mine.items.map((c) => c.id)).toEqual([customers[b].id]);
      const theirDpas = (await t.http().get(`/api/v1/customers/${customers[b].id}/dpas`).set(as(b)).expect(200)).body as { items: DpaResponse[] };
      expect(theirDpas.items.map((d) => [d.id, d.status])).toEqual([[dpas[b].id, 'active']]);
    }
    expectProblem(await t.http().get(`/api/v1/customers/${customers.a.id}`).set(as('c')), 404, 'not-found');
    expectProblem(await t.http().get(`/api/v1/dpas/${dpas.a.id}`).set(as('b')), 404, 'not-found');
  });

  it('3. the DPO registers and approves a German carrier and announces it: effective after the longest window among the affected customers', async () => {
    const registered = await t.http().post('/api/v1/subprocessors').set(as('dpo')).send(CARRIER).expect(201);
    carrier = registered.body as SubprocessorResponse;
    expect(carrier).toMatchObject({ legalEntity: CARRIER.legalEntity, country: 'DE', status: 'proposed', transferMechanism: 'none', carriesCountries: ['DE'] });
    await t.http().post(`/api/v1/subprocessors/${carrier.id}/transitions`).set(as('dpo')).send({ to: 'approved' }).expect(200);
    // Activation is never a direct transition: only an announced change makes it effective.
    expectProblem(await t.http().post(`/api/v1/subprocessors/${carrier.id}/transitions`).set(as('dpo')).send({ to: 'active' }), 409);

    expect(smtp.received).toEqual([]);
    setNow(new Date(T0.getTime() + 3_600_000));
    const proposedAt = now;
    const res = await t.http().post(`/api/v1/subprocessors/${carrier.id}/change-notices`).set(as('dpo')).send({ reason: NOTICE_REASON }).expect(201);
    notice = res.body as ChangeNoticeResponse;
    const at = (days: number) => new Date(proposedAt.getTime() + days * DAY).toISOString();
    expect(notice).toMatchObject({ kind: 'new_subprocessor', status: 'pending', reason: NOTICE_REASON, proposedAt: proposedAt.toISOString(), appliedAt: null });
    // A's 30 days — not C's 60: C is not affected.
    expect(notice.effectiveAt).toBe(at(30));
    expect(notice.recipients.map((r) => [r.customerId, r.objectionDeadline, r.approvalRequired]).sort()).toEqual([
      [customers.a.id, at(30), false],
      [customers.b.id, at(14), false],
    ].sort());
    const sub = (await t.http().get(`/api/v1/subprocessors/${carrier.id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse;
    expect(sub).toMatchObject({ status: 'approved', pendingChangeNotice: { id: notice.id, effectiveAt: at(30) } });
  });

  it('3. only A\'s and B\'s contacts get the notice by mail, with what, where, when and until when — and no personal data in the subject', async () => {
    await until('the change-notice mails', () => noticeMails().length >= 2);
    // Nothing else was sent: two mails, one per affected customer, to all of its contacts.
    expect(smtp.received).toHaveLength(2);
    const mails = noticeMails();
    expect(mails.map((m) => [...m.to].sort())).toEqual(expect.arrayContaining([[...addressesOf('a')].sort(), [...addressesOf('b')].sort()]));
    expect(mails).toHaveLength(2);
    const everyone = smtp.received.flatMap((m) => m.to);
    for (const address of addressesOf('c')) expect(everyone).not.toContain(address);

    const deadlines: Record<'a' | 'b', string> = {
      a: notice.recipients.find((r) => r.customerId === customers.a.id)!.objectionDeadline,
      b: notice.recipients.find((r) => r.customerId === customers.b.id)!.objectionDeadline,
    };
    for (const b of ['a', 'b'] as const) {
      const mail = mails.find((m) => m.to.includes(BRANDS[b].dpoContact.email))!;
      expect(mail.subject).toBe('Sub-processor change notice');
      for (const identifier of [...ALL_CUSTOMER_IDENTIFIERS, ...addressesOf(b)]) expect(mail.subject).not.toContain(identifier);
      // What, where, why, from when, and this customer's own deadline.
      expect(mail.text).toContain(CARRIER.legalEntity);
      expect(mail.text).toContain(CARRIER.purpose);
      expect(mail.text).toMatch(/Where: DE\b/);
      expect(mail.text).toContain(NOTICE_REASON);
      expect(mail.text).toContain(`Takes effect: ${notice.effectiveAt}`);
      expect(mail.text).toContain(`You may object until: ${deadlines[b]}`);
      expect(mail.text).toContain(`${BASE}/api/v1/change-notices/${notice.id}`);
      expect(mail.html).toContain(`href="${BASE}/api/v1/change-notices/${notice.id}"`);
      // A customer's mail says nothing about the other customers.
      const other = b === 'a' ? 'b' : 'a';
      for (const identifier of [...customerIdentifiers(other), ...customerIdentifiers('c')]) {
        expect(mail.text).not.toContain(identifier);
        expect(mail.html).not.toContain(identifier);
      }
    }
    expect(mails.find((m) => m.to.includes(BRANDS.a.dpoContact.email))!.text).not.toContain(`You may object until: ${deadlines.b}`);
  });

  it('3. the public list announces the change while it is pending', async () => {
    const json = (await t.http().get('/public/subprocessors.json').expect(200)).body as PublicSubprocessorList;
    expect(json.subprocessors).toEqual([]);
    expect(json.announcedChanges).toEqual([expect.objectContaining({
      id: notice.id, kind: 'new_subprocessor', status: 'pending', subprocessorName: CARRIER.legalEntity, effectiveAt: notice.effectiveAt,
    })]);
    const html = (await t.http().get('/public/subprocessors').expect(200)).text;
    expect(html).toContain('<caption>Announced changes (1)</caption>');
    expect(html).toContain(`<time datetime="${isoDay(new Date(notice.effectiveAt))}">${humanDate(new Date(notice.effectiveAt))}</time>`);
  });

  it('4. A objects before its deadline; C cannot see the notice at all; B sees it with its own deadline only', async () => {
    setNow(day(5));
    const raised = await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('a')).send({ reason: OBJECTION_REASON }).expect(201);
    objection = raised.body as ObjectionResponse;
    expect(objection).toMatchObject({ noticeId: notice.id, customerId: customers.a.id, subprocessorId: carrier.id, raisedAt: day(5).toISOString(), resolution: null });

    // The DPO is told: the objection blocks the carrier for A until resolved.
    await until('the objection mail to the DPO', () => smtp.received.some((m) => m.headers.get('x-custodian-mail') === 'objection-raised'));
    const told = smtp.received.filter((m) => m.headers.get('x-custodian-mail') === 'objection-raised');
    expect(told.map((m) => m.to)).toEqual([[emails.dpo]]);
    for (const identifier of ALL_CUSTOMER_IDENTIFIERS) expect(told[0].subject).not.toContain(identifier);

    // C was never sent the notice: it answers exactly like one that does not exist.
    expectProblem(await t.http().get(`/api/v1/change-notices/${notice.id}`).set(as('c')), 404, 'not-found');
    expect(((await t.http().get('/api/v1/change-notices').set(as('c')).expect(200)).body as ChangeNoticePage).items).toEqual([]);
    expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('c')).send({ reason: 'not ours' }), 404, 'not-found');
    expect(((await t.http().get('/api/v1/objections').set(as('c')).expect(200)).body as ObjectionPage).items).toEqual([]);

    // B sees it, with only its own recipient row, and not A's objection.
    const seenByB = (await t.http().get(`/api/v1/change-notices/${notice.id}`).set(as('b')).expect(200)).body as ChangeNoticeResponse;
    expect(seenByB).toMatchObject({ id: notice.id, status: 'pending', effectiveAt: notice.effectiveAt });
    expect(seenByB.recipients).toEqual([expect.objectContaining({ customerId: customers.b.id, objectionDeadline: new Date(new Date(notice.proposedAt).getTime() + 14 * DAY).toISOString() })]);
    expect(JSON.stringify(seenByB)).not.toContain(customers.a.id);
    expect(((await t.http().get('/api/v1/change-notices').set(as('b')).expect(200)).body as ChangeNoticePage).items.map((n) => n.id)).toEqual([notice.id]);
    expect(((await t.http().get('/api/v1/objections').set(as('b')).expect(200)).body as ObjectionPage).items).toEqual([]);
  });

  it('5. after B\'s 14 days (but within A\'s 30) a late objection by B is refused with 409', async () => {
    setNow(day(15));
    const late = await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('b')).send({ reason: 'We changed our mind' });
    const problem = expectProblem(late, 409, 'conflict');
    expect(problem.objectionDeadline).toBe(new Date(new Date(notice.proposedAt).getTime() + 14 * DAY).toISOString());
    const open = (await t.http().get('/api/v1/objections').query({ noticeId: notice.id }).set(as('dpo')).expect(200)).body as ObjectionPage;
    expect(open.items.map((o) => [o.id, o.customerId, o.resolution])).toEqual([[objection.id, customers.a.id, null]]);
  });

  it('6. when the date comes the job makes it effective; it is authorised for B only — not for A (objection), not for C (not its countries)', async () => {
    // The day before, the job has nothing to do.
    setNow(day(29));
    expect(((await t.http().post('/api/v1/jobs/change-notices-effective/run').set(as('dpo')).expect(200)).body as JobRunResponse).counts).toEqual({ noticesApplied: 0, noticesFailed: 0 });

    const effectiveAt = new Date(notice.effectiveAt);
    setNow(new Date(effectiveAt.getTime() + 10 * 60_000));
    const run = (await t.http().post('/api/v1/jobs/change-notices-effective/run').set(as('dpo')).expect(200)).body as JobRunResponse;
    expect(run).toMatchObject({ outcome: 'succeeded', counts: { noticesApplied: 1 } });
    const sub = (await t.http().get(`/api/v1/subprocessors/${carrier.id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse;
    expect(sub).toMatchObject({ status: 'active', activeSince: now.toISOString(), pendingChangeNotice: null });
    expect((await t.http().get(`/api/v1/change-notices/${notice.id}`).set(as('dpo')).expect(200)).body).toMatchObject({ status: 'effective', appliedAt: now.toISOString() });

    for (const who of ['dpo', 'own'] as const) {
      const ask = (b: Brand) => authorised(b, who === 'dpo' ? 'dpo' : b);
      const a = await ask('a');
      expect(a).toMatchObject({ customerId: customers.a.id, dpaId: dpas.a.id, authorisation: 'general', subprocessors: [] });
      expect(a.withheld).toEqual([expect.objectContaining({ id: carrier.id, reason: 'objection' })]);
      const b = await ask('b');
      expect(b).toMatchObject({ customerId: customers.b.id, dpaId: dpas.b.id, withheld: [] });
      expect(b.subprocessors).toEqual([expect.objectContaining({ id: carrier.id, legalEntity: CARRIER.legalEntity, country: 'DE', transferMechanism: 'none' })]);
      expect(await ask('c')).toMatchObject({ customerId: customers.c.id, dpaId: dpas.c.id, subprocessors: [], withheld: [] });
    }
    // A customer asking about another customer learns nothing.
    expectProblem(await t.http().get(`/api/v1/customers/${customers.b.id}/authorised-subprocessors`).set(as('c')), 404, 'not-found');

    // Asked about a moment before the effective date, it carried nobody's data.
    const before = new Date(effectiveAt.getTime() - 60_000);
    for (const b of ['a', 'b', 'c'] as const) {
      expect(await authorised(b, 'dpo', before)).toMatchObject({ subprocessors: [], withheld: [] });
      expect((await authorised(b, b, before)).subprocessors).toEqual([]);
    }
    // From the moment the job applied it (the effective date, give or take a tick), B's answer holds.
    expect((await authorised('b', 'b', new Date(now.getTime() + 60_000))).subprocessors.map((s) => s.id)).toEqual([carrier.id]);

    // Nobody else was mailed along the way; C's contacts never got anything.
    const everyone = smtp.received.flatMap((m) => m.to);
    for (const address of addressesOf('c')) expect(everyone).not.toContain(address);
  });

  it('7. the public page, JSON and Atom feed show the carrier and the change — and nothing about any customer', async () => {
    const since = new Date(((await t.http().get(`/api/v1/subprocessors/${carrier.id}`).set(as('dpo')).expect(200)).body as SubprocessorResponse).activeSince!);
    const nonPublic = [
      ...ALL_CUSTOMER_IDENTIFIERS, ...Object.values(customers).map((c) => c.id), OBJECTION_REASON, objection.id,
      CARRIER.parentCompany, CARRIER.services[0], carrier.id,
    ];

    // The HTML page: a row in the table of active sub-processors.
    const page = await t.http().get('/public/subprocessors').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = page.text;
    const table = html.slice(html.indexOf('<table>'), html.indexOf('</table>'));
    expect(table).toContain('<caption>Active sub-processors (1)</caption>');
    const rows = [...table.matchAll(/<tr>\s*<th scope="row">([^<]+)<\/th>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<span>\(([A-Z]{2})\)<\/span><\/td>\s*<td>([^<]*)<\/td>\s*<td><time datetime="([^"]+)">([^<]+)<\/time><\/td>/g)]
      .map((m) => m.slice(1));
    expect(rows).toEqual([[CARRIER.legalEntity, CARRIER.purpose, 'Germany ', 'DE', 'None required', isoDay(since), humanDate(since)]]);
    // Nothing is announced any more: it took effect.
    expect(html).not.toContain('<caption>Announced changes (1)</caption>');

    // The JSON: the same, with the public fields only.
    const jsonRes = await t.http().get('/public/subprocessors.json').expect(200);
    const json = jsonRes.body as PublicSubprocessorList;
    expect(json.subprocessors).toEqual([{
      name: CARRIER.legalEntity, purpose: CARRIER.purpose, country: 'DE', countryName: 'Germany', transferMechanism: 'none',
      transferMechanismLabel: 'None required', activeSince: since.toISOString(),
    }]);
    expect(json.announcedChanges).toEqual([]);

    // The feed: a well-formed Atom document with one entry for the notice.
    const feedRes = await t.http().get('/public/subprocessors/feed.atom').buffer(true).parse((r, cb) => {
      let data = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (data += c));
      r.on('end', () => cb(null, data));
    }).expect(200);
    expect(feedRes.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    const xml = feedRes.body as string;
    const feed = children(xml2js(xml, { compact: false }) as Element, 'feed')[0];
    expect(feed?.attributes?.xmlns).toBe('http://www.w3.org/2005/Atom');
    const entries = children(feed, 'entry');
    expect(entries.map((e) => textOf(children(e, 'id')[0]))).toEqual([`urn:uuid:${notice.id}`]);
    expect(textOf(children(entries[0], 'title')[0])).toBe(`New sub-processor: ${CARRIER.legalEntity}`);
    const summary = textOf(children(entries[0], 'summary')[0]);
    expect(summary).toContain(`${CARRIER.legalEntity} (Germany) is added as a sub-processor for: ${CARRIER.purpose}.`);
    expect(summary).toContain(`Took effect on ${humanDate(new Date(notice.effectiveAt))}.`);
    expect(children(entries[0], 'link')[0]?.attributes).toMatchObject({ href: `${BASE}/public/subprocessors` });

    for (const text of [html, JSON.stringify(json), xml]) {
      for (const secret of nonPublic) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/@(alpha-messaging|bravo-retail|charlie-commerce)\.test/);
    }
  });

  it('8. every step left an audit trail whose hash chain still verifies', async () => {
    const verify = (await t.http().get('/api/v1/audit/verify').set(as('dpo')).expect(200)).body as AuditVerifyResponse;
    expect(verify).toMatchObject({ ok: true, firstBadSeq: null });
    expect(verify.checked).toBeGreaterThan(20);
    // The story is in it, by the people who did it (the effective change by the system).
    const actions = async (subjectType: string, subjectId: string) =>
      ((await t.http().get('/api/v1/audit').query({ subjectType, subjectId, limit: 100 }).set(as('dpo')).expect(200)).body as { items: { action: string; actorType: string }[] }).items
        .map((e) => e.action).reverse();
    expect(await actions('Dpa', dpas.a.id)).toEqual(['dpa.created', 'dpa.submitted_for_review', 'dpa.document_uploaded', 'dpa.signed', 'dpa.activated']);
    expect(await actions('ChangeNotice', notice.id)).toEqual(expect.arrayContaining(['change_notice.created', 'change_notice.effective']));
  });
});
