import { DataSource } from 'typeorm';
import { KeyRing } from '../src/messages/key-ring';
import { MessageStore, NewMessage } from '../src/messages/message-store';
import { Message } from '../src/messages/message.entity';
import { verifyCertificate } from '../src/retention/certificate-statement';
import { DeletionCertificate } from '../src/retention/deletion-certificate.entity';
import { startTestApp, TestApp, testEnv } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer } from './support/registry-fixtures';
import { cleanUp, ensureBuilt, sleep, SpawnedApp, spawnApp, tempDataDir } from './support/processes';

jest.setTimeout(240_000);

const DAYS = 12;
const PER_DAY = 150;
const HELD_NUMBER = '+4915199999999';

interface Seeded {
  id: string;
  customer: 'expiring' | 'shredding' | 'keeping' | 'holding';
  record: NewMessage;
}

/**
 * kill -9 of the service in the middle of a purge, twice, then a restart on the same data folder
 * and database: the next run finishes the work, nothing held or unexpired is touched, every
 * destroyed value is in exactly one certificate, and the runs that died are marked interrupted.
 */
describe('purge survives kill -9', () => {
  let db: TestDatabase;
  let inspector: TestApp; // reads the database with the same keys, never purges
  let dataDir: string;
  let app: SpawnedApp | undefined;
  const seeded: Seeded[] = [];
  const ids: Record<Seeded['customer'], string> = { expiring: '', shredding: '', keeping: '', holding: '' };

  const env = () => testEnv(db.url, { PURGE_SCHEDULE: '* * * * * *', PURGE_BATCH_SIZE: '20', JOBS_ENABLED: 'true' });

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase();
    inspector = await startTestApp({ JOBS_ENABLED: 'false' }, db);
    dataDir = tempDataDir();

    // All of it is in the past of the real clock that the spawned service reads.
    const policies: Record<Seeded['customer'], [number, number, number]> = {
      expiring: [1, 1, 2], // everything expired: values destroyed, then the messages deleted
      shredding: [1, 1, 3650], // values destroyed and cleared, messages kept; one number under a legal hold
      keeping: [3650, 3650, 3650], // nothing expired
      holding: [1, 1, 2], // everything expired, but a hold covers the whole customer
    };
    for (const customer of Object.keys(policies) as Seeded['customer'][]) {
      ids[customer] = await seedCustomer(inspector, { legalName: `Crash ${customer}` });
      const [msisdn, body, metadata] = policies[customer];
      await db.superuser(
        `INSERT INTO retention_policies (customer_id, category, days) VALUES ($1, 'msisdn', $2), ($1, 'body', $3), ($1, 'delivery_metadata', $4)`,
        [ids[customer], msisdn, body, metadata],
      );
      const count = customer === 'expiring' || customer === 'shredding' ? PER_DAY : 10;
      for (let day = 0; day < DAYS; day++) {
        const records = Array.from({ length: count }, (_, i) =>
          messageRecord(ids[customer], {
            submittedAt: new Date(Date.UTC(2026, 0, 10 + day, 0, i * 5)),
            ...(customer === 'shredding' && i % 15 === 0 ? { msisdn: HELD_NUMBER } : {}),
          }),
        );
        const { stored } = await storeMessages(inspector, records);
        stored.forEach((s) => seeded.push({ id: s.id, customer, record: records[s.index] }));
      }
    }
    const heldHash = inspector.app.get(KeyRing).blindIndex(ids.shredding, HELD_NUMBER);
    await db.superuser(`INSERT INTO legal_holds (customer_id, msisdn_hash, reason) VALUES ($1, $2, 'litigation')`, [ids.shredding, heldHash]);
    await db.superuser(`INSERT INTO legal_holds (customer_id, reason) VALUES ($1, 'regulator inquiry')`, [ids.holding]);
  });

  afterAll(async () => {
    await cleanUp();
    await inspector?.close();
    await db?.drop();
  });

  /** Polls the database until `condition` returns a value, or fails after `ms`. */
  async function until<T>(what: string, condition: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const value = await condition();
      if (value !== undefined) return value;
      await sleep(15);
    }
    throw new Error(`timed out waiting for ${what}\n${app?.stderr().slice(-2000) ?? ''}`);
  }

  const runningRun = async () => (await db.superuser<{ id: string }>(`SELECT id FROM purge_runs WHERE status = 'running'`))[0]?.id;

  it('finishes the work of runs killed mid-deletion and mid-reclaim, without touching held or unexpired data', async () => {
    // 1. Killed while deleting messages whose every category expired.
    app = await spawnApp(dataDir, env());
    await app.ready();
    const first = await until('a run deleting messages', async () => {
      const run = await runningRun();
      if (!run) return undefined;
      const [{ n }] = await db.superuser<{ n: number }>('SELECT count(*)::int AS n FROM purge_deletions WHERE run_id = $1', [run]);
      return n >= 2 ? run : undefined;
    });
    expect((await app.stop('SIGKILL')).signal).toBe('SIGKILL');
    const [{ destroyedByFirst }] = await db.superuser<{ destroyedByFirst: number }>(
      'SELECT count(*)::int AS "destroyedByFirst" FROM data_keys WHERE destroyed_by_run_id = $1', [first],
    );
    expect(destroyedByFirst).toBeGreaterThan(0);
    expect(await db.superuser('SELECT id FROM deletion_certificates')).toEqual([]);

    // 2. Restarted on the same data folder; killed again while clearing the ciphertext of destroyed keys.
    app = await spawnApp(dataDir, env());
    await app.ready();
    const second = await until('a run reclaiming storage', async () => {
      const run = await runningRun();
      if (!run || run === first) return undefined;
      const [{ n }] = await db.superuser<{ n: number }>(
        'SELECT count(*)::int AS n FROM messages WHERE customer_id = $1 AND body_ciphertext IS NULL', [ids.shredding],
      );
      return n >= 40 ? run : undefined;
    });
    await app.stop('SIGKILL');
    const [{ left }] = await db.superuser<{ left: number }>(
      `SELECT count(*)::int AS left FROM data_keys WHERE destroyed_at IS NOT NULL AND reclaimed_at IS NULL`,
    );
    expect(left).toBeGreaterThan(0); // it died half-way

    // 3. Restarted once more: the purge completes, and the run after that finds nothing to do.
    app = await spawnApp(dataDir, env());
    await app.ready();
    const done = await until('two successful runs', async () => {
      const rows = await db.superuser<{ id: string; keys_destroyed: number; messages_reclaimed: number; messages_deleted: number; certificates_issued: number }>(
        `SELECT id, keys_destroyed, messages_reclaimed, messages_deleted, certificates_issued FROM purge_runs WHERE status = 'succeeded' ORDER BY started_at`,
      );
      return rows.length >= 2 ? rows : undefined;
    });
    await app.stop('SIGTERM');
    expect(done[1]).toMatchObject({ keys_destroyed: 0, messages_reclaimed: 0, messages_deleted: 0, certificates_issued: 0 });

    const runs = await db.superuser<{ id: string; status: string; error: string | null }>('SELECT id, status, error FROM purge_runs');
    expect(runs.find((r) => r.id === first)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/stopped before it finished/) });
    expect(runs.find((r) => r.id === second)).toMatchObject({ status: 'interrupted' });
    expect(runs.filter((r) => r.status === 'running' || r.status === 'failed')).toEqual([]);

    // Every value reads as it should: expired and unheld gone, everything else exactly as stored.
    const em = inspector.app.get(DataSource).manager;
    const rows = await em.findBy(Message, seeded.map((s) => ({ id: s.id })));
    const pii = await inspector.app.get(MessageStore).readPii(em, rows);
    const outcome = (s: Seeded) => {
      const value = pii.get(s.id);
      if (!value) return 'deleted';
      if (value.msisdn === s.record.msisdn && value.body === s.record.body) return 'intact';
      return value.msisdn === null && value.body === null ? 'shredded' : `wrong: ${JSON.stringify(value)}`;
    };
    const tally: Record<string, number> = {};
    for (const s of seeded) {
      const held = s.customer === 'holding' || (s.customer === 'shredding' && s.record.msisdn === HELD_NUMBER);
      const key = `${s.customer}${held && s.customer === 'shredding' ? ' (held)' : ''}: ${outcome(s)}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    const heldShredding = seeded.filter((s) => s.customer === 'shredding' && s.record.msisdn === HELD_NUMBER).length;
    expect(tally).toEqual({
      'expiring: deleted': DAYS * PER_DAY,
      'shredding: shredded': DAYS * PER_DAY - heldShredding,
      'shredding (held): intact': heldShredding,
      'keeping: intact': DAYS * 10,
      'holding: intact': DAYS * 10,
    });

    // Each destroyed value, and each deleted message, is in exactly one certificate; each destroyed key too.
    const certificates = await em.find(DeletionCertificate);
    const certified: Record<string, Record<string, number>> = {};
    const keyIds: string[] = [];
    for (const c of certificates) {
      await expect(verifyCertificate(em, c, c)).resolves.toMatchObject({ valid: true });
      const statement = JSON.parse(c.statement) as { customerId: string; destroyed: { category: string; messageCount: number; keyIds: string[] }[] };
      const name = (Object.keys(ids) as Seeded['customer'][]).find((k) => ids[k] === statement.customerId)!;
      for (const d of statement.destroyed) {
        certified[name] ??= {};
        certified[name][d.category] = (certified[name][d.category] ?? 0) + d.messageCount;
        keyIds.push(...d.keyIds);
      }
    }
    expect(certified).toEqual({
      expiring: { msisdn: DAYS * PER_DAY, body: DAYS * PER_DAY, delivery_metadata: DAYS * PER_DAY },
      shredding: { msisdn: DAYS * PER_DAY - heldShredding, body: DAYS * PER_DAY - heldShredding },
    });
    const destroyedKeys = await db.superuser<{ id: string }>('SELECT id FROM data_keys WHERE destroyed_at IS NOT NULL');
    expect(keyIds.sort()).toEqual(destroyedKeys.map((k) => k.id).sort());
    // The first run destroyed the keys and deleted messages before it died: certified under its id.
    const certifiedRuns = new Set(certificates.map((c) => c.runId));
    expect(certifiedRuns.has(first)).toBe(true);
    expect([...certifiedRuns].every((id) => runs.some((r) => r.id === id))).toBe(true);
    expect(await db.superuser('SELECT id FROM purge_deletions WHERE certificate_id IS NULL')).toEqual([]);
  });
});
