import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import type { AuditEntryResponse } from '../src/audit/audit.dto';
import { Clock } from '../src/common/clock';
import type { IncidentResponse } from '../src/incidents/dto/incident.dto';
import type { IncidentEvidenceList, IncidentEvidenceResponse } from '../src/incidents/dto/incident-evidence.dto';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { bearer, countRows, expectProblem, problemFields } from './support/http';
import { seedCustomer } from './support/registry-fixtures';

const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;
const NOW = new Date('2026-12-10T12:00:00.000Z');
const MAX_BYTES = 25 * 1024 * 1024;

/** Collects a response body as bytes, whatever its media type; a problem stays JSON. */
const bytes = (res: Response, done: (err: Error | null, body: unknown) => void) => {
  // Superagent hands a parser the raw incoming message, typed as its own response.
  const stream = res as unknown as NodeJS.ReadableStream & { headers: Record<string, string | undefined> };
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    const body = Buffer.concat(chunks);
    done(null, /problem\+json/.test(stream.headers['content-type'] ?? '') ? JSON.parse(body.toString('utf8')) : body);
  });
};
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('incident evidence: files with their SHA-256, on the timeline, downloaded with an audit trail', () => {
  let t: TestApp;
  let now: Date;
  const tokens: Record<'dpo' | 'legal' | 'auditor' | 'security' | 'customer', string> = {} as never;
  let securityId: string;

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    now = new Date(NOW);
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now));
    const admin = await login(t, ADMIN.email, ADMIN.password);
    const acme = await seedCustomer(t, { legalName: 'Acme Evidence' });
    for (const role of ['dpo', 'legal', 'auditor'] as const) tokens[role] = (await createUser(t, admin, { email: unique(role), role })).token;
    const security = await createUser(t, admin, { email: unique('security'), role: 'security' });
    [securityId, tokens.security] = [security.id, security.token];
    tokens.customer = (await createUser(t, admin, { email: unique('cust'), role: 'customer', customerId: acme })).token;
  });
  afterAll(() => t.close());

  const newIncident = async (): Promise<string> => {
    const res = await t.http().post('/api/v1/incidents').set(bearer(tokens.security)).send({
      title: 'Gateway host compromised', description: 'An attacker had a shell on the SMS gateway host for two hours.',
      detectedAt: '2026-12-10T09:30:00Z', becameAwareAt: '2026-12-10T10:15:00Z', internalSystems: ['sms-gateway'],
      dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: true,
    }).expect(201);
    return (res.body as IncidentResponse).id;
  };
  const upload = (id: string, content: Buffer | undefined, fileName: unknown = 'gateway-auth.log', token = tokens.security, type = 'text/plain') => {
    const req = t.http().post(`/api/v1/incidents/${id}/evidence`).query({ fileName }).set(bearer(token)).set('Content-Type', type);
    return content === undefined ? req : req.send(content);
  };
  const download = (id: string, evidenceId: string, token = tokens.legal) =>
    t.http().get(`/api/v1/incidents/${id}/evidence/${evidenceId}`).set(bearer(token)).buffer(true).parse(bytes);
  const getIncident = async (id: string) => (await t.http().get(`/api/v1/incidents/${id}`).set(bearer(tokens.auditor)).expect(200)).body as IncidentResponse;
  const auditOf = async (subjectId: string): Promise<AuditEntryResponse[]> => {
    const res = await t.http().get('/api/v1/audit').query({ subjectType: 'Incident', subjectId }).set(bearer(tokens.auditor)).expect(200);
    return (res.body as { items: AuditEntryResponse[] }).items.reverse();
  };
  const stored = async () => ({ evidence: await countRows(t, 'incident_evidence'), events: await countRows(t, 'incident_events') });
  const move = (id: string, to: string, token: string, reason?: string) =>
    t.http().post(`/api/v1/incidents/${id}/transitions`).set(bearer(token)).send(reason ? { to, reason } : { to }).expect(200);

  it('keeps a JSON file as uploaded, byte for byte (the API\'s JSON parser leaves this route alone)', async () => {
    const id = await newIncident();
    const content = Buffer.from('{ "alert": "exfiltration",\n  "bytes": 1048576 }\n');
    const res0 = await t.http().post(`/api/v1/incidents/${id}/evidence`).query({ fileName: 'siem-alert.json' }).set(bearer(tokens.security))
      .set('Content-Type', 'application/json').send(content.toString('utf8')).expect(201);
    const evidence = res0.body as IncidentEvidenceResponse;
    expect(evidence).toMatchObject({ contentType: 'application/json', size: content.length, sha256: sha256(content) });
    const res = await download(id, evidence.id).expect(200);
    expect(Buffer.compare(res.body as Buffer, content)).toBe(0);
  });

  it('stores an upload with the SHA-256 the server computes, puts it on the timeline, audits it without its name, and serves the same bytes', async () => {
    const id = await newIncident();
    const content = Buffer.from('2026-12-10T08:01:13Z sshd[812]: Accepted publickey for root from 203.0.113.7\n');
    now = new Date(NOW.getTime() + 60_000);
    const res = await upload(id, content).expect(201);
    const evidence = res.body as IncidentEvidenceResponse;
    expect(evidence).toEqual({
      id: expect.any(String), incidentId: id, fileName: 'gateway-auth.log', contentType: 'text/plain', size: content.length,
      sha256: sha256(content), uploadedBy: securityId, uploadedAt: now.toISOString(),
    });

    const incident = await getIncident(id);
    expect(incident.updatedAt).toBe(now.toISOString());
    expect(incident.timeline!.at(-1)).toMatchObject({
      kind: 'evidence_added', actorId: securityId, at: now.toISOString(), text: `gateway-auth.log (${content.length} bytes, SHA-256 ${sha256(content)})`,
    });
    const added = (await auditOf(id)).find((e) => e.action === 'incident.evidence_added')!;
    expect(added).toMatchObject({ actorId: securityId, changes: { evidenceId: evidence.id, sha256: sha256(content), size: content.length } });
    expect(JSON.stringify(added)).not.toContain('gateway-auth');

    const got = await download(id, evidence.id).expect(200);
    expect(Buffer.compare(got.body as Buffer, content)).toBe(0);
    expect(got.headers['content-type']).toBe('text/plain');
    expect(got.headers['content-disposition']).toBe('attachment; filename="gateway-auth.log"; filename*=UTF-8\'\'gateway-auth.log');
    expect(got.headers['repr-digest']).toBe(`sha-256=:${createHash('sha256').update(content).digest('base64')}:`);
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    const downloaded = (await auditOf(id)).filter((e) => e.action === 'incident.evidence_downloaded');
    expect(downloaded).toEqual([expect.objectContaining({ changes: { evidenceId: evidence.id } })]);
  });

  it('keeps binary files byte for byte, defaults the media type, and lists everything oldest first without content', async () => {
    const id = await newIncident();
    const binary = randomBytes(300_000);
    now = new Date(NOW.getTime() + 120_000);
    // Sent without a Content-Type.
    const first = (await t.http().post(`/api/v1/incidents/${id}/evidence`).query({ fileName: 'memory.dmp' }).set(bearer(tokens.dpo))
      .send(binary).expect(201)).body as IncidentEvidenceResponse;
    expect(first).toMatchObject({ contentType: 'application/octet-stream', size: binary.length, sha256: sha256(binary) });
    now = new Date(NOW.getTime() + 180_000);
    const pdf = Buffer.from('%PDF-1.7\n% carrier incident report\n');
    const second = (await upload(id, pdf, 'Carrier report “final” é.pdf', tokens.security, 'application/pdf').expect(201)).body as IncidentEvidenceResponse;

    const got = await download(id, first.id, tokens.auditor).expect(200);
    expect(sha256(got.body as Buffer)).toBe(sha256(binary));
    expect(got.headers['content-type']).toBe('application/octet-stream');
    const named = await download(id, second.id).expect(200);
    expect(named.headers['content-type']).toBe('application/pdf');
    // The quoted name is a safe ASCII fallback; filename* carries the exact one.
    expect(named.headers['content-disposition']).toBe(
      `attachment; filename="Carrier report _final_ _.pdf"; filename*=UTF-8''${encodeURIComponent('Carrier report “final” é.pdf')}`,
    );

    const list = (await t.http().get(`/api/v1/incidents/${id}/evidence`).set(bearer(tokens.legal)).expect(200)).body as IncidentEvidenceList;
    expect(list.items).toEqual([first, second]);
  });

  it('lets the DPO and security upload, legal and auditors read; refuses customers and legal uploads', async () => {
    const id = await newIncident();
    const content = Buffer.from('carrier ticket #4711');
    const before = await stored();
    expectProblem(await upload(id, content, 'ticket.txt', tokens.legal), 403, 'forbidden');
    expectProblem(await upload(id, content, 'ticket.txt', tokens.customer), 403, 'forbidden');
    expectProblem(await upload(id, content, 'ticket.txt', tokens.auditor), 403, 'forbidden');
    expect(await stored()).toEqual(before);
    expectProblem(await upload(id, content, 'ticket.txt', 'not-a-token'), 401, 'unauthorized');
    const anonymous = await t.http().post(`/api/v1/incidents/${id}/evidence`).query({ fileName: 'ticket.txt' }).set('Content-Type', 'text/plain').send(content);
    expectProblem(anonymous, 401, 'unauthorized');
    expect(await stored()).toEqual(before);

    const evidence = (await upload(id, content, 'ticket.txt', tokens.dpo).expect(201)).body as IncidentEvidenceResponse;
    for (const role of ['legal', 'auditor', 'security', 'dpo'] as const) {
      expect(((await t.http().get(`/api/v1/incidents/${id}/evidence`).set(bearer(tokens[role])).expect(200)).body as IncidentEvidenceList).items).toEqual([evidence]);
      expect((await download(id, evidence.id, tokens[role]).expect(200)).body).toEqual(content);
    }
    expectProblem(await t.http().get(`/api/v1/incidents/${id}/evidence`).set(bearer(tokens.customer)), 403, 'forbidden');
    expectProblem(await download(id, evidence.id, tokens.customer), 403, 'forbidden');
  });

  it('refuses too large, empty and badly named uploads, and uploads to unknown or finished incidents, storing nothing', async () => {
    const id = await newIncident();
    const before = await stored();

    const tooLarge = await upload(id, Buffer.alloc(MAX_BYTES + 1, 1), 'huge.bin', tokens.security, 'application/octet-stream');
    expectProblem(tooLarge, 413, 'payload-too-large');
    expect(await stored()).toEqual(before);

    const empty = await upload(id, Buffer.alloc(0));
    expectProblem(empty, 400, 'validation');
    expect(problemFields(empty)).toEqual(['body']);
    expectProblem(await upload(id, undefined), 400, 'validation');

    const unnamed = await t.http().post(`/api/v1/incidents/${id}/evidence`).set(bearer(tokens.security)).set('Content-Type', 'text/plain').send('content');
    expectProblem(unnamed, 400, 'validation');
    expect(problemFields(unnamed)).toContain('fileName');
    for (const fileName of ['', '../etc/passwd', 'logs/auth.log', 'logs\\auth.log', 'bell\u0007.log', 'line\nbreak.log', 'invoice\u202Efdp.exe', '..', 'x'.repeat(201), ['a.log', 'b.log']]) {
      const res = await upload(id, Buffer.from('content'), fileName);
      expectProblem(res, 400, 'validation');
      expect(problemFields(res)).toContain('fileName');
    }
    const badType = await upload(id, Buffer.from('content'), 'ok.log', tokens.security, 'not a media type');
    expectProblem(badType, 400, 'validation');
    expect(problemFields(badType)).toEqual(['Content-Type']);

    expectProblem(await upload(randomUUID(), Buffer.from('content')), 404, 'not-found');
    expectProblem(await upload('not-a-uuid', Buffer.from('content')), 404, 'not-found');
    expect(await stored()).toEqual(before);

    // The longest allowed name goes in.
    await upload(id, Buffer.from('content'), 'y'.repeat(200)).expect(201);
  });

  it('refuses evidence for a closed or dismissed incident (409), storing nothing', async () => {
    const closed = await newIncident();
    await move(closed, 'triage', tokens.security);
    await move(closed, 'confirmed_breach', tokens.dpo);
    await move(closed, 'notifying', tokens.security);
    await move(closed, 'notified', tokens.dpo);
    await move(closed, 'closed', tokens.dpo);
    const dismissed = await newIncident();
    await move(dismissed, 'triage', tokens.security);
    await move(dismissed, 'dismissed', tokens.dpo, 'A false alarm of the host intrusion detection');
    const before = await stored();
    for (const id of [closed, dismissed]) {
      const res = await upload(id, Buffer.from('late log line'));
      expectProblem(res, 409, 'conflict');
      expect(res.body).toMatchObject({ currentStatus: id === closed ? 'closed' : 'dismissed' });
    }
    expect(await stored()).toEqual(before);
  });

  it('answers 404 for evidence of another incident or a bad id, and writes no download entry', async () => {
    const [a, b] = [await newIncident(), await newIncident()];
    const evidence = (await upload(a, Buffer.from('evidence of a')).expect(201)).body as IncidentEvidenceResponse;
    expectProblem(await download(b, evidence.id), 404, 'not-found');
    expectProblem(await download(a, randomUUID()), 404, 'not-found');
    expectProblem(await download(a, 'not-a-uuid'), 404, 'not-found');
    expectProblem(await download(randomUUID(), evidence.id), 404, 'not-found');
    expect((await t.http().get(`/api/v1/incidents/${b}/evidence`).set(bearer(tokens.legal)).expect(200)).body).toEqual({ items: [] });
    const actions = [...(await auditOf(a)), ...(await auditOf(b))].map((e) => e.action);
    expect(actions).not.toContain('incident.evidence_downloaded');
  });

  it('refuses to serve a file that no longer matches its SHA-256, and records the failure', async () => {
    const id = await newIncident();
    const evidence = (await upload(id, Buffer.from('original log')).expect(201)).body as IncidentEvidenceResponse;
    await t.db.superuser('UPDATE incident_evidence SET content = $1 WHERE id = $2', [Buffer.from('altered log!'), evidence.id]);
    const res: Response = await download(id, evidence.id);
    expectProblem(res, 500, 'integrity');
    const actions = (await auditOf(id)).map((e) => e.action);
    expect(actions).toContain('incident.evidence_integrity_failed');
    expect(actions).not.toContain('incident.evidence_downloaded');
  });
});
