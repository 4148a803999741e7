import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService, verifyAuditChain } from '../src/audit/audit.service';
import { Clock } from '../src/common/clock';
import { loadConfig } from '../src/config/app-config';
import { KeyRing, masterKeyId } from '../src/messages/key-ring';
import { rotateMasterKey } from '../src/messages/key-rotation';
import { submittedAtOf } from '../src/messages/message-id';
import { MessageStore } from '../src/messages/message-store';
import { Message } from '../src/messages/message.entity';
import type { SubjectRequestResponse } from '../src/subject-requests/dto/subject-request.dto';
import { ADMIN, createUser, login, startTestApp, TestApp, testEnv } from './support/app';
import { bearer } from './support/http';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { CLI_JS, runCli, within } from './support/processes';
import { seedCustomer } from './support/registry-fixtures';

const K1 = Buffer.alloc(32, 7); // testEnv's MASTER_KEY
const K2 = Buffer.alloc(32, 21);
const K3 = Buffer.alloc(32, 33);
const [K1_ID, K2_ID] = [K1, K2].map(masterKeyId);
const b64 = (k: Buffer) => k.toString('base64');
const DAY = 86_400_000;

/** A key ring (fresh: nothing cached) configured with the given master keys, as a separate process would be. */
function ring(db: string, master: Buffer, previous: Buffer[] = []): KeyRing {
  return new KeyRing({ ...loadConfig(testEnv(db)), masterKey: master, previousMasterKeys: previous });
}

async function readAll(t: TestApp, keys: KeyRing): Promise<Map<string, { msisdn: string | null; body: string | null }>> {
  const em = t.app.get(DataSource).manager;
  return new MessageStore(keys).readPii(em, await em.find(Message));
}

async function masterKeyCounts(t: TestApp): Promise<Record<string, number>> {
  const rows = await t.db.superuser<{ master_key_id: string; n: number }>(
    'SELECT master_key_id, count(*)::int AS n FROM data_keys WHERE wrapped IS NOT NULL GROUP BY 1',
  );
  return Object.fromEntries(rows.map((r) => [r.master_key_id, r.n]));
}

/** Messages for `customers` on `days` consecutive days from 2026-01-01: one msisdn and one body key per customer and day. */
async function writeMessages(t: TestApp, customers: string[], days: number): Promise<Map<string, { msisdn: string; body: string }>> {
  const records = customers.flatMap((customerId) =>
    Array.from({ length: days }, (_, d) => messageRecord(customerId, { submittedAt: new Date(Date.UTC(2026, 0, 1) + d * DAY + 3_600_000), body: `body ${randomUUID()}` })));
  const { stored } = await storeMessages(t, records);
  return new Map(stored.map((s) => [s.id, { msisdn: records[s.index].msisdn, body: records[s.index].body }]));
}

