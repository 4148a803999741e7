import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { type Element, xml2js } from 'xml-js';
import type { PublicSubprocessorList } from '../src/public/dto/public-subprocessor.dto';
import { SubscribersService, type PublicChange } from '../src/public/subscribers.service';
import { ADMIN, createUser, login, startTestApp, type TestApp } from './support/app';
import { bearer, countRows, expectProblem } from './support/http';
import { seedCustomer, seedDpa, seedNotice, seedSubprocessor } from './support/registry-fixtures';
import { startSmtp, type ReceivedMail, type TestSmtp } from './support/smtp';

const BASE = 'https://custodian.example.test';
/** Values stored in non-public fields: none may ever appear on a public page, in the JSON or the feed. */
const CANARIES = ['CANARY-PARENT-ALPHA', 'CANARY-PARENT-NEW', 'CANARY-CERT-ALPHA', 'CANARY-SERVICE-ALPHA', 'CANARY-REASON', 'CANARY CUSTOMER', 'canary-dpo@', 'canary-breach@', 'Suspended Sigma', 'Offboarded Omega'];

const expectNoCanary = (text: string) => {
  for (const canary of CANARIES) expect(text).not.toContain(canary);
};

/** The children of an xml-js element with the given name. */
const children = (el: Element | undefined, name: string): Element[] => (el?.elements ?? []).filter((e) => e.type === 'element' && e.name === name);
const child = (el: Element | undefined, name: string): Element => {
  const found = children(el, name);
  expect({ name, count: found.length }).toEqual({ name, count: 1 });
  return found[0];
};
const textOf = (el: Element): string => (el.elements ?? []).map((e) => (e.type === 'text' || e.type === 'cdata' ? String(e.text ?? e.cdata) : '')).join('');

/** The path and query of an absolute link in a mail, to request it from the in-process app. */
const pathOf = (url: string) => {
  const u = new URL(url);
  expect(u.origin).toBe(BASE);
  return `${u.pathname}${u.search}`;
};

function linkIn(mail: ReceivedMail, action: 'confirm' | 'unsubscribe'): string {
  const match = mail.text.match(new RegExp(`${BASE.replace(/[.]/g, '\\.')}/public/subscriptions/[0-9a-f-]{36}/${action}\\?token=[A-Za-z0-9_-]{43}`));
  expect(match).not.toBeNull();
  return match![0];
}

