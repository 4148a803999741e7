import { createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock';
import { SYSTEM_ACTOR } from '../src/jobs/jobs.service';
import { CertificateContent, CertificatesService } from '../src/retention/certificates.service';
import type { CertificatePage, CertificateResponse, CertificateSummary, SigningKeyResponse } from '../src/retention/dto/certificate.dto';
import { ADMIN, createUser, login, startTestApp, TestApp, testEnv } from './support/app';
import { bearer, expectProblem } from './support/http';
import { runCli } from './support/processes';
import { seedCustomer } from './support/registry-fixtures';

const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;

function content(customerId: string, runId: string, messageCount: number): CertificateContent {
  return {
    customerId,
    source: { kind: 'purge_run', runId },
    method: 'crypto_shredding',
    destroyedAt: new Date('2026-12-01T00:04:00Z'),
    destroyed: [
      { category: 'msisdn', from: '2026-08-01', to: '2026-08-31', messageCount, keyIds: [randomUUID(), randomUUID()] },
      { category: 'body', from: '2026-10-01', to: '2026-10-31', messageCount: 1, keyIds: [randomUUID()] },
    ],
    retainedUnderHold: 2,
  };
}

describe('deletion certificates', () => {
  let t: TestApp;
  let admin: string;
  let dpo: string;
  let auditor: string;
  let customerA: string;
  let customerB: string;
  let acme: string;
  let globex: string;
  const runs = [randomUUID(), randomUUID()];
  const certs: Record<string, string> = {};
  let scratch: string;

  const issue = async (customerId: string, runId: string, messageCount: number, issuedAt: string): Promise<string> => {
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(issuedAt));
    const certificate = await t.app.get(DataSource).transaction((em) => t.app.get(CertificatesService).issue(em, SYSTEM_ACTOR, content(customerId, runId, messageCount)));
    return certificate.id;
  };

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    scratch = mkdtempSync(join(tmpdir(), 'custodian-certs-'));
    admin = await login(t, ADMIN.email, ADMIN.password);
    acme = await seedCustomer(t, { legalName: 'Acme Retail' });
    globex = await seedCustomer(t, { legalName: 'Globex' });
    dpo = (await createUser(t, admin, { email: unique('dpo'), role: 'dpo' })).token;
    auditor = (await createUser(t, admin, { email: unique('auditor'), role: 'auditor' })).token;
    customerA = (await createUser(t, admin, { email: unique('a'), role: 'customer', customerId: acme })).token;
    customerB = (await createUser(t, admin, { email: unique('b'), role: 'customer', customerId: globex })).token;
    certs.acme1 = await issue(acme, runs[0], 5, '2026-12-01T00:05:00Z');
    certs.globex1 = await issue(globex, runs[0], 7, '2026-12-01T00:05:01Z');
    certs.acme2 = await issue(acme, runs[1], 3, '2026-12-02T00:05:00Z');
    certs.globex2 = await issue(globex, runs[1], 9, '2026-12-02T00:05:01Z');
  });
  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await t.close();
  });

  const list = async (token: string, query: Record<string, string | number> = {}): Promise<CertificateSummary[]> => {
    const res = await t.http().get('/api/v1/retention/certificates').query(query).set(bearer(token));
    expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: 200 });
    return (res.body as CertificatePage).items;
  };
  const get = async (id: string, token = dpo): Promise<CertificateResponse> => {
    const res = await t.http().get(`/api/v1/retention/certificates/${id}`).set(bearer(token));
    expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: 200 });
    return res.body as CertificateResponse;
  };
  const verifyViaApi = async (id: string, token = dpo) => (await t.http().get(`/api/v1/retention/certificates/${id}/verify`).set(bearer(token)).expect(200)).body as unknown;
  const cli = async (...args: string[]) => {
    const run = await runCli(['certificates:verify', ...args], testEnv(t.db.url));
    const lines = run.stdout.trim().split('\n');
    return { code: run.code, lines, result: JSON.parse(lines[lines.length - 1]) as Record<string, unknown>, stderr: run.stderr };
  };

  describe('who sees which', () => {
    it('shows a customer its own certificates only, newest first', async () => {
      expect((await list(customerA)).map((c) => c.id)).toEqual([certs.acme2, certs.acme1]);
      expect((await list(customerB)).map((c) => c.id)).toEqual([certs.globex2, certs.globex1]);
      // Asking for the other customer's narrows to nothing rather than widening.
      expect(await list(customerA, { customerId: globex })).toEqual([]);
    });

    it('answers a customer about another customer\'s certificate exactly like about a missing one', async () => {
      for (const path of [`/api/v1/retention/certificates/${certs.globex1}`, `/api/v1/retention/certificates/${certs.globex1}/verify`]) {
        const foreign = expectProblem(await t.http().get(path).set(bearer(customerA)), 404, 'not-found');
        const missing = expectProblem(await t.http().get(path.replace(certs.globex1, randomUUID())).set(bearer(customerA)), 404, 'not-found');
        expect(foreign.detail).toBe(missing.detail);
      }
      expect((await get(certs.acme1, customerA)).customerId).toBe(acme);
    });

    it('shows DPO and auditors every certificate, filtered by customer, run and time, in pages', async () => {
      expect((await list(auditor)).map((c) => c.id)).toEqual([certs.globex2, certs.acme2, certs.globex1, certs.acme1]);
      expect((await list(dpo, { customerId: globex })).map((c) => c.id)).toEqual([certs.globex2, certs.globex1]);
      expect((await list(dpo, { runId: runs[0] })).map((c) => c.id)).toEqual([certs.globex1, certs.acme1]);
      expect((await list(dpo, { from: '2026-12-01T00:05:01Z', to: '2026-12-02T00:05:01Z' })).map((c) => c.id)).toEqual([certs.acme2, certs.globex1]);
      const first = await t.http().get('/api/v1/retention/certificates').query({ limit: 3 }).set(bearer(dpo)).expect(200);
      const page1 = first.body as CertificatePage;
      const page2 = (await t.http().get('/api/v1/retention/certificates').query({ limit: 3, cursor: page1.nextCursor! }).set(bearer(dpo)).expect(200)).body as CertificatePage;
      expect([...page1.items, ...page2.items].map((c) => c.id)).toEqual([certs.globex2, certs.acme2, certs.globex1, certs.acme1]);
      expect(page2.nextCursor).toBeNull();
    });

    it('summarises each certificate from its signed statement', async () => {
      const [summary] = await list(dpo, { runId: runs[0], customerId: acme });
      expect(summary).toEqual({
        id: certs.acme1, customerId: acme, runId: runs[0], requestId: null, issuedAt: '2026-12-01T00:05:00.000Z', method: 'crypto_shredding',
        destroyedAt: '2026-12-01T00:04:00.000Z', messageCounts: { msisdn: 5, body: 1, delivery_metadata: 0 }, retainedUnderHold: 2, signingKeyId: t.app.get(CertificatesService).signingKeyId,
      });
    });

    it('is not for legal, security or admin', async () => {
      for (const role of ['legal', 'security'] as const) {
        const token = (await createUser(t, admin, { email: unique(role), role })).token;
        expectProblem(await t.http().get('/api/v1/retention/certificates').set(bearer(token)), 403, 'forbidden');
        expectProblem(await t.http().get(`/api/v1/retention/certificates/${certs.acme1}`).set(bearer(token)), 403, 'forbidden');
      }
      expectProblem(await t.http().get('/api/v1/retention/certificates').set(bearer(admin)), 403, 'forbidden');
      expectProblem(await t.http().get('/api/v1/retention/certificates'), 401, 'unauthorized');
    });
  });

  describe('verifying', () => {
    it('returns the exact signed statement, which verifies offline against the published key', async () => {
      const certificate = await get(certs.acme1, customerA);
      expect(certificate.statement).toEqual(JSON.parse(certificate.signedStatement));
      expect(certificate.statement).toMatchObject({ type: 'custodian.deletion-certificate', certificateId: certs.acme1, customerId: acme, source: { kind: 'purge_run', runId: runs[0] } });
      // Anyone, without logging in, can fetch the public keys ...
      const keys = (await t.http().get('/api/v1/retention/signing-keys').expect(200)).body as SigningKeyResponse[];
      const key = keys.find((k) => k.id === certificate.signingKeyId)!;
      expect(key).toMatchObject({ algorithm: 'Ed25519', current: true, publicKeyPem: t.app.get(CertificatesService).publicKeyPem });
      // ... and check the signature with nothing but Node's crypto.
      const ok = verify(null, Buffer.from(certificate.signedStatement, 'utf8'), createPublicKey(key.publicKeyPem), Buffer.from(certificate.signature, 'base64'));
      expect(ok).toBe(true);
      expect(await verifyViaApi(certs.acme1, customerA)).toEqual({ valid: true, signingKeyId: certificate.signingKeyId });
    });

    it('publishes every key that ever signed, and keeps certificates of an older key verifiable', async () => {
      // A second service instance with another SIGNING_KEY on the same database: after a key change.
      const rotated = await startTestApp({ SIGNING_KEY: Buffer.alloc(32, 10).toString('base64'), JOBS_ENABLED: 'false' }, t.db);
      try {
        const newKey = rotated.app.get(CertificatesService).signingKeyId;
        const keys = (await rotated.http().get('/api/v1/retention/signing-keys').expect(200)).body as SigningKeyResponse[];
        expect(keys.map((k) => [k.id, k.current])).toEqual(expect.arrayContaining([[t.app.get(CertificatesService).signingKeyId, false], [newKey, true]]));
        expect(await rotated.http().get(`/api/v1/retention/certificates/${certs.acme1}/verify`).set(bearer(dpo)).expect(200).then((r) => r.body)).toMatchObject({ valid: true });
      } finally {
        await rotated.close();
      }
    });

    it('finds a statement changed in the database invalid, through the API and the CLI', async () => {
      const id = await issue(acme, randomUUID(), 4, '2026-12-03T00:05:00Z');
      await t.db.superuser(`UPDATE deletion_certificates SET statement = replace(statement, '"messageCount":4', '"messageCount":40') WHERE id = $1`, [id]);
      expect(await verifyViaApi(id)).toEqual({ valid: false, signingKeyId: t.app.get(CertificatesService).signingKeyId, reason: 'signature does not match the statement' });
      const run = await cli(id);
      expect(run.code).toBe(1);
      expect(run.lines).toHaveLength(1);
      expect(run.result).toMatchObject({ certificateId: id, valid: false, reason: 'signature does not match the statement' });
    });

    it('finds another certificate\'s statement and signature copied into a row invalid', async () => {
      const victim = await issue(acme, randomUUID(), 2, '2026-12-04T00:05:00Z');
      await t.db.superuser(
        `UPDATE deletion_certificates v SET statement = s.statement, signature = s.signature FROM deletion_certificates s WHERE v.id = $1 AND s.id = $2`,
        [victim, certs.globex1],
      );
      expect(await verifyViaApi(victim)).toMatchObject({ valid: false, reason: 'the signed statement belongs to another certificate' });
      expect((await cli(victim)).code).toBe(1);
    });

    it('verifies by id from the command line: 0 valid, 2 unknown', async () => {
      const valid = await cli(certs.globex2);
      expect(valid.code).toBe(0);
      expect(valid.lines).toHaveLength(1);
      expect(valid.result).toEqual({ certificateId: certs.globex2, valid: true, signingKeyId: t.app.get(CertificatesService).signingKeyId });
      const unknown = await cli(randomUUID());
      expect(unknown.code).toBe(2);
      expect(unknown.result).toMatchObject({ valid: false, reason: 'no certificate with this id' });
      expect((await cli('not-an-id')).code).toBe(2);
      const usage = await runCli(['certificates:verify'], testEnv(t.db.url));
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('usage: npm run cli -- certificates:verify');
    });

    it('verifies a certificate file, as the API returns it, against the published keys', async () => {
      const certificate = await get(certs.acme2, customerA);
      const file = join(scratch, 'certificate.json');
      writeFileSync(file, JSON.stringify(certificate, null, 2));
      const ok = await cli('--file', file);
      expect(ok).toMatchObject({ code: 0, result: { certificateId: certs.acme2, valid: true } });

      const tampered = join(scratch, 'tampered.json');
      writeFileSync(tampered, JSON.stringify({ ...certificate, signedStatement: certificate.signedStatement.replace('"retainedUnderHold":2', '"retainedUnderHold":0') }));
      expect(await cli('--file', tampered)).toMatchObject({ code: 1, result: { valid: false, reason: 'signature does not match the statement' } });

      const unpublished = join(scratch, 'unpublished.json');
      writeFileSync(unpublished, JSON.stringify({ ...certificate, signingKeyId: '0123456789abcdef' }));
      expect(await cli('--file', unpublished)).toMatchObject({ code: 1, result: { valid: false, reason: 'unknown signing key' } });

      const relabelled = join(scratch, 'relabelled.json');
      writeFileSync(relabelled, JSON.stringify({ ...certificate, customerId: globex }));
      expect(await cli('--file', relabelled)).toMatchObject({ code: 1, result: { valid: false, reason: 'the signed statement belongs to another certificate' } });

      const garbage = join(scratch, 'garbage.json');
      writeFileSync(garbage, 'not json');
      expect((await cli('--file', garbage)).code).toBe(2);
      expect((await cli('--file', join(scratch, 'missing.json'))).code).toBe(2);
      writeFileSync(garbage, JSON.stringify({ statement: { parsed: true } }));
      expect((await cli('--file', garbage)).code).toBe(2);
    });
  });
});
