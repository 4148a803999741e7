import { createHash } from 'node:crypto';
import { Clock } from '../src/common/clock';
import { ReadCache } from '../src/common/read-cache';
import type { CustomerResponse } from '../src/customers/dto/customer.dto';
import type { AuthorisedSubprocessorsResponse, SubprocessorResponse } from '../src/subprocessors/dto/subprocessor.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { until } from './support/cluster-fleet';
import { bearer } from './support/http';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';

/*
 * The registry reads an instance keeps in memory (src/common/read-cache.ts): kept until the data
 * under them changes, through whichever connection; read again at once after the instance's own
 * writes; not kept while the instance cannot hear about changes; per caller scope.
 */

interface Page<T> {
  items: T[];
}

describe('registry reads kept per instance', () => {
  let t: TestApp;
  let dpo: string;
  let legal: string;
  let alphaUser: string;
  let alpha: string;
  let bravo: string;
  let carrier: string;
  const cache = () => t.app.get(ReadCache);

  const subprocessorNames = async () =>
    ((await t.http().get('/api/v1/subprocessors?limit=200').set(bearer(dpo)).expect(200)).body as Page<SubprocessorResponse>).items.map((s) => s.legalEntity);
  const authorised = async (customerId: string, token = dpo) =>
    (await t.http().get(`/api/v1/customers/${customerId}/authorised-subprocessors`).set(bearer(token)).expect(200)).body as AuthorisedSubprocessorsResponse;
  /** A change the triggers do not see (as a restore or a careless script might make): only a read that goes to the database shows it. */
  const unseenRename = async (id: string, name: string) => {
    await t.db.superuser(`SET session_replication_role = replica`);
    try {
      await t.db.superuser('UPDATE subprocessors SET legal_entity = $1 WHERE id = $2', [name, id]);
    } finally {
      await t.db.superuser(`RESET session_replication_role`);
    }
  };

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    const admin = await login(t, ADMIN.email, ADMIN.password);
    dpo = (await createUser(t, admin, { email: 'dpo@cache.test', role: 'dpo' })).token;
    legal = (await createUser(t, admin, { email: 'legal@cache.test', role: 'legal' })).token;
    alpha = await seedCustomer(t, { legalName: 'Alpha Brand GmbH' });
    bravo = await seedCustomer(t, { legalName: 'Bravo Brand GmbH' });
    await seedDpa(t, { customerId: alpha });
    await seedDpa(t, { customerId: bravo });
    carrier = await seedSubprocessor(t, { legalEntity: 'Kilo Mobile GmbH', country: 'DE', carriesCountries: ['DE'] });
    alphaUser = (await createUser(t, admin, { email: 'alpha@cache.test', role: 'customer', customerId: alpha })).token;
    await until('the instance listens for changes', () => (cache().active ? true : undefined), 5000, 20);
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
  });

  it('keeps an answer until a change reaches the tables through any connection', async () => {
    expect(await subprocessorNames()).toContain('Kilo Mobile GmbH');
    await unseenRename(carrier, 'Kilo Renamed GmbH');
    // Kept: the rename went around the triggers, so this instance was not told.
    expect(await subprocessorNames()).toContain('Kilo Mobile GmbH');
    // Any statement on a registry table from another connection (another instance, psql) is heard.
    await t.db.superuser('UPDATE customers SET legal_name = legal_name WHERE false');
    await until('the change is seen', async () => ((await subprocessorNames()).includes('Kilo Renamed GmbH') ? true : undefined), 5000, 20);
    await t.db.superuser(`UPDATE subprocessors SET legal_entity = 'Kilo Mobile GmbH' WHERE id = $1`, [carrier]);
    await until('the change back is seen', async () => ((await subprocessorNames()).includes('Kilo Mobile GmbH') ? true : undefined), 5000, 20);
  });

  it('reads an answer in use again in the background 5–7.5 s after it was read, and never gives one older than 10 s', async () => {
    // performance.now() runs `ahead` ms fast: the cache's ages, and nothing the test waits on.
    let ahead = 0;
    const now = performance.now.bind(performance);
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now() + ahead);
    try {
      expect(await subprocessorNames()).toContain('Kilo Mobile GmbH');
      await unseenRename(carrier, 'Kilo Refreshed GmbH');
      // Not read again before it is 5 s old.
      ahead = 4900;
      expect(await subprocessorNames()).toContain('Kilo Mobile GmbH');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await subprocessorNames()).toContain('Kilo Mobile GmbH');
      // Read again by 7.5 s (each answer draws its own moment between the two).
      ahead = 7600;
      // Still the answer kept, while it is read again in the background; then the new one, with nothing
      // notified, well before the kept one reaches 10 s (2.4 s from now).
      expect(await subprocessorNames()).toContain('Kilo Mobile GmbH');
      await until('the answer read again', async () => ((await subprocessorNames()).includes('Kilo Refreshed GmbH') ? true : undefined), 1500, 20);

      await unseenRename(carrier, 'Kilo Mobile GmbH');
      ahead += 10_100;
      // Kept for 10 s at most: the first request after that reads the database.
      expect(await subprocessorNames()).toContain('Kilo Mobile GmbH');
    } finally {
      clock.mockRestore();
    }
  });

  it("reads a client's own writes at once", async () => {
    for (let i = 0; i < 10; i++) {
      const name = `Alpha Brand ${i} GmbH`;
      await t.http().patch(`/api/v1/customers/${alpha}`).set(bearer(legal)).send({ legalName: name }).expect(200);
      const list = (await t.http().get('/api/v1/customers?limit=200').set(bearer(legal)).expect(200)).body as Page<CustomerResponse>;
      expect(list.items.map((c) => c.legalName)).toContain(name);
    }
  });

  it('keeps answers per scope: a customer user gets its own, never one kept for a wider caller', async () => {
    const all = (await t.http().get('/api/v1/customers?limit=200').set(bearer(legal)).expect(200)).body as Page<CustomerResponse>;
    expect(all.items.map((c) => c.id).sort()).toEqual([alpha, bravo].sort());
    const own = (await t.http().get('/api/v1/customers?limit=200').set(bearer(alphaUser)).expect(200)).body as Page<CustomerResponse>;
    expect(own.items.map((c) => c.id)).toEqual([alpha]);
    await authorised(bravo); // kept for the DPO
    await t.http().get(`/api/v1/customers/${bravo}/authorised-subprocessors`).set(bearer(alphaUser)).expect(404);
    expect((await authorised(alpha, alphaUser)).customerId).toBe(alpha);
  });

  it('reads from the database while it cannot hear about changes, and listens again by itself', async () => {
    await subprocessorNames();
    await t.db.superuser(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'custodian-read-cache' AND datname = current_database()`);
    await until('the instance notices it stopped listening', () => (!cache().active ? true : undefined), 5000, 20);
    await unseenRename(carrier, 'Kilo Offline GmbH');
    // Not listening: nothing kept, so even a change around the triggers shows.
    expect(await subprocessorNames()).toContain('Kilo Offline GmbH');
    await until('the instance listens again', () => (cache().active ? true : undefined), 10_000, 20);
    expect(await subprocessorNames()).toContain('Kilo Offline GmbH');
    await unseenRename(carrier, 'Kilo Mobile GmbH');
    expect(await subprocessorNames()).toContain('Kilo Offline GmbH'); // kept again
    await t.db.superuser('UPDATE subprocessors SET legal_entity = legal_entity WHERE false');
    await until('the change is seen', async () => ((await subprocessorNames()).includes('Kilo Mobile GmbH') ? true : undefined), 5000, 20);
  });

  it('refuses a disabled user and a revoked key at once on the instance that did it, and moments later on another', async () => {
    const second = await startTestApp({ JOBS_ENABLED: 'false' }, t.db);
    try {
      const admin = await login(t, ADMIN.email, ADMIN.password);
      const victim = await createUser(t, admin, { email: 'leaver@cache.test', role: 'legal' });
      const key = ((await t.http().post('/api/v1/api-keys').set(bearer(admin)).send({ name: 'leaver', role: 'auditor' }).expect(201)).body as { id: string; key: string });
      await until('the second instance listens', () => (second.app.get(ReadCache).active ? true : undefined), 5000, 20);
      for (const app of [t, second]) {
        await app.http().get('/api/v1/customers').set(bearer(victim.token)).expect(200);
        await app.http().get('/api/v1/audit').set(bearer(key.key)).expect(200);
      }
      await t.http().patch(`/api/v1/users/${victim.id}`).set(bearer(admin)).send({ disabled: true }).expect(200);
      await t.http().delete(`/api/v1/api-keys/${key.id}`).set(bearer(admin)).expect(204);
      await t.http().get('/api/v1/customers').set(bearer(victim.token)).expect(401);
      await t.http().get('/api/v1/audit').set(bearer(key.key)).expect(401);
      await until('the other instance refuses the user', async () => (((await second.http().get('/api/v1/customers').set(bearer(victim.token))).status === 401) ? true : undefined), 1000, 20);
      await until('the other instance refuses the key', async () => (((await second.http().get('/api/v1/audit').set(bearer(key.key))).status === 401) ? true : undefined), 1000, 20);
    } finally {
      await second.close();
    }
  });

  it("answers 'now' anew when time passes a moment that changes it, with nothing written", async () => {
    const now = Date.now();
    const expiresAt = new Date(now + 3_600_000);
    const charlie = await seedCustomer(t, { legalName: 'Charlie Brand GmbH' });
    const dpa = await seedDpa(t, { customerId: charlie, expiresAt });
    const clock = jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    await until('the new DPA is seen', async () => (((await authorised(charlie)).dpaId === dpa) ? true : undefined), 5000, 20);
    expect((await authorised(charlie)).subprocessors.map((s) => s.id)).toContain(carrier);
    clock.mockImplementation(() => new Date(expiresAt.getTime() - 1));
    expect((await authorised(charlie)).dpaId).toBe(dpa);
    clock.mockImplementation(() => expiresAt);
    const after = await authorised(charlie);
    expect(after).toMatchObject({ dpaId: null, subprocessors: [], at: expiresAt.toISOString() });
    clock.mockRestore();
  });

  it('replies with a kept answer as Express would: the same bytes, an ETag of those bytes, 304 when unchanged, HEAD without a body', async () => {
    // Express's weak ETag: W/"<length in hex>-<first 27 characters of the base64 SHA-1>".
    const etagOf = (bytes: Buffer) => `W/"${bytes.length.toString(16)}-${createHash('sha1').update(bytes).digest('base64').slice(0, 27)}"`;
    const get = (headers: Record<string, string> = {}) =>
      t.http().get('/api/v1/subprocessors?limit=200').set({ ...bearer(dpo), ...headers }).buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
    const first = await get().expect(200);
    const second = await get().expect(200);
    const bytes = first.body as Buffer;
    expect((second.body as Buffer).equals(bytes)).toBe(true);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.headers['content-length']).toBe(String(bytes.length));
    expect(first.headers.etag).toBe(etagOf(bytes));
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(JSON.parse(bytes.toString()).items.map((s: SubprocessorResponse) => s.legalEntity)).toContain('Kilo Mobile GmbH');

    const unchanged = await get({ 'If-None-Match': first.headers.etag }).expect(304);
    expect((unchanged.body as Buffer).length).toBe(0);
    const head = await t.http().head('/api/v1/subprocessors?limit=200').set(bearer(dpo)).expect(200);
    expect(head.headers.etag).toBe(first.headers.etag);
    expect(head.headers['content-length']).toBe(String(bytes.length));

    // A change: new bytes, a new ETag, and the old one no longer matches.
    await seedSubprocessor(t, { legalEntity: 'Lima Telecom SA', country: 'FR', carriesCountries: ['FR'] });
    await until('the change is seen', async () => (((await get().expect(200)).body as Buffer).toString().includes('Lima Telecom SA') ? true : undefined), 5000, 20);
    const changed = await get({ 'If-None-Match': first.headers.etag }).expect(200);
    expect(changed.headers.etag).toBe(etagOf(changed.body as Buffer));
    expect(changed.headers.etag).not.toBe(first.headers.etag);
  });
});
