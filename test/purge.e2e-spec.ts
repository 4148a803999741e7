import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../src/audit/audit.service';
import { Clock } from '../src/common/clock';
import { SYSTEM_ACTOR } from '../src/jobs/jobs.service';
import { KeyRing } from '../src/messages/key-ring';
import type { NewMessage } from '../src/messages/message-store';
import { MessageStore } from '../src/messages/message-store';
import { Message } from '../src/messages/message.entity';
import { verifyCertificate, verifyStatement } from '../src/retention/certificate-statement';
import { CertificatesService } from '../src/retention/certificates.service';
import { DeletionCertificate } from '../src/retention/deletion-certificate.entity';
import { PurgeRunSummary, PurgeService } from '../src/retention/purge.service';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, expectProblem } from './support/http';
import { messageRecord, storeMessages } from './support/message-fixtures';
import { seedCustomer } from './support/registry-fixtures';

type Pii = { msisdn: string | null; body: string | null } | 'deleted';
type Category = 'msisdn' | 'body' | 'delivery_metadata';

interface Statement {
  customerId: string;
  source: { kind: string; runId: string };
  method: string;
  destroyedAt: string;
  destroyed: { category: Category; from: string; to: string; messageCount: number; keyIds: string[] }[];
  retainedUnderHold: number;
}

const NOTHING = { keysDestroyed: 0, messagesDestroyed: 0, messagesRekeyed: 0, messagesReclaimed: 0, messagesDeleted: 0, certificatesIssued: 0, maxLagMs: null };
const METRICS_TOKEN = 'scrape-token-0123456789';

/*
 * The tests run in order on one database, each on its own customers and later in (mocked) time
 * than the one before, as the purge would meet them in production.
 */
