import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { MailTemplate } from '../src/notifications/mail-template';
import { MailService } from '../src/notifications/mail.service';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer } from './support/http';
import { createCustomer } from './support/fixtures';
import { startSmtp, TestSmtp } from './support/smtp';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const HELLO: MailTemplate<{ name: string }> = {
  name: 'test-hello',
  subject: () => 'Hello from Custodian',
  text: (d) => `Hello ${d.name}`,
  html: (d) => `<p>Hello ${d.name}</p>`,
};

async function queue(t: TestApp, to = ['dpo@brand.test']): Promise<string> {
  return t.app.get(DataSource).transaction((em) => t.app.get(MailService).enqueue(em, HELLO, { name: 'Ada' }, { to }));
}

async function mailRow(t: TestApp, id: string) {
  const [row] = await t.db.superuser<{ status: string; attempts: number; last_error: string | null; sent_at: Date | null }>(
    'SELECT status, attempts, last_error, sent_at FROM mails WHERE id = $1', [id]);
  return row;
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(100);
  }
}

describe('durable mail over real SMTP', () => {
  let smtp: TestSmtp;
  let t: TestApp;
  let dpo: string;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'custodian@provider.test' });
    const admin = await login(t, ADMIN.email, ADMIN.password);
    dpo = (await createUser(t, admin, { email: 'dpo@mail.test', role: 'dpo' })).token;
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });
  beforeEach(() => {
    smtp.received.length = 0;
    smtp.answers.length = 0;
  });

  it('delivers a queued mail after the commit, with a stable Message-ID', async () => {
    const id = await queue(t);
    const [mail] = await smtp.waitFor(1);
    expect(mail).toMatchObject({ from: 'custodian@provider.test', to: ['dpo@brand.test'], subject: 'Hello from Custodian', messageId: `<${id}@custodian>` });
    expect(mail.text.trim()).toBe('Hello Ada');
    expect(await until(() => mailRow(t, id), (r) => r.status === 'sent')).toMatchObject({ status: 'sent', attempts: 1, last_error: null });
  });

  it('retries a temporary failure (451) and delivers exactly one mail', async () => {
    smtp.answers.push(451);
    const id = await queue(t);
    await smtp.waitFor(1);
    const row = await until(() => mailRow(t, id), (r) => r.status === 'sent');
    expect(row).toMatchObject({ status: 'sent', attempts: 2 });
    await sleep(1500);
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0].messageId).toBe(`<${id}@custodian>`);
  });

  it('marks a permanent failure (550) failed, does not retry it, and shows it to the DPO', async () => {
    smtp.answers.push(550);
    const id = await queue(t);
    const row = await until(() => mailRow(t, id), (r) => r.status === 'failed');
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    expect(row.last_error).toMatch(/^SMTP 550/);
    await sleep(2500);
    expect((await mailRow(t, id)).attempts).toBe(1);
    expect(smtp.received).toHaveLength(0);

    const listed = await t.http().get('/api/v1/notifications?status=failed').set(bearer(dpo)).expect(200);
    const item = (listed.body as { items: { id: string; status: string; subject: string }[] }).items.find((m) => m.id === id);
    expect(item).toMatchObject({ status: 'failed', subject: 'Hello from Custodian' });
  });

  it('forgets the addresses of a mail marked so once it is delivered', async () => {
    const id = await t.app.get(DataSource).transaction((em) =>
      t.app.get(MailService).enqueue(em, HELLO, { name: 'Sub' }, { to: ['someone@public.test'], forgetRecipients: true }));
    await smtp.waitFor(1);
    expect(smtp.received[0].to).toEqual(['someone@public.test']);
    await until(() => mailRow(t, id), (r) => r.status === 'sent');
    expect(await t.db.superuser('SELECT recipients FROM mails WHERE id = $1', [id])).toEqual([{ recipients: [] }]);
  });

  it('shows a customer user the mail about its own customer and nothing else', async () => {
    const admin = await login(t, ADMIN.email, ADMIN.password);
    const [a, b] = [await createCustomer(t), await createCustomer(t)];
    const ds = t.app.get(DataSource);
    const send = (customerId: string | null) =>
      ds.transaction((em) => t.app.get(MailService).enqueue(em, HELLO, { name: 'X' }, { to: ['x@brand.test'], customerId }));
    const [forA, forB, internal] = [await send(a.id), await send(b.id), await send(null)];
    const userA = await createUser(t, admin, { email: 'user@a.test', role: 'customer', customerId: a.id });
    const seen = await t.http().get('/api/v1/notifications?limit=200').set(bearer(userA.token)).expect(200);
    expect((seen.body as { items: { id: string }[] }).items.map((m) => m.id)).toEqual([forA]);
    const all = await t.http().get('/api/v1/notifications?limit=200').set(bearer(dpo)).expect(200);
    expect((all.body as { items: { id: string }[] }).items.map((m) => m.id)).toEqual(expect.arrayContaining([forA, forB, internal]));
    await smtp.waitFor(3); // delivered before the next test starts counting
  });

  it('sends nothing when the transaction that queued the mail rolls back', async () => {
    const before = await t.db.superuser<{ n: number }>('SELECT count(*)::int AS n FROM mails');
    await expect(
      t.app.get(DataSource).transaction(async (em) => {
        await t.app.get(MailService).enqueue(em, HELLO, { name: 'Ghost' }, { to: ['ghost@brand.test'] });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await sleep(1500);
    expect(await t.db.superuser<{ n: number }>('SELECT count(*)::int AS n FROM mails')).toEqual(before);
    expect(smtp.received).toHaveLength(0);
  });
});

describe('mail without SMTP_URL', () => {
  it('is written as an .eml file under DATA_DIR/mail', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'custodian-mail-'));
    const t = await startTestApp({ DATA_DIR: dataDir });
    try {
      const id = await queue(t, ['legal@brand.test']);
      await until(() => mailRow(t, id), (r) => r.status === 'sent');
      expect(readdirSync(join(dataDir, 'mail'))).toEqual([`${id}.eml`]);
      const eml = readFileSync(join(dataDir, 'mail', `${id}.eml`), 'utf8');
      expect(eml).toContain(`Message-ID: <${id}@custodian>`);
      expect(eml).toContain('To: legal@brand.test');
    } finally {
      await t.close();
    }
  });
});
