import { Clock } from '../src/common/clock';
import type { JobResponse, JobRunResponse } from '../src/jobs/dto/job.dto';
import type { RouteViolationPage, RouteViolationResponse } from '../src/messages/dto/route-violation.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem, problemFields } from './support/http';
import { ingestKey, postBatch, wireRecord } from './support/ingestion';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';
import { startSmtp, TestSmtp } from './support/smtp';

const NOW = new Date('2026-11-26T12:00:00.000Z');
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);
const PLANTED = '+4916099887766';
const ITEM_FIELDS = ['customer', 'detectedAt', 'externalId', 'id', 'messageId', 'position', 'reason', 'submittedAt', 'subprocessor'];

describe('route violations: list and daily digest', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let now = NOW;
  let key: string;
  const tokens: Record<string, string> = {};
  const dpoIds: string[] = [];
  let alpha: string;
  let beta: string;
  let carrier: string;
  let suspended: string;
  const unknown = '7d1e0f2a-3b4c-4d5e-8f60-718293a4b5c6';

  const as = (who: string) => bearer(tokens[who]);
  const list = async (query: Record<string, string | number> = {}, who = 'dpo') =>
    (await t.http().get('/api/v1/route-violations').query(query).set(as(who)).expect(200)).body as RouteViolationPage;
  const runDigest = async () => (await t.http().post('/api/v1/jobs/route-violation-digest/run').set(as('dpo')).expect(200)).body as JobRunResponse;
  const settle = () => new Promise((r) => setTimeout(r, 700));

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, JOBS_ENABLED: 'false', PUBLIC_BASE_URL: 'https://custodian.example.test' });
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    tokens.admin = await login(t, ADMIN.email, ADMIN.password);
    for (const [who, role] of [['dpo', 'dpo'], ['dpo2', 'dpo'], ['auditor', 'auditor'], ['security', 'security'], ['legal', 'legal']] as const) {
      const user = await createUser(t, tokens.admin, { email: `${who}@violations.test`, role });
      tokens[who] = user.token;
      if (role === 'dpo') dpoIds.push(user.id);
    }
    alpha = await seedCustomer(t, { legalName: 'Alpha Retail GmbH', destinationCountries: ['DE'] });
    beta = await seedCustomer(t, { legalName: 'Beta Bank AG', destinationCountries: ['DE'] });
    await seedDpa(t, { customerId: alpha });
    await seedDpa(t, { customerId: beta });
    tokens.customer = (await createUser(t, tokens.admin, { email: 'user@alpha.violations.test', role: 'customer', customerId: alpha })).token;
    carrier = await seedSubprocessor(t, { legalEntity: 'Good Carrier AG', country: 'DE', carriesCountries: ['DE'] });
    suspended = await seedSubprocessor(t, { legalEntity: 'Suspended Carrier SA', country: 'DE', carriesCountries: ['DE'], status: 'suspended' });
    key = await ingestKey(t, tokens.admin);

    now = minutes(0);
    await postBatch(t, key, [
      wireRecord(alpha, [carrier, suspended], { externalId: 'a-1', submittedAt: minutes(-30).toISOString(), msisdn: PLANTED }),
      wireRecord(alpha, [unknown], { externalId: 'a-2', submittedAt: minutes(-20).toISOString() }),
      wireRecord(alpha, [carrier], { externalId: 'a-ok', submittedAt: minutes(-20).toISOString() }),
    ]);
    now = minutes(10);
    await postBatch(t, key, [
      wireRecord(beta, [suspended], { externalId: 'b-1', submittedAt: minutes(-5).toISOString() }),
      wireRecord(beta, [suspended, unknown], { externalId: 'b-2', submittedAt: minutes(-4).toISOString() }),
    ]);
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('lists every violation newest first, with the message, customer, sub-processor, hop and reason', async () => {
    const page = await list();
    expect(page.nextCursor).toBeNull();
    const hop = (v: RouteViolationResponse) => `${v.externalId}#${v.position} ${v.reason}`;
    // Detected at 12:10 (Beta's batch), then at 12:00 (Alpha's).
    expect(page.items.slice(0, 3).map(hop).sort()).toEqual(['b-1#0 not_authorised', 'b-2#0 not_authorised', 'b-2#1 unknown_subprocessor']);
    expect(page.items.slice(3).map(hop).sort()).toEqual(['a-1#1 not_authorised', 'a-2#0 unknown_subprocessor']);
    for (const item of page.items) expect(Object.keys(item).sort()).toEqual(ITEM_FIELDS);
    const a1 = page.items.find((v) => v.externalId === 'a-1')!;
    const [message] = await t.db.superuser<{ id: string }>(`SELECT id FROM messages WHERE external_id = 'a-1'`);
    expect(a1).toEqual({
      id: expect.any(String), messageId: message.id, externalId: 'a-1',
      customer: { id: alpha, legalName: 'Alpha Retail GmbH' }, subprocessor: { id: suspended, legalEntity: 'Suspended Carrier SA' },
      position: 1, reason: 'not_authorised', submittedAt: minutes(-30).toISOString(), detectedAt: minutes(0).toISOString(),
    });
    expect(page.items.find((v) => v.reason === 'unknown_subprocessor')!.subprocessor).toEqual({ id: unknown, legalEntity: null });
    expect(JSON.stringify(page)).not.toContain(PLANTED.slice(1));
  });

  it('filters by customer, sub-processor, reason and detection time, and pages with a cursor', async () => {
    const ext = (items: RouteViolationResponse[]) => items.map((v) => `${v.externalId}#${v.position}`).sort();
    expect(ext((await list({ customerId: alpha })).items)).toEqual(['a-1#1', 'a-2#0']);
    expect(ext((await list({ subprocessorId: suspended })).items)).toEqual(['a-1#1', 'b-1#0', 'b-2#0']);
    expect(ext((await list({ reason: 'unknown_subprocessor' })).items)).toEqual(['a-2#0', 'b-2#1']);
    expect(ext((await list({ customerId: beta, reason: 'not_authorised' })).items)).toEqual(['b-1#0', 'b-2#0']);
    expect(ext((await list({ from: minutes(5).toISOString() })).items)).toEqual(['b-1#0', 'b-2#0', 'b-2#1']);
    expect(ext((await list({ to: minutes(5).toISOString() })).items)).toEqual(['a-1#1', 'a-2#0']);
    expect((await list({ from: minutes(0).toISOString(), to: minutes(10).toISOString() })).items).toHaveLength(2);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: RouteViolationPage = await list({ limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((v) => v.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual((await list()).items.map((v) => v.id));

    for (const query of [{ reason: 'grey' }, { customerId: 'alpha' }, { from: 'yesterday' }, { cursor: 'bm90IGEgY3Vyc29y' }, { limit: 0 }, { msisdn: PLANTED }]) {
      const res = await t.http().get('/api/v1/route-violations').query(query).set(as('dpo'));
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toHaveLength(1);
      expect(res.text).not.toContain(PLANTED.slice(1));
    }
  });

  it('is for the DPO, auditors and security; nobody else', async () => {
    for (const who of ['auditor', 'security']) expect((await list({}, who)).items).toHaveLength(5);
    for (const who of ['legal', 'customer', 'admin']) expectProblem(await t.http().get('/api/v1/route-violations').set(as(who)), 403, 'forbidden');
    expectProblem(await t.http().get('/api/v1/route-violations').set(bearer(key)), 403, 'forbidden');
    expectProblem(await t.http().get('/api/v1/route-violations'), 401, 'unauthorized');
  });

  it('is a daily job', async () => {
    const jobs = (await t.http().get('/api/v1/jobs').set(as('dpo')).expect(200)).body as JobResponse[];
    expect(jobs.find((j) => j.name === 'route-violation-digest')).toMatchObject({ schedule: '0 0 7 * * *' });
  });

  it('sends nothing and marks nothing while there is no DPO to tell', async () => {
    await t.db.superuser('UPDATE users SET disabled = true WHERE id = ANY($1)', [dpoIds]);
    try {
      const run = (await t.http().post('/api/v1/jobs/route-violation-digest/run').set(as('admin')).expect(200)).body as JobRunResponse;
      expect(run.counts).toEqual({ violations: 0, digestsSent: 0, withoutRecipients: 1 });
    } finally {
      await t.db.superuser('UPDATE users SET disabled = false WHERE id = ANY($1)', [dpoIds]);
    }
    await settle();
    expect(smtp.received).toHaveLength(0);
    expect(await t.db.superuser('SELECT 1 FROM route_violations WHERE digested_at IS NOT NULL')).toHaveLength(0);
  });

  it('mails one digest to the DPO users while there are new violations, counted per customer, sub-processor and reason, and none otherwise', async () => {
    now = minutes(60);
    const run = await runDigest();
    expect(run).toMatchObject({ outcome: 'succeeded', counts: { violations: 5, digestsSent: 1, withoutRecipients: 0 } });
    const [mail] = await smtp.waitFor(1);
    await settle();
    expect(smtp.received).toHaveLength(1);
    expect(mail.to.sort()).toEqual(['dpo2@violations.test', 'dpo@violations.test']);
    expect(mail.subject).toBe('Route violations: daily digest');
    const lines = mail.text.split('\n').filter((l) => l.startsWith('- '));
    expect(lines).toEqual([
      '- Alpha Retail GmbH / Suspended Carrier SA / not_authorised: 1',
      `- Alpha Retail GmbH / unknown sub-processor ${unknown} / unknown_subprocessor: 1`,
      '- Beta Bank AG / Suspended Carrier SA / not_authorised: 2',
      `- Beta Bank AG / unknown sub-processor ${unknown} / unknown_subprocessor: 1`,
    ]);
    expect(mail.text).toContain(`https://custodian.example.test/api/v1/route-violations?from=${encodeURIComponent(minutes(0).toISOString())}`);
    expect(mail.html).toContain('<td>Beta Bank AG</td>');
    for (const part of [mail.subject, mail.text, mail.html]) expect(part).not.toContain(PLANTED.slice(1));
    expect(await t.db.superuser('SELECT 1 FROM route_violations WHERE digested_at IS NULL')).toHaveLength(0);
    const audit = (await t.http().get('/api/v1/audit').query({ action: 'route_violations.digested' }).set(as('auditor')).expect(200)).body as { items: { changes: Record<string, unknown> }[] };
    expect(audit.items.map((e) => e.changes)).toEqual([{ violations: 5, customers: 2, subprocessors: 2, recipientCount: 2 }]);

    // The next day, nothing new: no mail.
    now = minutes(60 * 24);
    expect((await runDigest()).counts).toEqual({ violations: 0, digestsSent: 0, withoutRecipients: 0 });
    await settle();
    expect(smtp.received).toHaveLength(1);

    // A new violation: the following digest has it, and only it.
    await postBatch(t, key, [wireRecord(beta, [carrier, suspended], { externalId: 'b-3', submittedAt: minutes(60 * 24 - 1).toISOString() })]);
    now = minutes(60 * 48);
    expect((await runDigest()).counts).toEqual({ violations: 1, digestsSent: 1, withoutRecipients: 0 });
    const second = (await smtp.waitFor(2))[1];
    expect(second.text.split('\n').filter((l) => l.startsWith('- '))).toEqual(['- Beta Bank AG / Suspended Carrier SA / not_authorised: 1']);
    await settle();
    expect(smtp.received).toHaveLength(2);
  });
});