describe('purge (crypto-shredding on real Postgres)', () => {
  let t: TestApp;
  let now: Date;
  let adminToken: string;
  const planted: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false', PURGE_BATCH_SIZE: '2' });
    now = new Date('2026-01-01T00:00:00Z');
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    adminToken = await login(t, ADMIN.email, ADMIN.password);
  });
  afterAll(() => t.close());

  const purge = (at: string): Promise<PurgeRunSummary> => {
    now = new Date(at);
    return t.app.get(PurgeService).run(SYSTEM_ACTOR, 'manual', now);
  };

  const customer = async (name: string, days: Partial<Record<Category, number>>) => {
    const id = await seedCustomer(t, { legalName: name });
    for (const [category, n] of Object.entries(days)) {
      await t.db.superuser('INSERT INTO retention_policies (customer_id, category, days) VALUES ($1, $2, $3)', [id, category, n]);
    }
    return id;
  };

  const message = (customerId: string, submittedAt: string, overrides: Partial<NewMessage> = {}) => {
    const record = messageRecord(customerId, { submittedAt: new Date(submittedAt), ...overrides });
    planted.push(record.msisdn, record.body);
    return record;
  };

  const store = async (...records: NewMessage[]) => {
    const { stored } = await storeMessages(t, records);
    expect(stored).toHaveLength(records.length);
    return stored.map((s) => s.id);
  };

  const read = async (ids: string[]): Promise<Pii[]> => {
    const em = t.app.get(DataSource).manager;
    const rows = await em.findBy(Message, ids.map((id) => ({ id })));
    const pii = await t.app.get(MessageStore).readPii(em, rows);
    return ids.map((id) => pii.get(id) ?? 'deleted');
  };

  const hold = async (customerId: string, h: { msisdn?: string; fromAt?: string; toAt?: string }) => {
    const hash = h.msisdn ? t.app.get(KeyRing).blindIndex(customerId, h.msisdn) : null;
    const [row] = await t.db.superuser<{ id: string }>(
      'INSERT INTO legal_holds (customer_id, msisdn_hash, from_at, to_at, reason) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [customerId, hash, h.fromAt ?? null, h.toAt ?? null, 'litigation'],
    );
    return row.id;
  };

  const release = (holdId: string, at: string) =>
    t.db.superuser('UPDATE legal_holds SET released_at = $2, release_reason = $3 WHERE id = $1', [holdId, at, 'settled']);

  const certificates = async (customerId: string) => {
    const rows = await t.app.get(DataSource).getRepository(DeletionCertificate).find({ where: { customerId }, order: { issuedAt: 'ASC', id: 'ASC' } });
    return rows.map((c) => Object.assign(c, { content: JSON.parse(c.statement) as Statement }));
  };

  /** What a certificate says was destroyed, without the key ids: [category, from, to, count]. */
  const items = (c: { content: Statement }) => c.content.destroyed.map((d) => [d.category, d.from, d.to, d.messageCount]);

  const keysOf = (customerId: string) =>
    t.db.superuser<{ id: string; day: string; category: string; kind: string; live: boolean; message_count: number | null; lag_ms: string | null; destroyed_by_run_id: string | null; certificate_id: string | null }>(
      `SELECT id, to_char(day, 'YYYY-MM-DD') AS day, category, kind, wrapped IS NOT NULL AS live, message_count, destroyed_by_run_id, certificate_id,
              (extract(epoch FROM destroyed_at - expired_at) * 1000)::bigint::text AS lag_ms
         FROM data_keys WHERE customer_id = $1 ORDER BY day, kind, category, created_at`,
      [customerId],
    );

  describe('destroying expired data', () => {
    let acme: string;
    let globex: string;
    let first: PurgeRunSummary;

    it('makes expired, unheld values unreadable at once and leaves everything else readable', async () => {
      acme = await customer('Acme Purge', { body: 10, msisdn: 20, delivery_metadata: 40 });
      globex = await customer('Globex Purge', {}); // the default policy: body 30, msisdn 90, metadata 180 days
      const ids = await store(
        message(acme, '2026-01-01T08:00:00Z'), message(acme, '2026-01-01T23:59:59.999Z'), // everything expired
        message(acme, '2026-02-10T10:00:00Z'), // body expired on 02-21, phone number expires 03-03
        message(acme, '2026-02-25T10:00:00Z'), // body expires 03-08
        message(globex, '2026-01-01T10:00:00Z'), // body expired 02-01, phone number expires 04-02
      );
      const before = await read(ids);
      expect(before.every((p) => p !== 'deleted' && p.msisdn && p.body)).toBe(true);

      // A destruction that fails (here its audit entry cannot be written) is undone whole: nothing
      // is destroyed, and the run is on record as failed.
      const audit = jest.spyOn(t.app.get(AuditService), 'record').mockRejectedValueOnce(new Error('the audit log is unavailable'));
      await expect(purge('2026-03-01T00:00:00Z')).rejects.toThrow('the audit log is unavailable');
      audit.mockRestore();
      expect(await read(ids)).toEqual(before);
      expect(await t.db.superuser('SELECT status, error, keys_destroyed FROM purge_runs ORDER BY started_at DESC LIMIT 1'))
        .toEqual([{ status: 'failed', error: 'the audit log is unavailable', keys_destroyed: 0 }]);

      first = await purge('2026-03-01T00:00:00Z');

      const after = await read(ids);
      const phone = (i: number) => (before[i] as { msisdn: string }).msisdn;
      expect(after).toEqual([
        'deleted', 'deleted', // delivery metadata expired on 02-11 too: the whole message is gone
        { msisdn: phone(2), body: null },
        before[3],
        { msisdn: phone(4), body: null },
      ]);
      expect(first).toMatchObject({ keysDestroyed: 4, messagesDestroyed: 6, messagesRekeyed: 0, messagesReclaimed: 2, messagesDeleted: 2, certificatesIssued: 2 });
      // Acme's body of 01-01 expired first (01-12): 48 days before this run.
      expect(first.maxLagMs).toBe(48 * 86_400_000);

      // The keys stay as evidence: destroyed, counted, with the expiry they were destroyed against.
      const keys = (await keysOf(acme)).filter((k) => !k.live);
      expect(keys.map((k) => [k.day, k.category, k.message_count, Number(k.lag_ms) / 86_400_000])).toEqual([
        ['2026-01-01', 'body', 2, 48], ['2026-01-01', 'msisdn', 2, 38], ['2026-02-10', 'body', 1, 8],
      ]);
      expect(keys.every((k) => k.destroyed_by_run_id === first.runId)).toBe(true);
      const [raw] = await t.db.superuser<Record<string, unknown>>('SELECT msisdn_ciphertext, body_ciphertext, msisdn_hash FROM messages WHERE id = $1', [ids[2]]);
      expect(raw.body_ciphertext).toBeNull(); // storage reclaimed
      expect(raw.msisdn_ciphertext).not.toBeNull();
    });

    it('issues one signed certificate per customer with exact counts, key ids and day ranges', async () => {
      const [acmeCert] = await certificates(acme);
      const [globexCert] = await certificates(globex);
      expect(acmeCert.runId).toBe(first.runId);
      expect(acmeCert.content).toMatchObject({ customerId: acme, source: { kind: 'purge_run', runId: first.runId }, method: 'crypto_shredding', retainedUnderHold: 0 });
      expect(items(acmeCert)).toEqual([
        ['msisdn', '2026-01-01', '2026-01-01', 2],
        ['body', '2026-01-01', '2026-01-01', 2],
        ['body', '2026-02-10', '2026-02-10', 1], // not contiguous with 01-01: a second range
        ['delivery_metadata', '2026-01-01', '2026-01-01', 2],
      ]);
      const destroyedKeyIds = (await keysOf(acme)).filter((k) => !k.live).map((k) => k.id).sort();
      expect(acmeCert.content.destroyed.flatMap((d) => d.keyIds).sort()).toEqual(destroyedKeyIds);
      expect(items(globexCert)).toEqual([['body', '2026-01-01', '2026-01-01', 1]]);

      const certs = t.app.get(CertificatesService);
      for (const c of [acmeCert, globexCert]) {
        await expect(verifyCertificate(t.app.get(DataSource).manager, c, c)).resolves.toMatchObject({ valid: true });
        expect(verifyStatement(c.statement, c.signature, certs.publicKeyPem)).toBe(true);
      }
      expect((await keysOf(acme)).filter((k) => !k.live).every((k) => k.certificate_id === acmeCert.id)).toBe(true);
    });

    it('does nothing and doubles nothing when run again', async () => {
      const keysBefore = await keysOf(acme);
      const again = await purge('2026-03-01T00:00:00Z');
      expect(again).toMatchObject(NOTHING);
      expect(await keysOf(acme)).toEqual(keysBefore);
      expect(await certificates(acme)).toHaveLength(1);
      expect(await certificates(globex)).toHaveLength(1);
    });

    it('refuses a second run while one is going', async () => {
      const results = await Promise.allSettled([purge('2026-03-01T00:00:00Z'), purge('2026-03-01T00:00:00Z')]);
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ status: 409, slug: 'conflict' });
    });
  });

  describe('legal holds', () => {
    it('keeps held values readable after their day key is destroyed, and takes them at the first run after release', async () => {
      const initech = await customer('Initech Purge', { body: 5, msisdn: 5, delivery_metadata: 30 });
      const heldNumber = '+4917000000001';
      const ids = await store(
        message(initech, '2026-03-10T09:00:00Z', { msisdn: heldNumber }), message(initech, '2026-03-10T11:00:00Z', { msisdn: heldNumber }),
        message(initech, '2026-03-10T10:00:00Z'), message(initech, '2026-03-10T12:00:00Z'),
        message(initech, '2026-03-11T10:00:00Z'),
      );
      const before = await read(ids);
      const holdId = await hold(initech, { msisdn: heldNumber });

      const first = await purge('2026-03-30T00:00:00Z');
      expect(await read(ids)).toEqual([before[0], before[1], { msisdn: null, body: null }, { msisdn: null, body: null }, { msisdn: null, body: null }]);
      expect(first.messagesRekeyed).toBe(4); // two phone numbers, two bodies
      const keys = await keysOf(initech);
      expect(keys.map((k) => [k.day, k.kind, k.category, k.live, k.message_count])).toEqual([
        ['2026-03-10', 'day', 'body', false, 2], ['2026-03-10', 'day', 'msisdn', false, 2],
        ['2026-03-10', 'hold', 'body', true, null], ['2026-03-10', 'hold', 'msisdn', true, null],
        ['2026-03-11', 'day', 'body', false, 1], ['2026-03-11', 'day', 'msisdn', false, 1],
      ]);
      const [cert] = await certificates(initech);
      expect(items(cert)).toEqual([['msisdn', '2026-03-10', '2026-03-11', 3], ['body', '2026-03-10', '2026-03-11', 3]]);
      expect(cert.content.retainedUnderHold).toBe(2);

      await release(holdId, '2026-04-05T00:00:00Z');
      const second = await purge('2026-04-05T00:05:00Z');
      expect(await read(ids.slice(0, 2))).toEqual([{ msisdn: null, body: null }, { msisdn: null, body: null }]);
      const holdKeys = (await keysOf(initech)).filter((k) => k.kind === 'hold');
      // Purge lag counts from the release, not from the expiry it was rightly kept past.
      expect(holdKeys.map((k) => [k.live, k.message_count, k.lag_ms, k.destroyed_by_run_id])).toEqual([
        [false, 2, '300000', second.runId], [false, 2, '300000', second.runId],
      ]);
      const [, released] = await certificates(initech);
      expect(released.runId).toBe(second.runId);
      expect(items(released)).toEqual([['msisdn', '2026-03-10', '2026-03-10', 2], ['body', '2026-03-10', '2026-03-10', 2]]);
      expect(released.content.destroyed.flatMap((d) => d.keyIds).sort()).toEqual(holdKeys.map((k) => k.id).sort());
    });

    it('leaves a day a customer-wide hold covers entirely as it is, and splits a day a time range covers in part', async () => {
      const umbrella = await customer('Umbrella Purge', { body: 1, msisdn: 1, delivery_metadata: 10 });
      const ids = await store(
        message(umbrella, '2026-04-10T06:00:00Z'), message(umbrella, '2026-04-10T18:00:00Z'),
        message(umbrella, '2026-04-11T10:00:00Z'), message(umbrella, '2026-04-11T15:00:00Z'),
      );
      const before = await read(ids);
      await hold(umbrella, { fromAt: '2026-04-10T00:00:00Z', toAt: '2026-04-11T00:00:00Z' });
      await hold(umbrella, { fromAt: '2026-04-11T00:00:00Z', toAt: '2026-04-11T12:00:00Z' });

      const run = await purge('2026-05-01T00:00:00Z');

      // The 15:00 message was held by nothing: values destroyed and, its metadata expired too, deleted.
      expect(await read(ids)).toEqual([before[0], before[1], before[2], 'deleted']);
      expect(run.messagesRekeyed).toBe(2); // only the 10:00 message; the wholly held day was not re-encrypted
      expect((await keysOf(umbrella)).map((k) => [k.day, k.kind, k.category, k.live])).toEqual([
        ['2026-04-10', 'day', 'body', true], ['2026-04-10', 'day', 'msisdn', true],
        ['2026-04-11', 'day', 'body', false], ['2026-04-11', 'day', 'msisdn', false],
        ['2026-04-11', 'hold', 'body', true], ['2026-04-11', 'hold', 'msisdn', true],
      ]);
      const [cert] = await certificates(umbrella);
      expect(items(cert)).toEqual([
        ['msisdn', '2026-04-11', '2026-04-11', 1], ['body', '2026-04-11', '2026-04-11', 1], ['delivery_metadata', '2026-04-11', '2026-04-11', 1],
      ]);
      expect(cert.content.retainedUnderHold).toBe(3);
    });

    it('moves the still-held values of a partly released hold key to a fresh one and destroys the rest', async () => {
      const hooli = await customer('Hooli Purge', { body: 1, msisdn: 1, delivery_metadata: 100 });
      const [x, y] = ['+4917100000001', '+4917100000002'];
      const ids = await store(message(hooli, '2026-05-10T08:00:00Z', { msisdn: x }), message(hooli, '2026-05-10T09:00:00Z', { msisdn: y }), message(hooli, '2026-05-10T10:00:00Z'));
      const before = await read(ids);
      const holdX = await hold(hooli, { msisdn: x });
      const holdY = await hold(hooli, { msisdn: y });

      expect((await purge('2026-05-20T00:00:00Z')).messagesRekeyed).toBe(4);
      expect(await read(ids)).toEqual([before[0], before[1], { msisdn: null, body: null }]);
      const firstHoldKeys = (await keysOf(hooli)).filter((k) => k.kind === 'hold').map((k) => k.id);
      expect(firstHoldKeys).toHaveLength(2);

      await release(holdX, '2026-05-25T00:00:00Z');
      const second = await purge('2026-05-25T01:00:00Z');
      expect(second.messagesRekeyed).toBe(2);
      expect(await read(ids)).toEqual([{ msisdn: null, body: null }, before[1], { msisdn: null, body: null }]);
      const holdKeys = (await keysOf(hooli)).filter((k) => k.kind === 'hold');
      expect(holdKeys.map((k) => [firstHoldKeys.includes(k.id), k.live, k.message_count])).toEqual(
        expect.arrayContaining([[true, false, 1], [true, false, 1], [false, true, null], [false, true, null]]),
      );
      expect(holdKeys.filter((k) => !k.live).map((k) => k.lag_ms)).toEqual(['3600000', '3600000']);

      // Nothing changed since: the next run leaves the fresh hold key alone.
      expect(await purge('2026-05-25T02:00:00Z')).toMatchObject(NOTHING);

      await release(holdY, '2026-05-26T00:00:00Z');
      await purge('2026-05-26T00:10:00Z');
      expect(await read(ids)).toEqual([{ msisdn: null, body: null }, { msisdn: null, body: null }, { msisdn: null, body: null }]);
      const certs = await certificates(hooli);
      expect(certs.map(items)).toEqual([
        [['msisdn', '2026-05-10', '2026-05-10', 1], ['body', '2026-05-10', '2026-05-10', 1]],
        [['msisdn', '2026-05-10', '2026-05-10', 1], ['body', '2026-05-10', '2026-05-10', 1]],
        [['msisdn', '2026-05-10', '2026-05-10', 1], ['body', '2026-05-10', '2026-05-10', 1]],
      ]);
      expect(certs.map((c) => c.content.retainedUnderHold)).toEqual([2, 1, 0]);
    });
  });

  it('deletes messages whose delivery metadata expired with their route hops, and clears destroyed phone numbers from the hops', async () => {
    const wayne = await customer('Wayne Purge', { body: 1, msisdn: 1, delivery_metadata: 5 });
    const route = [randomUUID(), randomUUID()];
    const [gone, kept] = await store(message(wayne, '2026-06-01T10:00:00Z', { route }), message(wayne, '2026-06-20T10:00:00Z', { route: route.slice(0, 1) }));
    const hops = (id: string) => t.db.superuser<{ subject: string | null }>('SELECT subject FROM message_hops WHERE message_id = $1 ORDER BY position', [id]);
    expect(await hops(gone)).toHaveLength(2);

    const first = await purge('2026-06-10T00:00:00Z');
    expect(await read([gone, kept])).toEqual(['deleted', expect.objectContaining({ body: expect.any(String) })]);
    expect(await hops(gone)).toEqual([]);
    const [cert] = await certificates(wayne);
    expect(cert.runId).toBe(first.runId);
    expect(items(cert)).toEqual([
      ['msisdn', '2026-06-01', '2026-06-01', 1], ['body', '2026-06-01', '2026-06-01', 1], ['delivery_metadata', '2026-06-01', '2026-06-01', 1],
    ]);
    const deletions = await t.db.superuser<{ run_id: string; message_count: number; certificate_id: string }>('SELECT run_id, message_count, certificate_id FROM purge_deletions WHERE customer_id = $1', [wayne]);
    expect(deletions).toEqual([{ run_id: first.runId, message_count: 1, certificate_id: cert.id }]);

    await purge('2026-06-23T00:00:00Z'); // the kept message's values expired on 06-22; its metadata lives until 06-26
    expect(await read([kept])).toEqual([{ msisdn: null, body: null }]);
    const [row] = await t.db.superuser<Record<string, unknown>>('SELECT msisdn_hash, msisdn_ciphertext, body_ciphertext, status FROM messages WHERE id = $1', [kept]);
    expect(row).toEqual({ msisdn_hash: null, msisdn_ciphertext: null, body_ciphertext: null, status: 'delivered' });
    expect(await hops(kept)).toEqual([{ subject: null }]);
  });

  describe('purge lag, status and metrics', () => {
    let dpo: { token: string };
    let run: PurgeRunSummary;

    beforeAll(async () => {
      dpo = await createUser(t, adminToken, { email: 'dpo.purge@example.test', role: 'dpo' });
    });

    const status = async (at: string) => {
      now = new Date(at);
      const res = await t.http().get('/api/v1/retention/status').set(bearer(dpo.token)).expect(200);
      return res.body as { at: string; lag: Record<string, unknown>; lastRun: Record<string, unknown> | null; lastSucceededAt: string | null; schedule: string };
    };

    it('shows how long expired data has been readable, the worst lag of the last 24 hours and the target', async () => {
      const lagCo = await customer('Lag Purge', { body: 1, msisdn: 1, delivery_metadata: 100 });
      await store(message(lagCo, '2026-07-01T10:00:00Z')); // its values expire on 07-03 at 00:00

      expect((await status('2026-07-03T00:20:00Z')).lag).toEqual({
        currentSeconds: 1200, oldestUnpurgedSince: '2026-07-03T00:00:00.000Z', worstLast24hSeconds: 1200, targetSeconds: 600, targetMet: false,
      });

      run = await purge('2026-07-03T00:20:00Z');
      expect(run.maxLagMs).toBe(1_200_000);
      const after = await status('2026-07-03T00:21:00Z');
      expect(after.lag).toEqual({ currentSeconds: 0, oldestUnpurgedSince: null, worstLast24hSeconds: 1200, targetSeconds: 600, targetMet: false });
      expect(after.lastRun).toMatchObject({ id: run.runId, status: 'succeeded', trigger: 'manual', maxLagMs: 1_200_000, keysDestroyed: run.keysDestroyed });
      expect(after.lastSucceededAt).toBe('2026-07-03T00:20:00.000Z');
      expect(after.schedule).toBe('*/2 * * * *');

      // A day later the late run is out of the window.
      expect((await status('2026-07-04T01:00:00Z')).lag).toMatchObject({ currentSeconds: 0, worstLast24hSeconds: 0, targetMet: true });
    });

    it('exposes the lag and the runs as Prometheus metrics, the same on every instance, behind METRICS_TOKEN when set', async () => {
      const open = await t.http().get('/metrics').expect(200);
      expect(open.headers['content-type']).toMatch(/^text\/plain;.*\bversion=0\.0\.4\b/);
      const [{ succeeded }] = await t.db.superuser<{ succeeded: number }>(`SELECT count(*)::int AS succeeded FROM purge_runs WHERE status = 'succeeded'`);
      const [{ destroyed }] = await t.db.superuser<{ destroyed: number }>('SELECT count(*)::int AS destroyed FROM data_keys WHERE destroyed_at IS NOT NULL');
      const text = open.text;
      expect(text).toContain('# TYPE custodian_purge_lag_seconds gauge');
      expect(text).toMatch(/^custodian_purge_lag_seconds 0$/m);
      expect(text).toMatch(/^custodian_purge_last_run_max_lag_seconds 1200$/m);
      expect(text).toMatch(new RegExp(`^custodian_purge_last_run_timestamp_seconds ${Date.parse('2026-07-03T00:20:00Z') / 1000}$`, 'm'));
      expect(text).toMatch(new RegExp(`^custodian_purge_runs_total\\{status="succeeded"\\} ${succeeded}$`, 'm'));
      expect(text).toMatch(/^custodian_purge_runs_total\{status="interrupted"\} 0$/m);
      expect(text).toMatch(new RegExp(`^custodian_data_keys_destroyed_total ${destroyed}$`, 'm'));
      // No customer ids (nor anything else about a customer) in any label or value.
      const customers = await t.db.superuser<{ id: string }>('SELECT id FROM customers');
      for (const c of customers) expect(text).not.toContain(c.id);

      // A second instance on the same database, with a token: the same figures, only for the token.
      const second = await startTestApp({ JOBS_ENABLED: 'false', METRICS_TOKEN }, t.db);
      try {
        jest.spyOn(second.app.get(Clock), 'now').mockImplementation(() => new Date(now));
        expectProblem(await second.http().get('/metrics'), 401, 'unauthorized');
        expectProblem(await second.http().get('/metrics').set(bearer('scrape-token-wrong-0000')), 401, 'unauthorized');
        const scraped = await second.http().get('/metrics').set(bearer(METRICS_TOKEN)).expect(200);
        const purgeLines = (s: string) => s.split('\n').filter((l) => l.startsWith('custodian_'));
        expect(purgeLines(scraped.text)).toEqual(purgeLines(text));
      } finally {
        await second.close();
      }
    });

    it('reports a lag while expired data waits', async () => {
      const late = await customer('Late Purge', { body: 1, msisdn: 1, delivery_metadata: 100 });
      await store(message(late, '2026-07-05T10:00:00Z')); // expires on 07-07
      now = new Date('2026-07-07T00:30:00Z');
      const res = await t.http().get('/metrics').expect(200);
      expect(res.text).toMatch(/^custodian_purge_lag_seconds 1800$/m);
    });

    it('marks a run that died interrupted, counts what it destroyed and certifies it under its own id', async () => {
      const late = (await t.db.superuser<{ id: string }>(`SELECT id FROM customers WHERE legal_name = 'Late Purge'`))[0].id;
      const [dead] = await t.db.superuser<{ id: string }>(`INSERT INTO purge_runs (trigger, status, started_at) VALUES ('schedule', 'running', '2026-07-07T00:31:00Z') RETURNING id`);
      // It died right after destroying one key.
      await t.db.superuser(
        `UPDATE data_keys SET wrapped = NULL, destroyed_at = '2026-07-07T00:31:00Z', expired_at = '2026-07-07T00:00:00Z', destroyed_by_run_id = $2
          WHERE customer_id = $1 AND category = 'body'`,
        [late, dead.id],
      );

      const next = await purge('2026-07-07T00:40:00Z');

      const [deadRun] = await t.db.superuser<Record<string, unknown>>('SELECT status, keys_destroyed, messages_destroyed, max_lag_ms, error FROM purge_runs WHERE id = $1', [dead.id]);
      expect(deadRun).toMatchObject({ status: 'interrupted', keys_destroyed: 1, messages_destroyed: 1, max_lag_ms: '1860000' });
      expect(deadRun.error).toMatch(/stopped before it finished/);
      const certs = await certificates(late);
      expect(certs.map((c) => [c.runId, items(c)])).toEqual(expect.arrayContaining([
        [dead.id, [['body', '2026-07-05', '2026-07-05', 1]]],
        [next.runId, [['msisdn', '2026-07-05', '2026-07-05', 1]]],
      ]));
      expect(certs).toHaveLength(2);
      expect(next.certificatesIssued).toBe(2);
    });

    it('lists runs newest first in cursor pages, and shows one with its certificates', async () => {
      const all = await t.db.superuser<{ id: string }>('SELECT id FROM purge_runs ORDER BY started_at DESC, id DESC');
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await t.http().get('/api/v1/retention/runs').query({ limit: 3, ...(cursor ? { cursor } : {}) }).set(bearer(dpo.token)).expect(200);
        const page = res.body as { items: { id: string }[]; nextCursor: string | null };
        seen.push(...page.items.map((r) => r.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all.map((r) => r.id));

      const interrupted = await t.http().get('/api/v1/retention/runs').query({ status: 'interrupted' }).set(bearer(dpo.token)).expect(200);
      expect((interrupted.body as { items: { status: string }[] }).items.map((r) => r.status)).toEqual(['interrupted']);
      expectProblem(await t.http().get('/api/v1/retention/runs').query({ status: 'exploded' }).set(bearer(dpo.token)), 400, 'validation');

      const detail = await t.http().get(`/api/v1/retention/runs/${run.runId}`).set(bearer(dpo.token)).expect(200);
      const certIds = await t.db.superuser<{ id: string; customer_id: string }>('SELECT id, customer_id FROM deletion_certificates WHERE run_id = $1 ORDER BY issued_at, id', [run.runId]);
      expect(detail.body).toMatchObject({ id: run.runId, status: 'succeeded', maxLagMs: 1_200_000 });
      expect((detail.body as { certificates: unknown[] }).certificates).toEqual(certIds.map((c) => ({ id: c.id, customerId: c.customer_id })));
      expectProblem(await t.http().get(`/api/v1/retention/runs/${randomUUID()}`).set(bearer(dpo.token)), 404, 'not-found');
      expectProblem(await t.http().get('/api/v1/retention/runs/not-a-uuid').set(bearer(dpo.token)), 404, 'not-found');
    });
  });

  it('runs as the "purge" job on demand', async () => {
    now = new Date('2026-07-08T00:00:00Z');
    const res = await t.http().post('/api/v1/jobs/purge/run').set(bearer(adminToken)).expect(200);
    expect(res.body).toMatchObject({ job: 'purge', outcome: 'succeeded', counts: expect.objectContaining({ keysDestroyed: expect.any(Number), destroyMs: expect.any(Number) }) });
    const [latest] = await t.db.superuser<{ status: string; started_at: Date }>('SELECT status, started_at FROM purge_runs ORDER BY started_at DESC LIMIT 1');
    expect(latest).toEqual({ status: 'succeeded', started_at: now });
    const jobs = await t.http().get('/api/v1/jobs').set(bearer(adminToken)).expect(200);
    expect((jobs.body as { name: string; schedule: string }[]).find((j) => j.name === 'purge')).toMatchObject({ schedule: '*/2 * * * *' });
  });

  it('lets the DPO and auditors read purge runs and status, nobody else', async () => {
    const customerId = await seedCustomer(t, { legalName: 'Nosy Purge' });
    const users = {
      dpo: await createUser(t, adminToken, { email: 'dpo2.purge@example.test', role: 'dpo' }),
      auditor: await createUser(t, adminToken, { email: 'auditor.purge@example.test', role: 'auditor' }),
      legal: await createUser(t, adminToken, { email: 'legal.purge@example.test', role: 'legal' }),
      security: await createUser(t, adminToken, { email: 'security.purge@example.test', role: 'security' }),
      customer: await createUser(t, adminToken, { email: 'customer.purge@example.test', role: 'customer', customerId }),
      admin: { token: adminToken },
    };
    for (const [role, user] of Object.entries(users)) {
      const allowed = role === 'dpo' || role === 'auditor';
      for (const path of ['/api/v1/retention/status', '/api/v1/retention/runs']) {
        const res = await t.http().get(path).set(bearer(user.token));
        if (allowed) expect({ role, path, status: res.status }).toEqual({ role, path, status: 200 });
        else expectProblem(res, 403, 'forbidden');
      }
      const run = await t.http().post('/api/v1/jobs/purge/run').set(bearer(user.token));
      if (role === 'dpo' || role === 'admin') expect({ role, status: run.status }).toEqual({ role, status: 200 });
      else expectProblem(run, 403, 'forbidden');
    }
    expectProblem(await t.http().get('/api/v1/retention/status'), 401, 'unauthorized');
  });

  it('never writes a phone number or a body into the audit log, the runs or the certificates', async () => {
    const audit = await t.db.superuser<{ action: string; changes: unknown }>(`SELECT action, changes FROM audit_log WHERE action LIKE 'purge.%' OR action = 'certificate.issued'`);
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['purge.keys_destroyed', 'purge.key_destroyed', 'purge.run_succeeded', 'purge.run_interrupted', 'certificate.issued']));
    const evidence = JSON.stringify([
      audit, await t.db.superuser('SELECT * FROM purge_runs'), await t.db.superuser('SELECT statement FROM deletion_certificates'),
      await t.db.superuser('SELECT * FROM purge_deletions'),
    ]);
    expect(planted.length).toBeGreaterThan(20);
    for (const value of planted) expect(evidence).not.toContain(value);
    for (const value of planted) expect(evidence).not.toContain(value.replace('+', ''));
  });
});
