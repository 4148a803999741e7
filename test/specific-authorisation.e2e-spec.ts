import { randomBytes } from 'node:crypto';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import type { ChangeNoticePage, ChangeNoticeResponse } from '../src/change-notices/dto/change-notice.dto';
import { Clock } from '../src/common/clock';
import type { DpaResponse } from '../src/dpas/dto/dpa.dto';
import type { JobRunResponse } from '../src/jobs/dto/job.dto';
import type { AuthorisedSubprocessorsResponse, SubprocessorResponse } from '../src/subprocessors/dto/subprocessor.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { createCustomer } from './support/fixtures';
import { bearer, expectProblem } from './support/http';
import { startSmtp, TestSmtp } from './support/smtp';

/*
 * Specific authorisation for a customer that signs after a sub-processor is already in service:
 * it was never sent that sub-processor's notice, so the enrolment job makes it a recipient (approval
 * required) and mails it once; its approval then authorises the sub-processor. All through HTTP.
 */

const DAY = 86_400_000;
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const day = (n: number) => new Date(T0.getTime() + n * DAY);
const pdf = () => Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(512), Buffer.from('\n%%EOF\n')]);
const TERMS = {
  maxRetentionDays: { body: 30, msisdn: 90, delivery_metadata: 365 },
  transferMechanisms: ['adequacy', 'scc', 'none'],
  dataCategories: ['body', 'msisdn', 'delivery_metadata'],
  purposes: ['delivery of one-time passwords'],
};

async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for mail');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
}

