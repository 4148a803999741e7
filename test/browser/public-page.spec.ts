import { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app';
import { seedNotice, seedSubprocessor } from '../support/registry-fixtures';
import { startSmtp, type TestSmtp } from '../support/smtp';

/*
 * The public sub-processor page in a real browser: Debian's Chromium (`apt-get install chromium`),
 * headless, driven by playwright-core. Set CHROMIUM_PATH to use another binary.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps dialling Google on a closed network.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? '/tmp';

/** The little of the browser's XML DOM used below (the project compiles without the DOM library). */
interface XmlNode {
  localName: string;
  namespaceURI: string | null;
  textContent: string | null;
  getElementsByTagName(name: string): ArrayLike<XmlNode>;
  getElementsByTagNameNS(ns: string, name: string): ArrayLike<XmlNode>;
}
const DAY = 86_400_000;
const longDate = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' });

declare const DOMParser: new () => { parseFromString(source: string, type: string): XmlNode & { documentElement: XmlNode } };

describe('public sub-processor page in Chromium', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  const kiwiEffectiveAt = new Date(Date.now() + 30 * DAY);
  /** Console errors, CSP violations among them: the page must cause none. */
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: 'https://custodian.example.test' });
    await t.app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;

    await seedSubprocessor(t, { legalEntity: 'Nordic Carrier AS', country: 'NO', purpose: 'SMS termination in Norway', transferMechanism: 'none', activeSince: new Date('2025-04-02T00:00:00Z') });
    await seedSubprocessor(t, { legalEntity: 'Atlantic Cloud LLC', country: 'US', role: 'hosting', global: true, purpose: 'Hosting', transferMechanism: 'scc', activeSince: new Date('2025-07-20T00:00:00Z') });
    await seedSubprocessor(t, { legalEntity: 'Retired Carrier SA', country: 'FR', status: 'offboarded' });
    const proposed = await seedSubprocessor(t, { legalEntity: 'Kiwi Mobile Ltd', country: 'NZ', status: 'approved', transferMechanism: 'adequacy', purpose: 'SMS termination in New Zealand' });
    // Announced yesterday, effective in 30 days: still pending whenever the suite runs (the
    // change-notice job would otherwise apply it mid-test and the list would change under it).
    await seedNotice(t, { subprocessorId: proposed, status: 'pending', proposedAt: new Date(Date.now() - DAY), effectiveAt: kiwiEffectiveAt });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    context = await browser.newContext({ baseURL: origin, locale: 'en-GB' });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400) consoleErrors.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await smtp?.close();
  });

  it('shows the active sub-processors in an accessible table', async () => {
    const response = await page.goto('/public/subprocessors');
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Sub-processors');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await expect(page.getByRole('main').count()).resolves.toBe(1);
    expect(await page.getByRole('heading', { level: 1 }).allInnerTexts()).toEqual(['Sub-processors']);
    expect(await page.getByRole('heading', { level: 2 }).allInnerTexts()).toEqual(['Announced changes', 'Get an e-mail when this list changes', 'Machine-readable']);

    // The caption names the table; the headers are real column and row headers.
    const table = page.getByRole('table', { name: 'Active sub-processors (2)' });
    expect(await table.getByRole('columnheader').allInnerTexts()).toEqual(['Name', 'Purpose', 'Country', 'Transfer mechanism', 'Since']);
    expect(await table.getByRole('rowheader').allInnerTexts()).toEqual(['Atlantic Cloud LLC', 'Nordic Carrier AS']);
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => (c.textContent ?? '').replace(/\s+/g, ' ').trim())));
    expect(rows).toEqual([
      ['Atlantic Cloud LLC', 'Hosting', 'United States (US)', 'Standard contractual clauses (GDPR Art. 46(2)(c))', '20 July 2025'],
      ['Nordic Carrier AS', 'SMS termination in Norway', 'Norway (NO)', 'None required', '2 April 2025'],
    ]);
    expect(await page.getByText('Retired Carrier SA').count()).toBe(0);

    const changes = page.getByRole('table', { name: 'Announced changes (1)' });
    expect(await changes.getByRole('rowheader').allInnerTexts()).toEqual(['Kiwi Mobile Ltd']);
    expect(await changes.locator('td').first().innerText()).toContain(`Takes effect on ${longDate.format(kiwiEffectiveAt)}.`);

    // Keyboard users land on the skip link first, and it leads to the main content.
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Skip to content');

    await page.screenshot({ path: `${SCREENSHOT_DIR}/custodian-public-subprocessors.png`, fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('the JSON and Atom alternates it links to work, and the feed parses as XML in the browser', async () => {
    await page.goto('/public/subprocessors');
    const alternates = (await page.locator('link[rel="alternate"]').evaluateAll((links) =>
      links.map((l) => ({ type: l.getAttribute('type'), href: l.getAttribute('href') ?? '' }))))
      .map((a) => ({ ...a, href: new URL(a.href, page.url()).toString() }));
    expect(alternates.map((a) => a.type).sort()).toEqual(['application/atom+xml', 'application/json']);

    const json = alternates.find((a) => a.type === 'application/json')!;
    const jsonRes = await page.request.get(json.href);
    expect(jsonRes.status()).toBe(200);
    const list = (await jsonRes.json()) as { subprocessors: { name: string }[] };
    expect(list.subprocessors.map((s) => s.name)).toEqual(['Atlantic Cloud LLC', 'Nordic Carrier AS']);

    const atom = alternates.find((a) => a.type === 'application/atom+xml')!;
    const atomRes = await page.request.get(atom.href);
    expect(atomRes.headers()['content-type']).toBe('application/atom+xml; charset=utf-8');
    const xml = await atomRes.text();
    const parsed = await page.evaluate((source) => {
      const doc = new DOMParser().parseFromString(source, 'application/xml');
      const ns = 'http://www.w3.org/2005/Atom';
      return {
        errors: doc.getElementsByTagName('parsererror').length,
        root: `${doc.documentElement.namespaceURI} ${doc.documentElement.localName}`,
        entries: Array.from(doc.getElementsByTagNameNS(ns, 'entry')).map((e) => e.getElementsByTagNameNS(ns, 'title')[0]?.textContent),
      };
    }, xml);
    expect(parsed).toEqual({ errors: 0, root: 'http://www.w3.org/2005/Atom feed', entries: ['New sub-processor: Kiwi Mobile Ltd'] });
  });

  it('subscribes through the form, confirms from the mail, and unsubscribes with the button', async () => {
    await page.goto('/public/subprocessors');
    await page.getByLabel('E-mail address').fill('reader@example.test');
    await Promise.all([page.waitForURL('**/public/subscriptions'), page.getByRole('button', { name: 'Subscribe' }).click()]);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Check your inbox');
    await page.screenshot({ path: `${SCREENSHOT_DIR}/custodian-public-subscribed.png` });

    const [mail] = await smtp.waitFor(1);
    expect(mail.to).toEqual(['reader@example.test']);
    const link = (action: string) => {
      const url = new URL(mail.text.match(new RegExp(`https://custodian\\.example\\.test/public/subscriptions/[0-9a-f-]{36}/${action}\\?token=[\\w-]{43}`))![0]);
      return `${url.pathname}${url.search}`;
    };
    await page.goto(link('confirm'));
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Subscription confirmed');
    const [row] = await t.db.superuser<{ confirmed_at: Date | null }>(`SELECT confirmed_at FROM public_subscribers WHERE email = 'reader@example.test'`);
    expect(row.confirmed_at).toBeInstanceOf(Date);

    // The page's own link back to the list is relative and lands on the list.
    await page.getByRole('link', { name: 'See the sub-processors' }).click();
    expect(new URL(page.url()).pathname).toBe('/public/subprocessors');

    await page.goto(link('unsubscribe'));
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Unsubscribe' }).click()]);
    await page.waitForSelector('h1:text("Unsubscribed")');
    const rows = await t.db.superuser(`SELECT 1 FROM public_subscribers WHERE email = 'reader@example.test'`);
    expect(rows).toHaveLength(0);
    expect(consoleErrors).toEqual([]);
  });
});
