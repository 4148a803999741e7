import { randomBytes, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { AcknowledgementLinks } from '../../src/incidents/acknowledgement-links';
import { SubscriptionTokens } from '../../src/public/subscription-tokens';
import { ADMIN, createUser, login, type TestApp } from './app';
import { bearer, TEST_JWT_SECRET } from './http';
import { seedSubprocessor } from './registry-fixtures';
import type { TestSmtp } from './smtp';

/*
 * The world the access matrix (test/access-matrix.ts) runs in: customers A and B with everything a
 * customer can have — DPAs, users, change notices and objections, messages, retention policies,
 * legal holds, data-subject requests and certificates, an incident with both notified, mail — built
 * through the API as people would, once. Every free-text field of B carries B's canary.
 */

/** `dpoPii`: a DPO an admin granted the break-glass flag (users.pii_access), the only caller that may read decrypted message PII. */
export const CALLERS = ['anonymous', 'admin', 'dpo', 'legal', 'security', 'auditor', 'customerA', 'customerB', 'ingest', 'auditorKey', 'dpoPii'] as const;
export type Caller = (typeof CALLERS)[number];

/**
 * Fresh resources for calls that use up what they touch (see `fresh` in access-matrix.ts): one for each caller expected
 * to succeed, so the DPO and the DPO holding the PII flag each find the row as the other found it.
 */
export type FactoryName = 'incidentReported' | 'incidentTriaged' | 'incidentConfirmed' | 'ackToken' | 'followUpDraft' | 'subscriber'
  | 'pendingNotice' | 'objectionA' | 'objectionB' | 'draftA' | 'draftB' | 'failedNotificationA' | 'holdA' | 'holdB'
  | 'proposedSubprocessor' | 'approvedSubprocessor';

export interface World {
  t: TestApp;
  smtp: TestSmtp;
  /** The credential each caller sends (none for anonymous). */
  credentials: Record<Caller, string | null>;
  /** Named resources the matrix refers to as "@name". */
  refs: Record<string, string>;
  /** B's canary (as written in free text) and the form e-mail addresses lower-case it to. */
  canaryB: string;
  /**
   * Phone numbers and message-body markers: they appear only through the audited PII routes.
   * `messages`: what the break-glass read of each named message ("A.message"…) must answer, in full.
   * `about`: of those, what an answer about each named row (a message, a data-subject request) may carry: its data
   * subject's phone number and its customer's body marker, nobody else's.
   */
  pii: {
    msisdns: string[];
    bodyMarkers: string[];
    messages: Record<string, { customerId: string; msisdn: string | null; body: string | null }>;
    about: Record<string, string[]>;
  };
  fresh(name: FactoryName): Promise<Record<string, string>>;
}

const HOUR = 3_600_000;

export function pdf(text: string): Buffer {
  return Buffer.from(`%PDF-1.4\n% ${text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`, 'latin1');
}

export async function buildWorld(t: TestApp, smtp: TestSmtp): Promise<World> {
  const tag = randomBytes(4).toString('hex');
  const canaryB = `CANARY-B-${tag}`;
  const mailB = (local: string) => `${local}.${canaryB.toLowerCase()}@bravo.example.test`;
  const refs: Record<string, string> = {};
  const now = Date.now();
  const iso = (offsetMs: number) => new Date(now + offsetMs).toISOString();

  async function call(token: string, method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, body?: unknown, status = [200, 201, 202, 204]): Promise<Response> {
    const req = t.http()[method](path).set(bearer(token));
    const res = body === undefined ? await req : await req.send(body as object);
    if (!status.includes(res.status)) throw new Error(`fixture ${method.toUpperCase()} ${path} answered ${res.status}: ${res.text.slice(0, 1000)}`);
    return res;
  }
  const idOf = (res: Response) => (res.body as { id: string }).id;

  // People and keys.
  const admin = await login(t, ADMIN.email, ADMIN.password);
  const staff = async (role: string) => createUser(t, admin, { email: `${role}-${tag}@provider.example.test`, role });
  const apiKey = async (role: string, name: string) => (await call(admin, 'post', '/api/v1/api-keys', { name, role })).body as { id: string; key: string };
  // The break-glass DPO: an ordinary DPO account until an admin grants the flag, as in production.
  const dpoWithPii = async () => {
    const user = await createUser(t, admin, { email: `dpo-pii-${tag}@provider.example.test`, role: 'dpo' });
    const granted = (await call(admin, 'patch', `/api/v1/users/${user.id}`, { piiAccess: true })).body as { role: string; piiAccess: boolean };
    if (granted.role !== 'dpo' || granted.piiAccess !== true) throw new Error(`granting piiAccess answered ${JSON.stringify(granted)}`);
    return user;
  };
  const [dpo, legal, security, auditor, target, ingest, auditorKey, victim, dpoPii] = await Promise.all([
    staff('dpo'), staff('legal'), staff('security'), staff('auditor'),
    createUser(t, admin, { email: `target-${tag}@provider.example.test`, role: 'auditor', password: 'the login target password' }),
    apiKey('ingest', 'platform ingest'), apiKey('auditor', 'evidence export'), apiKey('ingest', 'to be revoked'), dpoWithPii(),
  ]);
  refs['user.dpo'] = dpo.id;
  refs['user.dpoPii'] = dpoPii.id;
  refs['user.security'] = security.id;
  refs['user.target'] = target.id;
  refs['login.email'] = `target-${tag}@provider.example.test`;
  refs['login.password'] = 'the login target password';
  refs['apiKey.ingest'] = ingest.id;
  refs['apiKey.victim'] = victim.id;

  // Customers A and B (B carries the canary in every field that takes text).
  const customer = async (body: Record<string, unknown>) => idOf(await call(legal.token, 'post', '/api/v1/customers', body));
  [refs['A.customer'], refs['B.customer']] = await Promise.all([
    customer({
      legalName: `Alpha Access ${tag} AG`, country: 'DE', dpoContact: { name: 'Alma Alpha', email: `dpo-${tag}@alpha.example.test` },
      breachNotificationEmails: [`breach-${tag}@alpha.example.test`], destinationCountries: ['DE'], dataProfile: { messageKinds: ['otp'], specialCategoryData: false },
    }),
    customer({
      legalName: `Bravo ${canaryB} GmbH`, country: 'DE', dpoContact: { name: `Berta ${canaryB}`, email: mailB('dpo') },
      breachNotificationEmails: [mailB('breach')], destinationCountries: ['DE', 'FR'], dataProfile: { messageKinds: ['otp', 'marketing'], specialCategoryData: false },
    }),
  ]);

  // DPAs: an active version 1 (specific authorisation, signed document) and a draft version 2 each.
  const terms = (purpose: string) => ({
    authorisation: 'specific', maxRetentionDays: { body: 30, msisdn: 90, delivery_metadata: 365 }, transferMechanisms: ['scc'],
    dataCategories: ['body', 'msisdn', 'delivery_metadata'], purposes: [purpose],
  });
  async function activeDpa(owner: 'A' | 'B', purpose: string, signer: string, file: string): Promise<string> {
    const id = idOf(await call(legal.token, 'post', `/api/v1/customers/${refs[`${owner}.customer`]}/dpas`, terms(purpose)));
    await call(legal.token, 'post', `/api/v1/dpas/${id}/transitions`, { to: 'in_review' });
    const res = await t.http().put(`/api/v1/dpas/${id}/document`).query({ filename: file }).set(bearer(legal.token)).set('Content-Type', 'application/pdf').send(pdf(`${owner} agreement ${purpose}`));
    if (res.status !== 200) throw new Error(`document upload answered ${res.status}: ${res.text}`);
    await call(legal.token, 'post', `/api/v1/dpas/${id}/transitions`, { to: 'signed', signedByName: signer });
    await call(legal.token, 'post', `/api/v1/dpas/${id}/transitions`, { to: 'active' });
    return id;
  }
  const draftDpa = async (owner: 'A' | 'B', purpose: string) => idOf(await call(legal.token, 'post', `/api/v1/customers/${refs[`${owner}.customer`]}/dpas`, terms(purpose)));
  let userA!: { id: string; token: string };
  let userB!: { id: string; token: string };
  await Promise.all([
    createUser(t, admin, { email: `user-${tag}@alpha.example.test`, role: 'customer', customerId: refs['A.customer'] }).then((u) => (userA = u)),
    createUser(t, admin, { email: mailB('user'), role: 'customer', customerId: refs['B.customer'] }).then((u) => (userB = u)),
    activeDpa('A', 'Delivering one-time passwords for Alpha', 'Anton Alpha', 'alpha-dpa.pdf')
      .then(async (id) => [refs['A.dpa'], refs['A.dpaDraft']] = [id, await draftDpa('A', 'Alpha version 2')]),
    activeDpa('B', `Delivering ${canaryB} reminders`, `Bruno ${canaryB}`, `bravo-${canaryB}.pdf`)
      .then(async (id) => [refs['B.dpa'], refs['B.dpaDraft']] = [id, await draftDpa('B', `${canaryB} version 2`)]),
  ]);
  refs['A.user'] = userA.id;

  // Sub-processors: one carrying traffic (active), and approved ones whose activation notices reach A and B.
  refs['sp.active'] = await seedSubprocessor(t, { legalEntity: `Carrier Access ${tag} AG`, country: 'DE', global: true });
  const subprocessor = async (name: string, extra: Record<string, unknown> = {}) => idOf(await call(dpo.token, 'post', '/api/v1/subprocessors', {
    legalEntity: `${name} ${tag}`, country: 'DE', role: 'aggregator', services: ['SMS routing'], purpose: 'Routes SMS to operators',
    dataCategories: ['msisdn', 'body'], global: true, transferMechanism: 'none', ...extra,
  }));
  const approvedSubprocessor = async (name: string, extra: Record<string, unknown> = {}) => {
    const sp = await subprocessor(name, extra);
    await call(dpo.token, 'post', `/api/v1/subprocessors/${sp}/transitions`, { to: 'approved' });
    return sp;
  };
  async function notice(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const sp = await approvedSubprocessor(name, extra);
    return idOf(await call(dpo.token, 'post', `/api/v1/subprocessors/${sp}/change-notices`, { reason: `We add ${name} for resilience` }, [201]));
  }
  [refs['notice.objected'], refs['notice.object'], refs['notice.approve'], refs['notice.approveExtras'], refs['notice.bOnly'], refs['sp.proposed']] = await Promise.all([
    notice('Objected Router'), notice('Object Router'), notice('Approve Router'), notice('Approve Extras Router'),
    // Carries only France: of A (DE) and B (DE, FR), only B is told.
    notice('France Router', { global: false, carriesCountries: ['FR'] }),
    subprocessor('Proposed Router'),
  ]);

  const objectA = (noticeId: string) => call(userA.token, 'post', `/api/v1/change-notices/${noticeId}/objections`, { reason: 'Alpha objects: no audit report yet' }).then(idOf);
  const objectB = (noticeId: string) => call(userB.token, 'post', `/api/v1/change-notices/${noticeId}/objections`, { reason: `Bravo objects ${canaryB}` }).then(idOf);
  [refs['A.objection'], refs['B.objection']] = await Promise.all([objectA(refs['notice.objected']), objectB(refs['notice.objected'])]);

  // Messages, through the ingestion API; B's sender, body and external id carry the canary.
  const msisdns = { A: '+4915112340001', B: '+4915112349001', erasedA: '+4915112340002', erasedB: '+4915112349002' };
  const bodyMarkers = [`BODY-A-${tag}`, `BODY-B-${tag}`];
  refs['A.msisdn'] = msisdns.A;
  const record = (owner: 'A' | 'B', msisdn: string, n: number) => ({
    customerId: refs[`${owner}.customer`], externalId: owner === 'B' ? `ext-${canaryB}-${n}` : `ext-alpha-${tag}-${n}`, direction: 'mt', msisdn,
    sender: owner === 'B' ? canaryB : 'ALPHA', body: `${bodyMarkers[owner === 'A' ? 0 : 1]} your code is ${1000 + n}${owner === 'B' ? ` ${canaryB}` : ''}`,
    route: [refs['sp.active']], destinationCountry: 'DE', status: 'delivered', submittedAt: iso(-HOUR + n * 60_000),
  });
  const records = [record('A', msisdns.A, 1), record('A', msisdns.erasedA, 2), record('B', msisdns.B, 3), record('B', msisdns.erasedB, 4)];
  const ingested = (await call(ingest.key, 'post', '/api/v1/messages/batch', { records })).body as { ids: string[]; counts: { stored: number } };
  if (ingested.counts.stored !== 4) throw new Error(`expected 4 stored messages: ${JSON.stringify(ingested)}`);
  [refs['A.message'], , refs['B.message'], refs['B.erasedMessage']] = ingested.ids;
  // The erasure request below clears the second B message's phone number and body: they read as null.
  const messages = {
    'A.message': { customerId: refs['A.customer'], msisdn: msisdns.A, body: records[0].body },
    'B.message': { customerId: refs['B.customer'], msisdn: msisdns.B, body: records[2].body },
    'B.erasedMessage': { customerId: refs['B.customer'], msisdn: null, body: null },
  };

  // Retention, legal holds, data-subject requests (an erasure issues a deletion certificate).
  const request = async (token: string, owner: 'A' | 'B', kind: string, msisdn: string, reference: string) =>
    (await call(token, 'post', '/api/v1/data-subject-requests', { customerId: refs[`${owner}.customer`], kind, msisdn, reference })).body as { id: string; certificateId: string | null };
  const holdA = () => call(dpo.token, 'post', '/api/v1/legal-holds', { customerId: refs['A.customer'], reason: 'Alpha litigation, keep everything' });
  const holdB = () => call(dpo.token, 'post', '/api/v1/legal-holds', { customerId: refs['B.customer'], msisdn: msisdns.B, reason: `Bravo dispute ${canaryB}` });
  const [, , firstHoldA, firstHoldB, accessA, accessB, erasedA, erasedB] = await Promise.all([
    call(dpo.token, 'put', `/api/v1/customers/${refs['A.customer']}/retention/body`, { days: 20 }),
    call(dpo.token, 'put', `/api/v1/customers/${refs['B.customer']}/retention/body`, { days: 20 }),
    holdA(), holdB(),
    request(userA.token, 'A', 'access', msisdns.A, `ALPHA-${tag}-1`),
    request(userB.token, 'B', 'access', msisdns.B, `${canaryB}-ticket-1`),
    request(userA.token, 'A', 'erasure', msisdns.erasedA, `ALPHA-${tag}-2`),
    request(userB.token, 'B', 'erasure', msisdns.erasedB, `${canaryB}-ticket-2`),
    call(dpo.token, 'post', '/api/v1/jobs/purge/run'),
  ]);
  [refs['A.hold'], refs['B.hold'], refs['A.accessRequest'], refs['B.accessRequest']] = [idOf(firstHoldA), idOf(firstHoldB), accessA.id, accessB.id];
  [refs['A.erasureRequest'], refs['A.certificate']] = [erasedA.id, erasedA.certificateId!];
  [refs['B.erasureRequest'], refs['B.certificate']] = [erasedB.id, erasedB.certificateId!];
  const [run] = await t.db.superuser<{ id: string }>('SELECT id FROM purge_runs ORDER BY started_at DESC LIMIT 1');
  refs.purgeRun = run.id;

  // The incident: scoped from the carrier's routing data, confirmed, both customers notified.
  const report = async (title: string) => idOf(await call(security.token, 'post', '/api/v1/incidents', {
    title, description: 'SMSC logs were exported by a compromised operator account.', detectedAt: iso(-0.7 * HOUR), becameAwareAt: iso(-0.5 * HOUR),
    subprocessorIds: [refs['sp.active']], windowFrom: iso(-2 * HOUR), windowTo: iso(-60_000), dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: true,
  }, [201]));
  const transition = (token: string, id: string, body: Record<string, unknown>) => call(token, 'post', `/api/v1/incidents/${id}/transitions`, body);
  const confirm = (id: string) => transition(dpo.token, id, { to: 'confirmed_breach', declineLegalHold: { reason: 'Both customers are under a legal hold already' } });
  const measures = (owner: 'A' | 'B') => ({ measures: owner === 'B' ? `We told Bravo's ${canaryB} team and rotated the keys.` : 'We rotated the operator keys.' });
  async function approveAndWait(id: string, delivery: 'sent' | 'failed'): Promise<void> {
    await waitForQueue(t);
    if (delivery === 'failed') smtp.answers.push(550);
    await call(dpo.token, 'post', `/api/v1/breach-notifications/${id}/approval`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const n = (await call(dpo.token, 'get', `/api/v1/breach-notifications/${id}`)).body as { delivery: string };
      if (n.delivery === delivery) return;
      if (Date.now() > deadline) throw new Error(`notification ${id} stayed ${n.delivery}, expected ${delivery}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** Drafts the customers' notifications (both by default) and fills in what only a person can write (no mail yet). */
  async function draftBoth(incident: string, owners: ('A' | 'B')[] = ['A', 'B']): Promise<Record<'A' | 'B', string>> {
    const body = owners.length === 2 ? {} : { customerIds: owners.map((owner) => refs[`${owner}.customer`]) };
    const drafts = ((await call(security.token, 'post', `/api/v1/incidents/${incident}/notifications`, body, [201])).body as { items: { id: string; customerId: string }[] }).items;
    const of = { A: drafts.find((d) => d.customerId === refs['A.customer'])?.id, B: drafts.find((d) => d.customerId === refs['B.customer'])?.id } as Record<'A' | 'B', string>;
    await Promise.all(owners.map((owner) => call(security.token, 'patch', `/api/v1/breach-notifications/${of[owner]}`,
      { sections: { ...measures(owner), dataSubjects: owner === 'B' ? `Recipients of ${canaryB}` : 'Recipients of Alpha codes' } })));
    return of;
  }
  const confirmedIncident = async (title: string) => {
    const id = await report(title);
    await transition(security.token, id, { to: 'triage' });
    await call(security.token, 'post', `/api/v1/incidents/${id}/scope`);
    await confirm(id);
    return id;
  };
  const followUp = async (initialId: string, text: string) => idOf(await call(security.token, 'post', `/api/v1/breach-notifications/${initialId}/follow-ups`, { sections: { update: text } }, [201]));

  // No incident step sends mail before approval: both incidents are built while the registry's mail drains.
  let initial!: Record<'A' | 'B', string>;
  await Promise.all([
    (async () => {
      refs.incident = await confirmedIncident('Carrier SMSC log export');
      await call(dpo.token, 'put', `/api/v1/incidents/${refs.incident}/customers/${refs['B.customer']}/severity`,
        { overrides: { cb: { value: 0.5, reason: `Bravo's ${canaryB} numbers were only partly exposed` } } });
      await call(security.token, 'post', `/api/v1/incidents/${refs.incident}/comments`, { text: 'The carrier disabled the operator account.' });
      refs.evidence = idOf(await t.http().post(`/api/v1/incidents/${refs.incident}/evidence`).query({ fileName: 'siem-alert.json' })
        .set(bearer(security.token)).set('Content-Type', 'application/json').send('{"alert":"export"}'));
      initial = await draftBoth(refs.incident);
      [refs['A.notification'], refs['B.notification']] = [initial.A, initial.B];
    })(),
    // A second incident whose drafts wait for approval.
    (async () => {
      refs.incidentDrafts = await confirmedIncident('Gateway log bucket exposed');
      const drafts = await draftBoth(refs.incidentDrafts);
      [refs['A.draft'], refs['B.draft']] = [drafts.A, drafts.B];
    })(),
    // One that concerns neither customer: no customer may see its report.
    report('Internal portal phishing attempt').then((id) => (refs.incidentOther = id)),
  ]);
  // A's mail is refused for good (so it can be sent again), B's is delivered. Two follow-ups of A's fail too: the
  // mail of a notification can be sent again only once, and the server's refusals cannot be aimed at one mail among
  // others sent while the matrix runs, so they are made here, one after another: for the flagged DPO and the id probes.
  await approveAndWait(initial.A, 'failed');
  const failedA = [initial.A];
  for (const n of [1, 2]) {
    failedA.push(idOf(await call(security.token, 'post', `/api/v1/breach-notifications/${initial.A}/follow-ups`, { sections: { update: `Failed update ${n}.` } }, [201])));
    await approveAndWait(failedA[n], 'failed');
  }
  await call(dpo.token, 'post', `/api/v1/breach-notifications/${initial.B}/approval`);
  [refs['A.followUpDraft'], refs['B.followUpDraft']] = await Promise.all([
    followUp(initial.A, 'The forensic report is due on Friday.'), followUp(initial.B, `Forensics for ${canaryB} are due on Friday.`),
  ]);

  // One-click acknowledgement links and public subscriptions carry their own signed tokens.
  const links = new AcknowledgementLinks(TEST_JWT_SECRET);
  const tokens = new SubscriptionTokens(TEST_JWT_SECRET);
  refs.jobName = 'public-subscribers-cleanup';
  async function subscriber(): Promise<Record<string, string>> {
    const [row] = await t.db.superuser<{ id: string }>(
      'INSERT INTO public_subscribers (email, confirmed_at, created_at) VALUES ($1, now(), now()) RETURNING id', [`follower-${randomUUID()}@public.example.test`]);
    return { id: row.id, confirmToken: tokens.sign('confirm', row.id), unsubscribeToken: tokens.sign('unsubscribe', row.id) };
  }
  const sub = await subscriber();
  [refs.subscriber, refs['subscriber.confirmToken'], refs['subscriber.unsubscribeToken']] = [sub.id, sub.confirmToken, sub.unsubscribeToken];

  let freshCount = 0;
  async function fresh(name: FactoryName): Promise<Record<string, string>> {
    freshCount += 1;
    switch (name) {
      case 'incidentReported':
        return { id: await report(`Fresh incident ${freshCount}`) };
      case 'incidentTriaged': {
        const id = await report(`Fresh incident ${freshCount}`);
        await transition(security.token, id, { to: 'triage' });
        return { id };
      }
      case 'incidentConfirmed': {
        const id = await report(`Fresh incident ${freshCount}`);
        await transition(security.token, id, { to: 'triage' });
        await call(security.token, 'post', `/api/v1/incidents/${id}/scope`);
        await confirm(id);
        return { id };
      }
      case 'ackToken': {
        const id = await followUp(initial.A, `Update number ${freshCount}.`);
        await call(dpo.token, 'post', `/api/v1/breach-notifications/${id}/approval`);
        return { id, token: links.sign(id, new Date(Date.now() + 24 * HOUR)) };
      }
      case 'followUpDraft':
        return { id: await followUp(initial.A, `Draft update number ${freshCount}.`) };
      case 'subscriber':
        return subscriber();
      case 'pendingNotice':
        return { id: await notice(`Fresh Router ${freshCount}`) };
      case 'objectionA':
        return { id: await objectA(await notice(`Fresh Objected Router ${freshCount}`)) };
      case 'objectionB':
        return { id: await objectB(await notice(`Fresh Objected Router ${freshCount}`)) };
      case 'draftA':
      case 'draftB': {
        const owner = name === 'draftA' ? 'A' : 'B';
        return { id: (await draftBoth(await confirmedIncident(`Fresh drafts ${freshCount}`), [owner]))[owner] };
      }
      case 'failedNotificationA': {
        const id = failedA.shift();
        if (!id) throw new Error('no more notifications of A whose mail failed: make more in buildWorld');
        return { id };
      }
      case 'holdA':
        return { id: idOf(await holdA()) };
      case 'holdB':
        return { id: idOf(await holdB()) };
      case 'proposedSubprocessor':
        return { id: await subprocessor(`Fresh Proposed Router ${freshCount}`) };
      case 'approvedSubprocessor':
        return { id: await approvedSubprocessor(`Fresh Approved Router ${freshCount}`) };
    }
  }

  [refs['A.ackToken'], refs['A.usedAckToken']] = (await Promise.all([fresh('ackToken'), fresh('ackToken')])).map((f) => f.token);
  const used = await t.http().post(`/api/v1/breach-acknowledgements/${refs['A.usedAckToken']}`);
  if (used.status !== 200) throw new Error(`acknowledging by link answered ${used.status}`);

  return {
    t, smtp, refs, canaryB,
    credentials: {
      anonymous: null, admin, dpo: dpo.token, legal: legal.token, security: security.token, auditor: auditor.token,
      customerA: userA.token, customerB: userB.token, ingest: ingest.key, auditorKey: auditorKey.key, dpoPii: dpoPii.token,
    },
    pii: {
      msisdns: Object.values(msisdns), bodyMarkers, messages,
      about: {
        'A.message': [msisdns.A, bodyMarkers[0]], 'B.message': [msisdns.B, bodyMarkers[1]], 'B.erasedMessage': [],
        'A.accessRequest': [msisdns.A, bodyMarkers[0]], 'B.accessRequest': [msisdns.B, bodyMarkers[1]],
      },
    },
    fresh,
  };
}

/** Until every queued mail has been taken by the SMTP server (or refused for good). */
export async function waitForQueue(t: TestApp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await t.db.superuser<{ n: string }>(`SELECT count(*)::text AS n FROM mails WHERE status NOT IN ('sent', 'failed')`);
    if (row.n === '0') return;
    if (Date.now() > deadline) throw new Error(`${row.n} mails still queued after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