describe('specific authorisation for a customer that signs later', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now = T0;
  const tokens: Record<string, string> = {};
  const as = (who: string) => bearer(tokens[who]);
  const runJob = async (name: string) => (await t.http().post(`/api/v1/jobs/${name}/run`).set(as('dpo')).expect(200)).body as JobRunResponse;
  const authorised = async (customerId: string, who: string) =>
    (await t.http().get(`/api/v1/customers/${customerId}/authorised-subprocessors`).set(as(who)).expect(200)).body as AuthorisedSubprocessorsResponse;

  /** A DPA brought into force through the API, the way legal would. */
  async function activeDpa(customerId: string, body: Record<string, unknown>): Promise<DpaResponse> {
    const dpa = (await t.http().post(`/api/v1/customers/${customerId}/dpas`).set(as('legal')).send({ ...TERMS, ...body }).expect(201)).body as DpaResponse;
    await t.http().post(`/api/v1/dpas/${dpa.id}/transitions`).set(as('legal')).send({ to: 'in_review' }).expect(200);
    await t.http().put(`/api/v1/dpas/${dpa.id}/document`).set(as('legal')).set('Content-Type', 'application/pdf').send(pdf()).expect(200);
    await t.http().post(`/api/v1/dpas/${dpa.id}/transitions`).set(as('legal')).send({ to: 'signed', signedByName: 'Sam Signer' }).expect(200);
    return (await t.http().post(`/api/v1/dpas/${dpa.id}/transitions`).set(as('legal')).send({ to: 'active' }).expect(200)).body as DpaResponse;
  }

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: 'https://custodian.example.test' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    tokens.admin = await login(t, ADMIN.email, ADMIN.password);
    tokens.dpo = (await createUser(t, tokens.admin, { email: 'dpo@provider.test', role: 'dpo' })).token;
    tokens.legal = (await createUser(t, tokens.admin, { email: 'legal@provider.test', role: 'legal' })).token;
    tokens.auditor = (await createUser(t, tokens.admin, { email: 'auditor@provider.test', role: 'auditor' })).token;
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('enrols the later customer once, mails its contacts once, and its approval authorises the sub-processor', async () => {
    // Customer A, general authorisation, is told of a new German carrier, which goes active.
    const a = await createCustomer(t, tokens.legal, { legalName: 'Early Alpha GmbH', destinationCountries: ['DE'] });
    await activeDpa(a.id, { authorisation: 'general', objectionWindowDays: 7 });
    const created = await t.http().post('/api/v1/subprocessors').set(as('dpo')).send({
      legalEntity: 'Carrier DE GmbH', country: 'DE', carriesCountries: ['DE'], role: 'mobile_operator', services: ['SMS termination'],
      purpose: 'Delivers SMS to subscribers of its network', dataCategories: ['msisdn', 'body'], transferMechanism: 'none',
    }).expect(201);
    const carrier = created.body as SubprocessorResponse;
    await t.http().post(`/api/v1/subprocessors/${carrier.id}/transitions`).set(as('dpo')).send({ to: 'approved' }).expect(200);
    const notice = (await t.http().post(`/api/v1/subprocessors/${carrier.id}/change-notices`).set(as('dpo')).send({ reason: 'Better German delivery' }).expect(201)).body as ChangeNoticeResponse;
    now = day(8);
    expect((await runJob('change-notices-effective')).counts).toMatchObject({ noticesApplied: 1 });
    tokens.alpha = (await createUser(t, tokens.admin, { email: 'user@alpha.test', role: 'customer', customerId: a.id })).token;
    expect((await authorised(a.id, 'alpha')).subprocessors.map((s) => s.id)).toEqual([carrier.id]);

    // Customer S signs a specific-authorisation DPA afterwards, for the same country.
    now = day(9);
    const s = await createCustomer(t, tokens.legal, {
      legalName: 'Late Sigma GmbH', destinationCountries: ['DE'], dpoContact: { name: 'Sigma DPO', email: 'dpo@sigma.test' }, breachNotificationEmails: ['breach@sigma.test'],
    });
    const sDpa = await activeDpa(s.id, { authorisation: 'specific', objectionWindowDays: 30 });
    tokens.sigma = (await createUser(t, tokens.admin, { email: 'user@sigma.test', role: 'customer', customerId: s.id })).token;
    const before = await authorised(s.id, 'sigma');
    expect(before).toMatchObject({ dpaId: sDpa.id, authorisation: 'specific', subprocessors: [] });
    expect(before.withheld).toEqual([expect.objectContaining({ id: carrier.id, reason: 'approval_required' })]);
    expect(((await t.http().get('/api/v1/change-notices').set(as('sigma')).expect(200)).body as ChangeNoticePage).items).toEqual([]);

    // The job enrols S on the carrier's notice, once.
    expect((await runJob('specific-authorisation-enrolment')).counts).toEqual({ customersEnrolled: 1, noticesEnrolled: 1 });
    expect((await runJob('specific-authorisation-enrolment')).counts).toEqual({ customersEnrolled: 0, noticesEnrolled: 0 });

    const seen = ((await t.http().get('/api/v1/change-notices').set(as('sigma')).expect(200)).body as ChangeNoticePage).items;
    expect(seen.map((n) => n.id)).toEqual([notice.id]);
    expect(seen[0].recipients).toEqual([{ customerId: s.id, objectionDeadline: day(9).toISOString(), approvalRequired: true, approvedAt: null }]);
    // Alpha's own row is not shown to S, nor S's to Alpha.
    const alphaView = (await t.http().get(`/api/v1/change-notices/${notice.id}`).set(as('alpha')).expect(200)).body as ChangeNoticeResponse;
    expect(alphaView.recipients.map((r) => r.customerId)).toEqual([a.id]);

    // Only S's mail counts: the earlier notice's mail to Alpha may still be arriving.
    const toSigma = () => smtp.received.filter((m) => m.to.some((a) => a.endsWith('@sigma.test')));
    await until(() => toSigma().length > 0);
    await new Promise((r) => setTimeout(r, 1500)); // a second one would have arrived by now
    const mails = toSigma();
    expect(mails).toHaveLength(1);
    expect(mails[0].headers.get('x-custodian-mail')).toBe('change-notice-approval-enrolment');
    expect(mails[0].to.slice().sort()).toEqual(['breach@sigma.test', 'dpo@sigma.test']);
    expect(mails[0].subject).toBe('Sub-processors awaiting your approval');
    expect(mails[0].subject).not.toMatch(/Sigma|Carrier/);
    expect(mails[0].text).toContain('Carrier DE GmbH');
    expect(mails[0].text).toContain(`/api/v1/change-notices/${notice.id}/approvals`);

    const audit = (await t.http().get('/api/v1/audit').query({ subjectType: 'ChangeNotice', subjectId: notice.id, limit: 50 }).set(as('auditor')).expect(200)).body as { items: AuditEntryResponse[] };
    expect(audit.items.filter((e) => e.action === 'change_notice.recipient_enrolled').map((e) => e.changes))
      .toEqual([expect.objectContaining({ customerId: s.id, dpaId: sDpa.id, subprocessorId: carrier.id, approvalRequired: true })]);

    // Still withheld until S approves; the objection window is over, approvals have none.
    now = day(40);
    expect((await authorised(s.id, 'sigma')).withheld).toEqual([expect.objectContaining({ id: carrier.id, reason: 'approval_required' })]);
    expectProblem(await t.http().post(`/api/v1/change-notices/${notice.id}/objections`).set(as('sigma')).send({ reason: 'too late' }), 409, 'conflict');
    const approved = (await t.http().post(`/api/v1/change-notices/${notice.id}/approvals`).set(as('sigma')).expect(200)).body as ChangeNoticeResponse;
    expect(approved.recipients).toEqual([{ customerId: s.id, objectionDeadline: day(9).toISOString(), approvalRequired: true, approvedAt: day(40).toISOString() }]);
    const after = await authorised(s.id, 'sigma');
    expect(after.subprocessors.map((x) => x.id)).toEqual([carrier.id]);
    expect(after.withheld).toEqual([]);
    expect((await runJob('specific-authorisation-enrolment')).counts).toEqual({ customersEnrolled: 0, noticesEnrolled: 0 });
  });
});