describe('master-key rotation', () => {
  describe('with services running on the new and the old master key', () => {
    let old: TestApp;
    let rotated: TestApp;
    let customer: string;
    let written: Map<string, { msisdn: string; body: string }>;
    /** The message whose phone-number key (2026-01-30) is destroyed. */
    let shredded: string;

    beforeAll(async () => {
      old = await startTestApp({ JOBS_ENABLED: 'false' });
      customer = await seedCustomer(old, { legalName: 'Acme Retail' });
      written = await writeMessages(old, [customer], 30);
      // A hold key is a live data key too; a destroyed key has nothing left to re-wrap.
      await old.app.get(DataSource).transaction((em) => old.app.get(KeyRing).createHoldKey(em, customer, '2026-01-05', 'body'));
      await old.db.superuser(`UPDATE data_keys SET wrapped = NULL, destroyed_at = now() WHERE customer_id = $1 AND day = '2026-01-30' AND category = 'msisdn'`, [customer]);
      shredded = [...written.keys()].find((id) => submittedAtOf(id)!.toISOString().startsWith('2026-01-30'))!;
      // The new configuration: MASTER_KEY is the new key, MASTER_KEY_PREVIOUS the old one.
      rotated = await startTestApp({ JOBS_ENABLED: 'false', MASTER_KEY: b64(K2), MASTER_KEY_PREVIOUS: b64(K1) }, old.db);
    });
    afterAll(async () => {
      await rotated?.close();
      await old?.close();
    });

    it('reads and writes everything during a partial rotation, then every live key is under the new master key', async () => {
      // 30 days × 2 categories, one of them destroyed, plus the hold key.
      expect(await masterKeyCounts(old)).toEqual({ [K1_ID]: 60 });
      const ciphertextsBefore = await old.db.superuser('SELECT id, msisdn_ciphertext, body_ciphertext FROM messages ORDER BY id');

      // Part of the rotation, as the CLI in another process would do it.
      const ds = rotated.app.get(DataSource);
      const cli = ring(old.db.url, K2, [K1]);
      const audit = new AuditService(ds, new Clock());
      const partial = await rotateMasterKey(ds, cli, audit, { batchSize: 10, maxBatches: 3 });
      expect(partial).toEqual({ rotated: 30, left: 30, batches: 3 });
      expect(await masterKeyCounts(old)).toEqual({ [K1_ID]: 30, [K2_ID]: 30 });

      // The service with both keys reads everything, through its own API, and writes new data under the new key.
      const admin = await login(rotated, ADMIN.email, ADMIN.password);
      const dpo = (await createUser(rotated, admin, { email: `dpo-${randomUUID()}@example.test`, role: 'dpo' })).token;
      const [[someId, some]] = written;
      const request = (await rotated.http().post('/api/v1/data-subject-requests').set(bearer(dpo))
        .send({ customerId: customer, kind: 'access', msisdn: some.msisdn }).expect(201)).body as SubjectRequestResponse;
      const exported = JSON.parse((await rotated.http().get(`/api/v1/data-subject-requests/${request.id}/export`).set(bearer(dpo)).expect(200)).text) as
        { messages: { id: string; body: string }[] };
      expect(exported.messages.map((m) => [m.id, m.body])).toEqual([[someId, some.body]]);
      const during = await readAll(rotated, ring(old.db.url, K2, [K1]));
      for (const [id, v] of written) expect(during.get(id)).toEqual({ msisdn: id === shredded ? null : v.msisdn, body: v.body });
      const fresh = await writeMessages(rotated, [await seedCustomer(old, { legalName: 'Globex' })], 1);
      expect(await masterKeyCounts(old)).toEqual({ [K1_ID]: 30, [K2_ID]: 32 });

      // A service still on the old key alone cannot read what is under the new one: roll the new key out to every instance first.
      await expect(readAll(old, ring(old.db.url, K1))).rejects.toThrow(new RegExp(`wrapped by master key ${K2_ID}, which is not configured`));

      const rest = await rotateMasterKey(ds, cli, audit, { batchSize: 7 });
      expect(rest).toEqual({ rotated: 30, left: 0, batches: 5 });
      expect(await masterKeyCounts(old)).toEqual({ [K2_ID]: 62 });
      const [destroyed] = await old.db.superuser<{ wrapped: Buffer | null; master_key_id: string }>(
        `SELECT wrapped, master_key_id FROM data_keys WHERE customer_id = $1 AND day = '2026-01-30' AND category = 'msisdn'`, [customer]);
      expect(destroyed).toEqual({ wrapped: null, master_key_id: K1_ID });

      // Only the data keys changed: every ciphertext is as it was, and the new key alone reads it all.
      expect(await old.db.superuser(`SELECT id, msisdn_ciphertext, body_ciphertext FROM messages WHERE customer_id = $1 ORDER BY id`, [customer])).toEqual(ciphertextsBefore);
      const after = await readAll(rotated, ring(old.db.url, K2));
      for (const [id, v] of [...written, ...fresh]) expect(after.get(id)).toEqual({ msisdn: id === shredded ? null : v.msisdn, body: v.body });

      // One audit entry per batch: counts and master-key fingerprints, no key material.
      const entries = await old.db.superuser<{ actor_type: string; changes: Record<string, unknown> }>(
        `SELECT actor_type, changes FROM audit_log WHERE action = 'data_keys.rewrapped' ORDER BY seq`);
      expect(entries).toHaveLength(8);
      expect(entries[0]).toEqual({ actor_type: 'system', changes: { dataKeys: 10, fromMasterKeyIds: { [K1_ID]: 10 }, toMasterKeyId: K2_ID } });
      expect(entries.reduce((n, e) => n + (e.changes.dataKeys as number), 0)).toBe(60);
      expect(await verifyAuditChain(old.app.get(DataSource).manager)).toMatchObject({ ok: true });

    });
  });

  it('waits for keys that a writer holds (ingestion locks its day keys) instead of leaving them behind', async () => {
    const t = await startTestApp({ JOBS_ENABLED: 'false' });
    try {
      const customer = await seedCustomer(t, { legalName: 'Acme Retail' });
      await writeMessages(t, [customer], 3);
      const ds = t.app.get(DataSource);
      const writer = ds.createQueryRunner();
      await writer.connect();
      await writer.startTransaction();
      await writer.query(`SELECT id FROM data_keys WHERE customer_id = $1 ORDER BY id LIMIT 1 FOR SHARE`, [customer]);
      let firstBatch!: () => void;
      const batched = new Promise<void>((resolve) => (firstBatch = resolve));
      const rotation = rotateMasterKey(ds, ring(t.db.url, K2, [K1]), new AuditService(ds, new Clock()), {
        batchSize: 100, onProgress: (p) => p.batch === 1 && firstBatch(),
      });
      await batched;
      expect(await masterKeyCounts(t)).toEqual({ [K1_ID]: 1, [K2_ID]: 5 });
      // Still running: it waits for the held key rather than reporting done.
      expect(await within(rotation, 300)).toBeUndefined();
      const waiting = await t.db.superuser(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM data_keys%FOR UPDATE'`);
      expect(waiting).toHaveLength(1);
      await writer.commitTransaction();
      await writer.release();
      expect(await rotation).toEqual({ rotated: 6, left: 0, batches: 2 });
      expect(await masterKeyCounts(t)).toEqual({ [K2_ID]: 6 });
    } finally {
      await t.close();
    }
  });

  describe('the keys:rotate command', () => {
    let t: TestApp;
    let written: Map<string, { msisdn: string; body: string }>;
    const env = (keys: { master: Buffer; previous?: Buffer[] }) =>
      testEnv(t.db.url, { MASTER_KEY: b64(keys.master), MASTER_KEY_PREVIOUS: (keys.previous ?? []).map(b64).join(',') });

    beforeAll(async () => {
      t = await startTestApp({ JOBS_ENABLED: 'false' });
      const customers = [await seedCustomer(t, { legalName: 'Acme Retail' }), await seedCustomer(t, { legalName: 'Globex' })];
      written = await writeMessages(t, customers, 300);
    });
    afterAll(() => t.close());

    it('stops before changing anything when the old master key is not configured, naming it', async () => {
      const run = await runCli(['keys:rotate'], env({ master: K2 }));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`1200 data key(s) are wrapped by master key ${K1_ID}, which is not configured`);
      expect(run.stderr).toContain('MASTER_KEY_PREVIOUS');
      expect(await masterKeyCounts(t)).toEqual({ [K1_ID]: 1200 });
      expect((await runCli(['keys:rotate', '--batch', '0'], env({ master: K2, previous: [K1] }))).code).toBe(2);
    });

    it('survives kill -9 in the middle and finishes when run again', async () => {
      const child = spawn(process.execPath, [CLI_JS, 'keys:rotate', '--batch', '1'], { env: { ...process.env, ...env({ master: K2, previous: [K1] }) } });
      let out = '';
      const progressed = new Promise<boolean>((resolve) => child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/^batch 25:/m.test(out)) resolve(true);
      }));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (_, signal) => resolve(signal ? null : child.exitCode)));
      expect(await within(progressed, 30_000)).toBe(true);
      child.kill('SIGKILL');
      await exited;
      expect(out).toMatch(new RegExp(`^re-wrapping data keys under master key ${K2_ID} \\(reading earlier ones with ${K1_ID}\\), 1 per batch$`, 'm'));
      expect(out).toMatch(/^batch 1: re-wrapped 1 \(1 so far\), 1199 left$/m);

      // Killed mid-way: some keys under each master key, each one whole (the batch in flight rolled back).
      const mid = await masterKeyCounts(t);
      expect(mid[K2_ID]).toBeGreaterThanOrEqual(25);
      expect(mid[K1_ID]).toBeGreaterThan(0);
      expect(mid[K1_ID] + mid[K2_ID]).toBe(1200);
      const during = await readAll(t, ring(t.db.url, K2, [K1]));
      for (const [id, v] of written) expect(during.get(id)).toEqual(v);

      const resumed = await runCli(['keys:rotate', '--batch', '200'], env({ master: K2, previous: [K1] }));
      expect(resumed.code).toBe(0);
      expect(resumed.stdout.trim().split('\n').pop()).toBe(`rotated ${mid[K1_ID]} data keys; 0 left under other master keys`);
      expect(await masterKeyCounts(t)).toEqual({ [K2_ID]: 1200 });
      const after = await readAll(t, ring(t.db.url, K2));
      for (const [id, v] of written) expect(after.get(id)).toEqual(v);
      expect(await verifyAuditChain(t.app.get(DataSource).manager)).toMatchObject({ ok: true });
      const [{ n }] = await t.db.superuser<{ n: number }>(`SELECT coalesce(sum((changes->>'dataKeys')::int), 0)::int AS n FROM audit_log WHERE action = 'data_keys.rewrapped'`);
      expect(n).toBe(1200);

      // Nothing left: running it again is harmless, and the old key is no longer needed.
      const again = await runCli(['keys:rotate'], env({ master: K2 }));
      expect(again.code).toBe(0);
      expect(again.stdout.trim().split('\n').pop()).toBe('rotated 0 data keys; 0 left under other master keys');
    });

    it('names the current master key when the next rotation lacks it', async () => {
      const run = await runCli(['keys:rotate'], env({ master: K3, previous: [K1] }));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`wrapped by master key ${K2_ID}, which is not configured`);
      for (const key of [K1, K2, K3]) expect(run.stderr + run.stdout).not.toContain(b64(key));
    });
  });
});