describe('public sub-processor list', () => {
  let t: TestApp;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    // Without the scheduled jobs: Papa's notice took effect in the past, and the change-notice job
    // would apply it at its next tick and change the list under the assertions.
    t = await startTestApp({ PUBLIC_BASE_URL: BASE, JOBS_ENABLED: 'false' });
    ids.alpha = await seedSubprocessor(t, {
      legalEntity: 'Alpha Telecom GmbH', country: 'DE', purpose: 'SMS termination in Germany', carriesCountries: ['DE'],
      parentCompany: 'CANARY-PARENT-ALPHA', certifications: [{ name: 'CANARY-CERT-ALPHA', expiresAt: '2027-01-01' }], services: ['CANARY-SERVICE-ALPHA'],
      activeSince: new Date('2025-03-01T10:00:00Z'), transferMechanism: 'none',
    });
    ids.bravo = await seedSubprocessor(t, {
      legalEntity: 'Bravo Cloud Inc.', country: 'US', role: 'hosting', global: true, purpose: 'Hosting & storage <encrypted>',
      transferMechanism: 'scc', activeSince: new Date('2025-05-15T00:00:00Z'),
    });
    ids.sigma = await seedSubprocessor(t, { legalEntity: 'Suspended Sigma SA', country: 'FR', status: 'suspended' });
    ids.omega = await seedSubprocessor(t, { legalEntity: 'Offboarded Omega AB', country: 'SE', status: 'offboarded' });
    ids.papa = await seedSubprocessor(t, { legalEntity: 'Papa Mobile Ltd', country: 'GB', status: 'proposed', transferMechanism: 'adequacy', purpose: 'SMS termination in the UK' });
    ids.newNotice = await seedNotice(t, {
      subprocessorId: ids.papa, kind: 'new_subprocessor', reason: 'CANARY-REASON new route', status: 'pending',
      proposedAt: new Date('2026-01-10T09:00:00Z'), effectiveAt: new Date('2026-02-09T09:00:00Z'),
    });
    ids.changeNotice = await seedNotice(t, {
      subprocessorId: ids.alpha, kind: 'material_change', reason: 'CANARY-REASON takeover', status: 'effective',
      changes: { parentCompany: { from: 'CANARY-PARENT-ALPHA', to: 'CANARY-PARENT-NEW' }, country: { from: 'AT', to: 'DE' } },
      proposedAt: new Date('2025-11-01T09:00:00Z'), effectiveAt: new Date('2025-12-01T09:00:00Z'), appliedAt: new Date('2025-12-01T09:05:00Z'),
    });
    ids.withdrawn = await seedNotice(t, {
      subprocessorId: ids.sigma, kind: 'new_subprocessor', reason: 'CANARY-REASON withdrawn', status: 'withdrawn', proposedAt: new Date('2025-10-01T09:00:00Z'),
    });
    const customer = await seedCustomer(t, {
      legalName: 'CANARY CUSTOMER AG', dpoContact: { name: 'Dora', email: 'canary-dpo@customer.example.test' }, breachNotificationEmails: ['canary-breach@customer.example.test'],
    });
    await seedDpa(t, { customerId: customer });
  });
  afterAll(() => t.close());

  describe('GET /public/subprocessors (HTML)', () => {
    let html: string;
    let headers: Record<string, string>;

    beforeAll(async () => {
      const res = await t.http().get('/public/subprocessors').expect(200);
      html = res.text;
      headers = res.headers as Record<string, string>;
    });

    it('is an HTML page with a language, a title, a main landmark and one h1, served without login or script', () => {
      expect(headers['content-type']).toBe('text/html; charset=utf-8');
      expect(html).toMatch(/^<!doctype html>\s*<html lang="en">/);
      expect(html).toMatch(/<title>Sub-processors<\/title>/);
      expect(html.match(/<main id="main">/g)).toHaveLength(1);
      expect(html.match(/<h1>/g)).toHaveLength(1);
      expect(html).not.toMatch(/<script|onclick=|javascript:/i);
      expect(headers['content-security-policy']).toContain("script-src 'self'");
      expect(headers['cache-control']).toBe('public, max-age=300');
    });

    it('lists exactly the active sub-processors in a captioned table with column and row headers', () => {
      const first = html.slice(html.indexOf('<table>'), html.indexOf('</table>'));
      expect(first).toContain('<caption>Active sub-processors (2)</caption>');
      expect([...first.matchAll(/<th scope="col">([^<]+)<\/th>/g)].map((m) => m[1])).toEqual(['Name', 'Purpose', 'Country', 'Transfer mechanism', 'Since']);
      const rows = [...first.matchAll(/<tr>\s*<th scope="row">([^<]+)<\/th>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<span>\(([A-Z]{2})\)<\/span><\/td>\s*<td>([^<]*)<\/td>\s*<td><time datetime="([^"]+)">([^<]+)<\/time><\/td>/g)]
        .map((m) => m.slice(1));
      expect(rows).toEqual([
        ['Alpha Telecom GmbH', 'SMS termination in Germany', 'Germany ', 'DE', 'None required', '2025-03-01', '1 March 2025'],
        ['Bravo Cloud Inc.', 'Hosting &amp; storage &lt;encrypted&gt;', 'United States ', 'US', 'Standard contractual clauses (GDPR Art. 46(2)(c))', '2025-05-15', '15 May 2025'],
      ]);
    });

    it('shows announced (pending) changes, not effective or withdrawn ones, and never a non-public field', () => {
      expect(html).toContain('<caption>Announced changes (1)</caption>');
      expect(html).toContain('<th scope="row">Papa Mobile Ltd</th>');
      expect(html).toContain('Papa Mobile Ltd (United Kingdom) is added as a sub-processor for: SMS termination in the UK.');
      expect(html).toContain('<time datetime="2026-02-09">9 February 2026</time>');
      expectNoCanary(html);
    });

    it('links the JSON and the Atom feed as alternates, and both links answer', async () => {
      const alternates = [...html.matchAll(/<link rel="alternate" type="([^"]+)" title="[^"]+" href="([^"]+)">/g)].map((m) => [m[1], m[2]]);
      expect(alternates).toEqual([['application/atom+xml', 'subprocessors/feed.atom'], ['application/json', 'subprocessors.json']]);
      for (const [type, href] of alternates) {
        const url = new URL(href, 'http://host/public/subprocessors');
        const res = await t.http().get(url.pathname).expect(200);
        expect(res.headers['content-type']).toContain(type);
      }
    });

    it('has a subscription form that posts an e-mail field to the subscriptions endpoint', () => {
      expect(html).toMatch(/<form method="post" action="subscriptions">\s*<label for="email">E-mail address<\/label>\s*<input id="email" name="email" type="email" required/);
      expect(new URL('subscriptions', 'http://host/public/subprocessors').pathname).toBe('/public/subscriptions');
    });

    it('lives outside the API prefix', async () => {
      await t.http().get('/api/v1/public/subprocessors').expect(404);
    });
  });

  describe('GET /public/subprocessors.json', () => {
    it('has the same active sub-processors with public fields only, and the announced change', async () => {
      const res = await t.http().get('/public/subprocessors.json').expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      const body = res.body as PublicSubprocessorList;
      expect(Object.keys(body).sort()).toEqual(['announcedChanges', 'links', 'subprocessors']);
      expect(body.subprocessors).toEqual([
        { name: 'Alpha Telecom GmbH', purpose: 'SMS termination in Germany', country: 'DE', countryName: 'Germany', transferMechanism: 'none',
          transferMechanismLabel: 'None required', activeSince: '2025-03-01T10:00:00.000Z' },
        { name: 'Bravo Cloud Inc.', purpose: 'Hosting & storage <encrypted>', country: 'US', countryName: 'United States', transferMechanism: 'scc',
          transferMechanismLabel: 'Standard contractual clauses (GDPR Art. 46(2)(c))', activeSince: '2025-05-15T00:00:00.000Z' },
      ]);
      expect(body.announcedChanges).toEqual([expect.objectContaining({
        id: ids.newNotice, kind: 'new_subprocessor', status: 'pending', subprocessorName: 'Papa Mobile Ltd', effectiveAt: '2026-02-09T09:00:00.000Z',
      })]);
      expect(body.links).toEqual({
        page: `${BASE}/public/subprocessors`, json: `${BASE}/public/subprocessors.json`, atom: `${BASE}/public/subprocessors/feed.atom`, subscribe: `${BASE}/public/subscriptions`,
      });
      const text = JSON.stringify(body);
      expectNoCanary(text);
      for (const id of [ids.alpha, ids.bravo, ids.sigma, ids.omega, ids.papa]) expect(text).not.toContain(id);
    });
  });

  describe('GET /public/subprocessors/feed.atom', () => {
    let xml: string;
    let feed: Element;

    beforeAll(async () => {
      const res = await t.http().get('/public/subprocessors/feed.atom').buffer(true).parse((r, cb) => {
        let data = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (data += c));
        r.on('end', () => cb(null, data));
      }).expect(200);
      expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
      xml = res.body as string;
      // xml-js parses with sax in strict mode: anything not well-formed throws.
      const doc = xml2js(xml, { compact: false }) as Element;
      feed = child(doc, 'feed');
    });

    it('is a well-formed Atom 1.0 document with the required feed elements', () => {
      expect(xml.startsWith('<?xml version="1.0" encoding="utf-8"?>')).toBe(true);
      expect(feed.attributes?.xmlns).toBe('http://www.w3.org/2005/Atom');
      expect(textOf(child(feed, 'id'))).toBe(`${BASE}/public/subprocessors`);
      expect(textOf(child(feed, 'title'))).toBe('Sub-processor changes');
      expect(textOf(child(child(feed, 'author'), 'name'))).toBe('Custodian');
      const links = children(feed, 'link').map((l) => l.attributes);
      expect(links).toEqual(expect.arrayContaining([
        expect.objectContaining({ rel: 'self', href: `${BASE}/public/subprocessors/feed.atom` }),
        expect.objectContaining({ rel: 'alternate', href: `${BASE}/public/subprocessors` }),
      ]));
      // The newest entry's update, not the time of the request.
      expect(textOf(child(feed, 'updated'))).toBe('2026-01-10T09:00:00.000Z');
    });

    it('has one entry per notice that was not withdrawn, newest first, each with id, title, updated, link and summary', () => {
      const entries = children(feed, 'entry');
      expect(entries.map((e) => textOf(child(e, 'id')))).toEqual([`urn:uuid:${ids.newNotice}`, `urn:uuid:${ids.changeNotice}`]);
      const [added, changed] = entries;
      expect(textOf(child(added, 'title'))).toBe('New sub-processor: Papa Mobile Ltd');
      expect(textOf(child(added, 'updated'))).toBe('2026-01-10T09:00:00.000Z');
      expect(textOf(child(added, 'summary'))).toContain('Takes effect on 9 February 2026.');
      expect(child(added, 'link').attributes).toMatchObject({ rel: 'alternate', href: `${BASE}/public/subprocessors` });
      expect(textOf(child(changed, 'title'))).toBe('Change to sub-processor: Alpha Telecom GmbH');
      expect(textOf(child(changed, 'updated'))).toBe('2025-12-01T09:05:00.000Z');
      // Ownership is named as changed; the owners, which are not public, are not quoted.
      expect(textOf(child(changed, 'summary'))).toBe('Alpha Telecom GmbH: country from Austria (AT) to Germany (DE); ownership changes. Took effect on 1 December 2025.');
      expect(xml).not.toContain(ids.withdrawn);
      expectNoCanary(xml);
    });

    it('stays well-formed whatever a name contains', async () => {
      await t.db.superuser(`UPDATE subprocessors SET legal_entity = $1 WHERE id = $2`, ['Papa <Mobile> & "Sons" ]]> \u0001Ltd', ids.papa]);
      try {
        const res = await t.http().get('/public/subprocessors/feed.atom').buffer(true).parse((r, cb) => {
          let data = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => (data += c));
          r.on('end', () => cb(null, data));
        }).expect(200);
        const doc = xml2js(res.body as string, { compact: false }) as Element;
        const title = textOf(child(children(child(doc, 'feed'), 'entry')[0], 'title'));
        expect(title).toBe('New sub-processor: Papa <Mobile> & "Sons" ]]> Ltd');
      } finally {
        await t.db.superuser(`UPDATE subprocessors SET legal_entity = 'Papa Mobile Ltd' WHERE id = $1`, [ids.papa]);
      }
    });
  });
});

