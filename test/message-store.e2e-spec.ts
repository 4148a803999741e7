import { DataSource } from 'typeorm';
import { KeyRing } from '../src/messages/key-ring';
import { submittedAtOf } from '../src/messages/message-id';
import { MessageStore } from '../src/messages/message-store';
import { Message } from '../src/messages/message.entity';
import { startTestApp, TestApp } from './support/app';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer } from './support/registry-fixtures';

describe('message store (envelope encryption on real Postgres)', () => {
  let t: TestApp;
  let customerId: string;
  let otherCustomerId: string;

  beforeAll(async () => {
    t = await startTestApp();
    customerId = await seedCustomer(t, { legalName: 'Acme Retail' });
    otherCustomerId = await seedCustomer(t, { legalName: 'Globex' });
  });
  afterAll(() => t.close());

  const read = async (ids: string[]) => {
    const em = t.app.get(DataSource).manager;
    const rows = await em.findBy(Message, ids.map((id) => ({ id })));
    return t.app.get(MessageStore).readPii(em, rows);
  };

  it('stores phone number and body only as ciphertext and reads them back', async () => {
    const record = messageRecord(customerId, { msisdn: '+4915112345678', body: 'Dein Code: 424242' });
    const { stored } = await storeMessages(t, [record]);
    expect(stored).toHaveLength(1);
    const [raw] = await t.db.superuser<Record<string, unknown>>('SELECT * FROM messages WHERE id = $1', [stored[0].id]);
    expect(JSON.stringify(raw)).not.toContain('4915112345678');
    expect(JSON.stringify(raw)).not.toContain('424242');
    expect((await read([stored[0].id])).get(stored[0].id)).toEqual({ msisdn: '+4915112345678', body: 'Dein Code: 424242' });
    expect(submittedAtOf(stored[0].id)).toEqual(record.submittedAt);
  });

  it('uses one data key per customer, UTC day and category', async () => {
    const day1 = new Date('2026-11-21T00:00:00.000Z');
    const day1Late = new Date('2026-11-21T23:59:59.999Z');
    const day2 = new Date('2026-11-22T00:00:00.000Z');
    await storeMessages(t, [
      messageRecord(customerId, { submittedAt: day1 }), messageRecord(customerId, { submittedAt: day1Late }),
      messageRecord(customerId, { submittedAt: day2 }), messageRecord(otherCustomerId, { submittedAt: day1 }),
    ]);
    const keys = await t.db.superuser<{ customer_id: string; day: string; n: string }>(
      `SELECT customer_id, to_char(day, 'YYYY-MM-DD') AS day, count(*) AS n FROM data_keys WHERE day IN ('2026-11-21', '2026-11-22') GROUP BY 1, 2 ORDER BY 2, 1`,
    );
    expect(keys.map((k) => [k.customer_id === customerId ? 'A' : 'B', k.day, Number(k.n)]).sort()).toEqual(
      [['A', '2026-11-21', 2], ['A', '2026-11-22', 2], ['B', '2026-11-21', 2]].sort(),
    );
  });

  it('stores a record once per customer and external id, and says which id it has', async () => {
    const record = messageRecord(customerId, { externalId: 'retry-me' });
    const first = await storeMessages(t, [record]);
    const again = await storeMessages(t, [record, { ...record }]);
    expect(again.stored).toEqual([]);
    expect(again.duplicates).toEqual([{ index: 0, id: first.stored[0].id }, { index: 1, id: first.stored[0].id }]);
    const [{ n }] = await t.db.superuser<{ n: string }>(`SELECT count(*) AS n FROM messages WHERE external_id = 'retry-me'`);
    expect(Number(n)).toBe(1);
  });

  it('refuses to write under a destroyed key and reads destroyed values as null', async () => {
    const submittedAt = new Date('2026-10-01T12:00:00Z');
    const { stored } = await storeMessages(t, [messageRecord(customerId, { submittedAt })]);
    await t.db.superuser(`UPDATE data_keys SET wrapped = NULL, destroyed_at = now() WHERE customer_id = $1 AND day = '2026-10-01' AND category = 'body'`, [customerId]);
    t.app.get(KeyRing).forget((await t.db.superuser<{ id: string }>(`SELECT id FROM data_keys WHERE day = '2026-10-01'`)).map((r) => r.id));
    const pii = (await read([stored[0].id])).get(stored[0].id)!;
    expect(pii.body).toBeNull();
    expect(pii.msisdn).toMatch(/^\+49/);
    const late = await storeMessages(t, [messageRecord(customerId, { submittedAt })]);
    expect(late).toEqual({ stored: [], duplicates: [], expired: [0] });
  });

  it('fails loudly when a ciphertext is moved to another message', async () => {
    const { stored } = await storeMessages(t, [messageRecord(customerId), messageRecord(customerId)]);
    await t.db.superuser(`UPDATE messages SET body_ciphertext = (SELECT body_ciphertext FROM messages WHERE id = $1) WHERE id = $2`, [stored[0].id, stored[1].id]);
    await expect(read([stored[1].id])).rejects.toThrow(/cannot be decrypted/);
  });
});
