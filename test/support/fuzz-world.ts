import type { INestApplication } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { type AppAbility, defineAbilityFor, type Role } from '../../src/access/ability';
import { ABILITY_KEY, PUBLIC_KEY, type RequiredAbility } from '../../src/access/access.decorators';
import { AcknowledgementLinks } from '../../src/incidents/acknowledgement-links';
import { SubscriptionTokens } from '../../src/public/subscription-tokens';
import { ADMIN, login, type TestApp } from './app';
import { bearer, signJwt, TEST_JWT_SECRET } from './http';
import { messageRecord, storeMessages } from './message-fixtures';
import { seedCustomer, seedDpa, seedSubprocessor } from './registry-fixtures';

/*
 * The world the fuzzer runs in: a caller of every role, and at least one row of every kind a
 * route takes an id of, so generated requests get past "not found" into the services.
 */

export interface Caller {
  name: string;
  /** The Authorization header, if any. */
  authorization?: string;
  /** What the access table lets it do; undefined for callers the guard never lets in. */
  ability?: AppAbility;
}

/** What a handler declares: @Public(), or the ability (or abilities) it needs. */
export interface AccessRule {
  isPublic: boolean;
  abilities: { action: string; subject: string }[];
}

/** Access rules by OpenAPI operationId (`<Controller>_<method>`, as @nestjs/swagger names them). */
export function accessRules(app: INestApplication): Map<string, AccessRule> {
  const reflector = app.get(Reflector);
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const rules = new Map<string, AccessRule>();
  for (const wrapper of discovery.getControllers()) {
    const type = wrapper.metatype as (new (...args: never[]) => object) | null;
    if (!type) continue;
    for (const name of scanner.getAllMethodNames(type.prototype)) {
      const method = (type.prototype as Record<string, unknown>)[name] as object;
      const required = reflector.getAllAndOverride<RequiredAbility | undefined>(ABILITY_KEY, [method as never, type]);
      rules.set(`${type.name}_${name}`, {
        isPublic: reflector.getAllAndOverride<boolean>(PUBLIC_KEY, [method as never, type]) === true,
        abilities: required ? [{ action: required.action, subject: required.subject }, ...(required.or ?? [])] : [],
      });
    }
  }
  return rules;
}

export const allows = (caller: Caller, rule: AccessRule) =>
  !!caller.ability && rule.abilities.some(({ action, subject }) => caller.ability!.can(action as never, subject as never));

export interface World {
  callers: Caller[];
  /** Ids of existing rows by the path segment that names them (`incidents`, `customers`…). */
  idsByResource: Record<string, string[]>;
  /** Every id above, for ids of the wrong kind. */
  allIds: string[];
  jobNames: string[];
  /** Path values of GET/POST /breach-acknowledgements/:token: genuine, expired and forged links. */
  ackTokens: string[];
  /** A genuine confirm and unsubscribe token for each subscriber id. */
  subscriptionTokens: string[];
  /** Strings the app knows, by property name: users' e-mail addresses and password. */
  known: Record<string, string[]>;
}

const PASSWORD = 'a long enough password 123';

async function ok<T = Record<string, unknown>>(res: Promise<{ status: number; body: unknown; text: string }>, what: string): Promise<T> {
  const r = await res;
  if (r.status >= 300) throw new Error(`fuzz world: ${what} answered ${r.status}: ${r.text.slice(0, 500)}`);
  return r.body as T;
}