describe('public subscriptions (double opt-in) with a real SMTP server', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let subscribers: SubscribersService;
  const change = (name: string): PublicChange => ({
    noticeId: randomUUID(), subprocessorName: name, kind: 'new_subprocessor',
    summary: `${name} (Germany) is added as a sub-processor for: SMS. Takes effect on 9 February 2026.`, effectiveAt: new Date('2026-02-09T09:00:00Z'),
  });
  const notify = (c: PublicChange) => t.app.get(DataSource).transaction((em) => subscribers.notifyChange(em, c));
  const mailsTo = (address: string) => smtp.received.filter((m) => m.to.includes(address));

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE });
    subscribers = t.app.get(SubscribersService);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('subscribe → confirmation mail → confirm → change mail with unsubscribe link → unsubscribe → no more mail', async () => {
    const email = `Reader-${randomUUID()}@Example.test`;
    const address = email.toLowerCase();
    const first = await t.http().post('/public/subscriptions').send({ email }).expect(202);
    expect(first.body).toEqual({ status: 'confirmation-sent', message: expect.any(String) });

    const [confirmMail] = await smtp.waitFor(1);
    expect(confirmMail.to).toEqual([address]);
    expect(confirmMail.subject).toBe('Confirm your subscription to sub-processor changes');
    expect(confirmMail.subject.toLowerCase()).not.toContain(address);
    const confirmUrl = linkIn(confirmMail, 'confirm');
    expect(confirmMail.html).toContain(confirmUrl.replace(/&/g, '&amp;'));
    linkIn(confirmMail, 'unsubscribe'); // every mail, the first one too
    const id = confirmUrl.split('/')[5];

    // Not confirmed yet: a change mails nobody.
    expect(await notify(change('Early Carrier'))).toBe(0);

    const confirmed = await t.http().get(pathOf(confirmUrl)).expect(200);
    expect(confirmed.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(confirmed.headers['cache-control']).toBe('no-store');
    expect(confirmed.text).toContain('<h1>Subscription confirmed</h1>');
    const [row] = await t.db.superuser<{ confirmed_at: Date | null }>('SELECT confirmed_at FROM public_subscribers WHERE id = $1', [id]);
    expect(row.confirmed_at).toBeInstanceOf(Date);
    // A second click changes nothing and still answers the page.
    await t.http().get(pathOf(confirmUrl)).expect(200);

    expect(await notify(change('Charlie Carrier'))).toBe(1);
    await smtp.waitFor(2);
    const changeMail = mailsTo(address)[1];
    expect(changeMail.subject).toBe('New sub-processor: Charlie Carrier');
    expect(changeMail.text).toContain('Charlie Carrier (Germany) is added as a sub-processor');
    expect(changeMail.text).toContain(`${BASE}/public/subprocessors`);
    const unsubscribeUrl = linkIn(changeMail, 'unsubscribe');
    // Mail clients offer the same link as a one-click unsubscribe (RFC 8058).
    // (mailparser gathers the List-* headers under `list`.)
    const list = JSON.stringify(changeMail.headers.get('list'));
    expect(list).toContain(pathOf(unsubscribeUrl).split('?')[0]);
    expect(list).toContain('One-Click');

    // The link shows a page with a button (mail scanners follow links; they do not press buttons).
    const prompt = await t.http().get(pathOf(unsubscribeUrl)).expect(200);
    expect(prompt.text).toMatch(/<form method="post" action="unsubscribe\?token=[A-Za-z0-9_-]{43}">/);
    expect(await countRows(t, 'public_subscribers')).toBe(1);
    // The button, or an RFC 8058 one-click POST from the mail client.
    const done = await t.http().post(pathOf(unsubscribeUrl)).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(done.text).toContain('<h1>Unsubscribed</h1>');
    expect(await countRows(t, 'public_subscribers')).toBe(0);

    const queuedBefore = await countRows(t, `mails WHERE template = 'subprocessor-change-public'`);
    expect(await notify(change('Delta Carrier'))).toBe(0);
    expect(await countRows(t, `mails WHERE template = 'subprocessor-change-public'`)).toBe(queuedBefore);
    await new Promise((r) => setTimeout(r, 1500));
    expect(mailsTo(address)).toHaveLength(2);

    // The old links now answer "not subscribed" pages, not errors.
    expect((await t.http().get(pathOf(unsubscribeUrl)).expect(200)).text).toContain('<h1>Not subscribed</h1>');
    await t.http().post(pathOf(unsubscribeUrl)).expect(200);
    expectProblem(await t.http().get(pathOf(confirmUrl)), 404, 'not-found');

    // The trail: system actor, and never the address.
    const trail = await t.db.superuser<{ action: string; actor_type: string; actor_id: string | null; subject_id: string; changes: unknown }>(
      `SELECT action, actor_type, actor_id, subject_id, changes FROM audit_log WHERE subject_type = 'Subscriber' AND subject_id = $1 ORDER BY seq`, [id]);
    expect(trail.map((e) => e.action)).toEqual(['subscriber.subscribed', 'subscriber.confirmed', 'subscriber.unsubscribed']);
    for (const e of trail) expect(e).toMatchObject({ actor_type: 'system', actor_id: null });
    expect(JSON.stringify(trail).toLowerCase()).not.toContain(address);
  });

  it('answers a known address exactly like a new one, and mails only those who confirmed', async () => {
    const confirmedAddress = `confirmed-${randomUUID()}@example.test`;
    const pendingAddress = `pending-${randomUUID()}@example.test`;
    const start = smtp.received.length;
    const fresh = await t.http().post('/public/subscriptions').send({ email: confirmedAddress }).expect(202);
    await smtp.waitFor(start + 1);
    await t.http().get(pathOf(linkIn(mailsTo(confirmedAddress)[0], 'confirm'))).expect(200);
    const again = await t.http().post('/public/subscriptions').send({ email: confirmedAddress }).expect(202);
    expect(again.body).toEqual(fresh.body);

    await t.http().post('/public/subscriptions').send({ email: pendingAddress }).expect(202);
    // Entered again at once: same answer, but no second confirmation mail (no mail-bombing through us).
    expect((await t.http().post('/public/subscriptions').send({ email: pendingAddress }).expect(202)).body).toEqual(fresh.body);
    await smtp.waitFor(start + 2);

    expect(await notify(change('Echo Carrier'))).toBe(1);
    await smtp.waitFor(start + 3);
    await new Promise((r) => setTimeout(r, 1000));
    expect(mailsTo(confirmedAddress).map((m) => m.subject)).toEqual(['Confirm your subscription to sub-processor changes', 'New sub-processor: Echo Carrier']);
    expect(mailsTo(pendingAddress).map((m) => m.subject)).toEqual(['Confirm your subscription to sub-processor changes']);
  });

  it('refuses forged, swapped, missing and foreign tokens with a 404 problem', async () => {
    const email = `tokens-${randomUUID()}@example.test`;
    const start = smtp.received.length;
    await t.http().post('/public/subscriptions').send({ email }).expect(202);
    await smtp.waitFor(start + 1);
    const mail = mailsTo(email)[0];
    const confirmUrl = new URL(linkIn(mail, 'confirm'));
    const unsubscribeUrl = new URL(linkIn(mail, 'unsubscribe'));
    const id = confirmUrl.pathname.split('/')[3];
    const token = confirmUrl.searchParams.get('token')!;
    const flipped = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);

    const attempts = [
      `/public/subscriptions/${id}/confirm?token=${flipped}`,
      `/public/subscriptions/${id}/confirm`,
      `/public/subscriptions/${id}/confirm?token=`,
      `/public/subscriptions/${id}/confirm?token=${unsubscribeUrl.searchParams.get('token')}`, // the other purpose
      `/public/subscriptions/${randomUUID()}/confirm?token=${token}`, // another id
      `/public/subscriptions/not-a-uuid/confirm?token=${token}`,
      `/public/subscriptions/${id}/unsubscribe?token=${token}`, // a confirm token cannot unsubscribe
    ];
    for (const path of attempts) expectProblem(await t.http().get(path), 404, 'not-found');
    expectProblem(await t.http().post(`/public/subscriptions/${id}/unsubscribe?token=${token}`), 404, 'not-found');
    const [row] = await t.db.superuser<{ confirmed_at: Date | null }>('SELECT confirmed_at FROM public_subscribers WHERE id = $1', [id]);
    expect(row.confirmed_at).toBeNull();
  });

  it('a confirmation link older than the confirmation window no longer works, and the cleanup job forgets the address', async () => {
    const email = `late-${randomUUID()}@example.test`;
    const start = smtp.received.length;
    await t.http().post('/public/subscriptions').send({ email }).expect(202);
    await smtp.waitFor(start + 1);
    const confirmUrl = linkIn(mailsTo(email)[0], 'confirm');
    const id = new URL(confirmUrl).pathname.split('/')[3];
    await t.db.superuser(`UPDATE public_subscribers SET created_at = now() - interval '8 days' WHERE id = $1`, [id]);
    expectProblem(await t.http().get(pathOf(confirmUrl)), 404, 'not-found');

    const admin = await login(t, ADMIN.email, ADMIN.password);
    const run = await t.http().post('/api/v1/jobs/public-subscribers-cleanup/run').set(bearer(admin)).expect(200);
    expect(run.body).toMatchObject({ outcome: 'succeeded', counts: { deleted: 1 } });
    expect(await countRows(t, `public_subscribers WHERE id = '${id}'`)).toBe(0);
  });

  it('accepts the HTML form (urlencoded) and answers with a page', async () => {
    const email = `form-${randomUUID()}@example.test`;
    const res = await t.http().post('/public/subscriptions').type('form').send({ email }).expect(202);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain('<h1>Check your inbox</h1>');
    expect(res.text).not.toContain(email);
    expect(await countRows(t, `public_subscribers WHERE email = '${email}'`)).toBe(1);
  });

  it('refuses a bad address or unknown fields (400) and stores nothing', async () => {
    const before = await countRows(t, 'public_subscribers');
    expectProblem(await t.http().post('/public/subscriptions').send({ email: 'not an address' }), 400, 'validation');
    expectProblem(await t.http().post('/public/subscriptions').send({ email: `x-${randomUUID()}@example.test`, admin: true }), 400, 'validation');
    expectProblem(await t.http().post('/public/subscriptions').type('form').send('email=a&email=b'), 400, 'validation');
    expect(await countRows(t, 'public_subscribers')).toBe(before);
  });

  it('shows the DPO how many subscribe, not who; other roles may not see it', async () => {
    const admin = await login(t, ADMIN.email, ADMIN.password);
    const dpo = await createUser(t, admin, { email: `dpo-${randomUUID()}@example.test`, role: 'dpo' });
    const legal = await createUser(t, admin, { email: `legal-${randomUUID()}@example.test`, role: 'legal' });
    const [expected] = await t.db.superuser<{ confirmed: number; pending: number }>(
      'SELECT count(*) FILTER (WHERE confirmed_at IS NOT NULL)::int AS confirmed, count(*) FILTER (WHERE confirmed_at IS NULL)::int AS pending FROM public_subscribers');
    const res = await t.http().get('/api/v1/subscribers').set(bearer(dpo.token)).expect(200);
    expect(res.body).toEqual(expected);
    expect(expected.confirmed).toBeGreaterThan(0);
    expectProblem(await t.http().get('/api/v1/subscribers').set(bearer(legal.token)), 403);
    expectProblem(await t.http().get('/api/v1/subscribers'), 401);
  });

  it('limits how often one client may ask (429 with Retry-After)', async () => {
    let status = 0;
    let retryAfter: string | undefined;
    for (let i = 0; i < 25 && status !== 429; i++) {
      const res = await t.http().post('/public/subscriptions').send({ email: `flood-${i}-${randomUUID()}@example.test` });
      status = res.status;
      retryAfter = res.headers['retry-after'] as string | undefined;
    }
    expect(status).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});