export async function buildWorld(t: TestApp): Promise<World> {
  const http = t.http;
  const adminToken = await login(t, ADMIN.email, ADMIN.password);
  const [admin] = await t.db.superuser<{ id: string }>('SELECT id FROM users WHERE email = $1', [ADMIN.email]);
  const acme = await seedCustomer(t, { legalName: 'Fuzz Acme GmbH', breachNotificationEmails: ['breach@acme.fuzz.example.test'] });
  const bravo = await seedCustomer(t, { legalName: 'Fuzz Bravo SA', country: 'FR', destinationCountries: ['FR', 'DE'] });
  const carrier = await seedSubprocessor(t, { legalEntity: 'Fuzz Carrier AG', country: 'DE', carriesCountries: ['DE', 'FR'] });
  const newcomer = await seedSubprocessor(t, { legalEntity: 'Fuzz Newcomer Ltd', country: 'GB', status: 'approved', transferMechanism: 'adequacy', carriesCountries: ['DE'] });
  await seedDpa(t, { customerId: acme });
  await seedDpa(t, { customerId: bravo });
  await seedDpa(t, { customerId: acme, version: 2, status: 'draft' });

  const emails = [ADMIN.email];
  const newUser = async (role: Role, customerId?: string) => {
    const email = `${role}-${randomUUID()}@fuzz.example.test`;
    emails.push(email);
    const { id } = await ok<{ id: string }>(http().post('/api/v1/users').set(bearer(adminToken)).send({ email, role, password: PASSWORD, ...(customerId ? { customerId } : {}) }), `creating a ${role} user`);
    return { id, email };
  };
  const callers: Caller[] = [{ name: 'admin', authorization: `Bearer ${adminToken}`, ability: defineAbilityFor({ id: admin.id, role: 'admin', customerId: null }) }];
  const tokens: Partial<Record<string, string>> = {};
  const callerIds = new Set([admin.id]);
  for (const [name, role, customerId] of [
    ['dpo', 'dpo'], ['legal', 'legal'], ['security', 'security'], ['auditor', 'auditor'], ['customer A', 'customer', acme], ['customer B', 'customer', bravo],
  ] as [string, Role, string?][]) {
    const user = await newUser(role, customerId);
    callerIds.add(user.id);
    // The DPO holds the break-glass flag, so reading decrypted PII is fuzzed too.
    if (role === 'dpo') await ok(http().patch(`/api/v1/users/${user.id}`).set(bearer(adminToken)).send({ piiAccess: true }), 'granting PII access');
    const token = await login(t, user.email, PASSWORD);
    tokens[name] = token;
    callers.push({ name, authorization: `Bearer ${token}`, ability: defineAbilityFor({ id: user.id, role, customerId: customerId ?? null, piiAccess: role === 'dpo' }) });
  }
  for (const role of ['ingest', 'auditor'] as const) {
    const { id, key } = await ok<{ id: string; key: string }>(http().post('/api/v1/api-keys').set(bearer(adminToken)).send({ name: `fuzz ${role}`, role }), `creating an ${role} key`);
    callers.push({ name: `${role} key`, authorization: `Bearer ${key}`, ability: defineAbilityFor({ id, role, customerId: null }) });
  }
  // Callers the guard must turn away whatever the route.
  const [dpoUser] = await t.db.superuser<{ id: string }>(`SELECT id FROM users WHERE role = 'dpo' LIMIT 1`);
  callers.push(
    { name: 'anonymous' },
    { name: 'garbage bearer', authorization: 'Bearer not-a-token' },
    { name: 'basic auth', authorization: `Basic ${Buffer.from(`${ADMIN.email}:${ADMIN.password}`).toString('base64')}` },
    { name: 'forged JWT', authorization: `Bearer ${signJwt({ sub: dpoUser.id }, { secret: 'not-the-secret-of-this-service-0123456789' })}` },
    { name: 'expired JWT', authorization: `Bearer ${signJwt({ sub: dpoUser.id, iat: 1_600_000_000, exp: 1_600_000_600 })}` },
    { name: 'revoked-looking API key', authorization: 'Bearer cust_0000000000000000000000000000000000000000000' },
  );

  // Rows to point at that the callers do not depend on: users and a key the fuzzer may change or revoke.
  await newUser('legal');
  await newUser('customer', bravo);
  await ok(http().post('/api/v1/api-keys').set(bearer(adminToken)).send({ name: 'fuzz spare', role: 'auditor' }), 'creating a spare key');

  await storeMessages(t, Array.from({ length: 6 }, (_, i) => messageRecord(i % 2 ? bravo : acme, {
    route: [carrier], destinationCountry: i % 2 ? 'FR' : 'DE', submittedAt: new Date(Date.now() - (i + 1) * 3_600_000),
  })));
  const { id: notice } = await ok<{ id: string }>(http().post(`/api/v1/subprocessors/${newcomer}/change-notices`).set(bearer(tokens.dpo!)).send({ reason: 'Better delivery rates' }), 'proposing a change');
  await ok(http().post(`/api/v1/change-notices/${notice}/objections`).set(bearer(tokens['customer A']!)).send({ reason: 'We do not want our traffic routed through the UK.' }), 'objecting');

  const incident = await ok<{ id: string }>(http().post('/api/v1/incidents').set(bearer(tokens.security!)).send({
    title: 'Fuzz: gateway logs exposed', description: 'Gateway logs were readable from the internet.',
    detectedAt: new Date(Date.now() - 7_200_000).toISOString(), becameAwareAt: new Date(Date.now() - 3_600_000).toISOString(),
    windowFrom: new Date(Date.now() - 10 * 3_600_000).toISOString(), windowTo: new Date().toISOString(),
    subprocessorIds: [carrier], internalSystems: ['sms-gateway'], dataCategories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: false,
  }), 'reporting an incident');
  await ok(http().post(`/api/v1/incidents/${incident.id}/scope`).set(bearer(tokens.security!)), 'scoping');
  await ok(http().put(`/api/v1/incidents/${incident.id}/customers/${acme}`).set(bearer(tokens.dpo!)).send({ included: true, reason: 'Its logs were in the bucket' }), 'including a customer');
  await ok(http().post(`/api/v1/incidents/${incident.id}/transitions`).set(bearer(tokens.security!)).send({ to: 'triage' }), 'triage');
  await ok(http().post(`/api/v1/incidents/${incident.id}/transitions`).set(bearer(tokens.dpo!)).send({ to: 'confirmed_breach' }), 'confirming');
  const drafts = await ok<{ items: { id: string; customerId: string }[] }>(http().post(`/api/v1/incidents/${incident.id}/notifications`).set(bearer(tokens.security!)).send({}), 'drafting');
  // Acme's is completed and approved (so it can be acknowledged, resent and followed up); the others stay drafts.
  const acmeDraft = drafts.items.find((d) => d.customerId === acme)!;
  await ok(http().patch(`/api/v1/breach-notifications/${acmeDraft.id}`).set(bearer(tokens.security!)).send({ sections: {
    measures: 'We closed the bucket and rotated the keys.', dataSubjects: 'About 1,200 recipients of your messages.', records: 'About 3,400 log lines.',
  } }), 'completing a draft');
  await ok(http().post(`/api/v1/breach-notifications/${acmeDraft.id}/approval`).set(bearer(tokens.dpo!)), 'approving a draft');
  await ok(http().post(`/api/v1/incidents/${incident.id}/evidence`).query({ fileName: 'gateway.log' }).set(bearer(tokens.security!))
    .set('Content-Type', 'text/plain').send('2026-11-26T10:00:00Z GET /logs 200'), 'uploading evidence');
  // A second incident that stays reported.
  await ok(http().post('/api/v1/incidents').set(bearer(tokens.security!)).send({
    title: 'Fuzz: odd login', description: 'Under investigation.', detectedAt: new Date(Date.now() - 600_000).toISOString(),
    becameAwareAt: new Date().toISOString(), internalSystems: ['portal'], dataCategories: ['msisdn'], nature: ['integrity'], maliciousIntent: true,
  }), 'reporting a second incident');
  await ok(http().post('/api/v1/legal-holds').set(bearer(tokens.dpo!)).send({ customerId: bravo, reason: 'Litigation with a former subscriber.' }), 'placing a legal hold');
  await ok(http().post('/api/v1/data-subject-requests').set(bearer(tokens.dpo!)).send({ kind: 'access', msisdn: '+4915112345678', customerId: acme }), 'a subject request');
  await ok(http().post('/api/v1/jobs/purge/run').set(bearer(adminToken)), 'a purge run');
  await ok(http().post('/public/subscriptions').send({ email: 'watcher@fuzz.example.test' }), 'subscribing');

  const column = async (sql: string) => (await t.db.superuser<{ id: string }>(sql)).map((r) => r.id);
  const idsByResource: Record<string, string[]> = {
    // Not the callers' own: a fuzzed PATCH may disable a user or change its role.
    users: (await column('SELECT id FROM users')).filter((id) => !callerIds.has(id)),
    'api-keys': await column(`SELECT id FROM api_keys WHERE name = 'fuzz spare'`),
    customers: [acme, bravo],
    subprocessors: [carrier, newcomer],
    'change-notices': [notice],
    objections: await column('SELECT id FROM objections'),
    dpas: await column('SELECT id FROM dpas'),
    incidents: await column('SELECT id FROM incidents'),
    evidence: await column('SELECT id FROM incident_evidence'),
    'breach-notifications': drafts.items.map((d) => d.id),
    messages: await column('SELECT id FROM messages'),
    runs: await column('SELECT id FROM purge_runs'),
    certificates: await column('SELECT id FROM deletion_certificates'),
    'legal-holds': await column('SELECT id FROM legal_holds'),
    'data-subject-requests': await column('SELECT id FROM data_subject_requests'),
    subscriptions: await column('SELECT id FROM public_subscribers'),
  };
  const links = new AcknowledgementLinks(TEST_JWT_SECRET);
  const subscriptionTokens = new SubscriptionTokens(TEST_JWT_SECRET);
  const jobs = await ok<{ name: string }[]>(http().get('/api/v1/jobs').set(bearer(adminToken)), 'listing jobs');
  return {
    callers,
    idsByResource,
    allIds: [...new Set(Object.values(idsByResource).flat())],
    jobNames: jobs.map((j) => j.name),
    ackTokens: idsByResource['breach-notifications'].flatMap((id) => {
      const genuine = links.sign(id, new Date(Date.now() + 86_400_000));
      return [genuine, links.sign(id, new Date(Date.now() - 1000)), `${genuine.slice(0, -2)}AA`, genuine.replace(/^./, 'f')];
    }),
    known: { email: [...emails], password: [PASSWORD, ADMIN.password] },
    subscriptionTokens: idsByResource.subscriptions.flatMap((id) => [subscriptionTokens.sign('confirm', id), subscriptionTokens.sign('unsubscribe', id)]),
  };
}
