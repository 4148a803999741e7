import type { Caller, FactoryName } from './support/access-world';

/*
 * THE ACCESS MATRIX: every route the application registers × every kind of caller, with the answer
 * each caller gets. test/access-matrix.e2e-spec.ts makes every call against customers A and B built
 * in test/support/access-world.ts and fails when a registered route is missing here, when a route
 * named here does not exist, or when any answer differs.
 *
 * One entry per route ("METHOD /path" as Express serves it), one line per call:
 *  - params/query/body: "@name" is a resource of the world (A's, B's: "@A.customer", "@B.dpa"…),
 *    "@missing" an id that exists nowhere, "@fresh.<field>" a resource made for this call (see
 *    `fresh`), "{unique}" inside a string a value unique to each caller, "{an hour ago}" that moment;
 *    anything else is literal.
 *  - fresh: a resource a successful call uses up (a transition, a one-time link). Every caller that
 *    is expected to succeed gets its own; those expected to be refused are called on the first of
 *    them, before it is used.
 *  - expect: the status for each caller. 401: no or bad credentials; 403: the role may never do
 *    this; 404: the role may, but not on this row (another customer's answers exactly like a
 *    missing one); 409: allowed, but not in the row's current state.
 *  - showsB: callers whose answer must contain B's canary — B's data is really in this answer, so
 *    its absence from what other callers get proves something.
 * Refused callers are called first and those expected to succeed last, so a refusal never sees a
 * row a success already changed. Routes run side by side: a call never relies on another route's.
 */

export type Outcome = 200 | 201 | 202 | 204 | 400 | 401 | 403 | 404 | 409 | 410;
export type Outcomes = Record<Caller, Outcome>;

export interface MatrixCall {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** A raw body instead of JSON: a PDF (DPA documents) or a small JSON file (incident evidence). */
  raw?: { contentType: string; content: 'pdf' | 'evidence' };
  accept?: string;
  fresh?: FactoryName;
  expect: Outcomes;
  showsB?: Caller[];
}

/*
 * Columns, in order: anonymous, admin, dpo, legal, security, auditor, customerA, customerB, ingest, auditorKey, and
 * last dpoPii: a DPO holding the break-glass flag. The flag adds one permission, reading decrypted message PII, so
 * that column is the DPO's unless a call names it; the spec checks that only the PII read does.
 */
const o = (
  anonymous: Outcome, admin: Outcome, dpo: Outcome, legal: Outcome, security: Outcome, auditor: Outcome,
  customerA: Outcome, customerB: Outcome, ingest: Outcome, auditorKey: Outcome, dpoPii: Outcome = dpo,
): Outcomes => ({ anonymous, admin, dpo, legal, security, auditor, customerA, customerB, ingest, auditorKey, dpoPii });

/** Both DPOs: whatever the DPO sees of B, the flagged DPO sees too. */
const DPOS: Caller[] = ['dpo', 'dpoPii'];
const STAFF_READING_B: Caller[] = [...DPOS, 'legal', 'security', 'auditor', 'auditorKey'];
const EVIDENCE_READERS_B: Caller[] = [...DPOS, 'auditor', 'auditorKey'];

const incidentBody = {
  title: 'Matrix incident {unique}', description: 'Reported by the access matrix.', detectedAt: '2026-01-05T08:00:00Z', becameAwareAt: '2026-01-05T09:00:00Z',
  internalSystems: ['sms-gateway'], dataCategories: ['msisdn'], nature: ['availability'], maliciousIntent: false,
};
const subprocessorBody = {
  legalEntity: 'Matrix Telecom {unique}', country: 'DE', role: 'mobile_operator', services: ['SMS termination'], purpose: 'Terminates SMS',
  dataCategories: ['msisdn', 'body'], carriesCountries: ['DE'], transferMechanism: 'none',
};
const customerBody = {
  legalName: 'Matrix Brand {unique}', country: 'DE', dpoContact: { name: 'Max Matrix', email: 'dpo@matrix.example.test' },
  breachNotificationEmails: ['breach@matrix.example.test'], destinationCountries: ['DE'], dataProfile: { messageKinds: ['otp'], specialCategoryData: false },
};
const dpaBody = {
  maxRetentionDays: { body: 30, msisdn: 90, delivery_metadata: 365 }, transferMechanisms: ['scc'], dataCategories: ['msisdn'], purposes: ['Matrix purpose {unique}'],
};
/** The phone number the matrix's own ingestion call carries: like every other, it must never come back. */
export const MATRIX_MSISDN = '+4915112345678';
const ingestRecord = (customer: string) => ({
  customerId: customer, externalId: 'matrix-{unique}', direction: 'mt', msisdn: MATRIX_MSISDN, sender: 'MATRIX', body: 'Matrix message',
  route: ['@sp.active'], destinationCountry: 'DE', status: 'delivered', submittedAt: '{an hour ago}',
});

export const MATRIX: Record<string, MatrixCall[]> = {
  // ── access: API keys, login, profile, users ─────────────────────────────────────────────────────
  'POST /api/v1/api-keys': [
    { body: { name: 'matrix key {unique}', role: 'ingest' }, expect: o(401, 201, 403, 403, 403, 403, 403, 403, 403, 403) },
  ],
  // Auditors read users and API keys: who could act is evidence too.
  'GET /api/v1/api-keys': [
    { expect: o(401, 200, 403, 403, 403, 200, 403, 403, 403, 200) },
  ],
  'DELETE /api/v1/api-keys/:id': [
    { params: { id: '@apiKey.victim' }, expect: o(401, 204, 403, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, expect: o(401, 404, 403, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/auth/login': [
    { body: { email: '@login.email', password: '@login.password' }, expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
  ],
  'GET /api/v1/me': [
    { expect: o(401, 200, 200, 200, 200, 200, 200, 200, 200, 200), showsB: ['customerB'] },
  ],
  'POST /api/v1/users': [
    { body: { email: 'matrix-{unique}@provider.example.test', password: 'a long enough password', role: 'auditor' }, expect: o(401, 201, 403, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/users': [
    { expect: o(401, 200, 403, 403, 403, 200, 403, 403, 403, 200), showsB: ['admin', 'auditor', 'auditorKey'] },
  ],
  'GET /api/v1/users/:id': [
    { params: { id: '@user.dpo' }, expect: o(401, 200, 403, 403, 403, 200, 403, 403, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 404, 403, 403, 403, 404, 403, 403, 403, 404) },
  ],
  'PATCH /api/v1/users/:id': [
    { params: { id: '@user.target' }, body: { disabled: false }, expect: o(401, 200, 403, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { disabled: false }, expect: o(401, 404, 403, 403, 403, 403, 403, 403, 403, 403) },
  ],

  // ── audit ───────────────────────────────────────────────────────────────────────────────────────
  'GET /api/v1/audit': [
    { expect: o(401, 403, 200, 403, 403, 200, 403, 403, 403, 200) },
  ],
  'GET /api/v1/audit/verify': [
    { expect: o(401, 403, 200, 403, 403, 200, 403, 403, 403, 200) },
  ],

  // ── change notices and objections ───────────────────────────────────────────────────────────────
  'GET /api/v1/change-notices': [
    { expect: o(401, 403, 200, 200, 403, 200, 200, 200, 403, 200) },
  ],
  'GET /api/v1/change-notices/:id': [
    { params: { id: '@notice.objected' }, expect: o(401, 403, 200, 200, 403, 200, 200, 200, 403, 200) },
    { params: { id: '@notice.bOnly' }, expect: o(401, 403, 200, 200, 403, 200, 404, 200, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 403, 404, 404, 404, 403, 404) },
  ],
  'POST /api/v1/change-notices/:id/objections': [
    { params: { id: '@notice.object' }, body: { reason: 'We object: {unique}' }, expect: o(401, 403, 403, 403, 403, 403, 201, 201, 403, 403) },
    { params: { id: '@notice.bOnly' }, body: { reason: 'We object: {unique}' }, expect: o(401, 403, 403, 403, 403, 403, 404, 201, 403, 403) },
    { params: { id: '@missing' }, body: { reason: 'We object: {unique}' }, expect: o(401, 403, 403, 403, 403, 403, 404, 404, 403, 403) },
  ],
  'POST /api/v1/change-notices/:id/approvals': [
    // Only the customer approves: the DPO may read the notice, so it is refused rather than told it does not exist.
    { params: { id: '@notice.approve' }, expect: o(401, 403, 403, 403, 403, 403, 200, 200, 403, 403) },
    { params: { id: '@missing' }, expect: o(401, 403, 403, 403, 403, 403, 404, 404, 403, 403) },
  ],
  'POST /api/v1/change-notices/:id/withdrawal': [
    { fresh: 'pendingNotice', params: { id: '@fresh.id' }, body: { reason: 'We found another route' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { reason: 'We found another route' }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/objections': [
    { expect: o(401, 403, 200, 200, 403, 200, 200, 200, 403, 200), showsB: [...DPOS, 'legal', 'auditor', 'customerB', 'auditorKey'] },
  ],
  'POST /api/v1/objections/:id/resolution': [
    { fresh: 'objectionA', params: { id: '@fresh.id' }, body: { resolution: 'alternative_route', note: 'Routed around it' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { fresh: 'objectionB', params: { id: '@fresh.id' }, body: { resolution: 'alternative_route', note: 'Routed around it' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { resolution: 'alternative_route', note: 'Routed around it' }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],

  // ── customers and DPAs ──────────────────────────────────────────────────────────────────────────
  'POST /api/v1/customers': [
    { body: customerBody, expect: o(401, 403, 403, 201, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/customers': [
    { expect: o(401, 403, 200, 200, 200, 200, 200, 200, 403, 200), showsB: [...STAFF_READING_B, 'customerB'] },
  ],
  'GET /api/v1/customers/:id': [
    { params: { id: '@A.customer' }, expect: o(401, 403, 200, 200, 200, 200, 200, 404, 403, 200) },
    { params: { id: '@B.customer' }, expect: o(401, 403, 200, 200, 200, 200, 404, 200, 403, 200), showsB: [...STAFF_READING_B, 'customerB'] },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 404, 404, 403, 404) },
  ],
  'PATCH /api/v1/customers/:id': [
    { params: { id: '@A.customer' }, body: { destinationCountries: ['DE'] }, expect: o(401, 403, 403, 200, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@B.customer' }, body: { destinationCountries: ['DE', 'FR'] }, expect: o(401, 403, 403, 200, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { destinationCountries: ['DE'] }, expect: o(401, 403, 403, 404, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/customers/:customerId/dpas': [
    { params: { customerId: '@A.customer' }, expect: o(401, 403, 200, 200, 403, 200, 200, 404, 403, 200) },
    { params: { customerId: '@B.customer' }, expect: o(401, 403, 200, 200, 403, 200, 404, 200, 403, 200), showsB: [...DPOS, 'legal', 'auditor', 'customerB', 'auditorKey'] },
    { params: { customerId: '@missing' }, expect: o(401, 403, 404, 404, 403, 404, 404, 404, 403, 404) },
  ],
  'POST /api/v1/customers/:customerId/dpas': [
    { params: { customerId: '@A.customer' }, body: dpaBody, expect: o(401, 403, 403, 201, 403, 403, 403, 403, 403, 403) },
    { params: { customerId: '@missing' }, body: dpaBody, expect: o(401, 403, 403, 404, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/dpas/:id': [
    { params: { id: '@A.dpa' }, expect: o(401, 403, 200, 200, 403, 200, 200, 404, 403, 200) },
    { params: { id: '@B.dpa' }, expect: o(401, 403, 200, 200, 403, 200, 404, 200, 403, 200), showsB: [...DPOS, 'legal', 'auditor', 'customerB', 'auditorKey'] },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 403, 404, 404, 404, 403, 404) },
  ],
  'PATCH /api/v1/dpas/:id': [
    { params: { id: '@A.dpaDraft' }, body: { breachNoticeHours: 48 }, expect: o(401, 403, 403, 200, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@B.dpaDraft' }, body: { breachNoticeHours: 48 }, expect: o(401, 403, 403, 200, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@B.dpa' }, body: { breachNoticeHours: 48 }, expect: o(401, 403, 403, 409, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { breachNoticeHours: 48 }, expect: o(401, 403, 403, 404, 403, 403, 403, 403, 403, 403) },
  ],
  'PUT /api/v1/dpas/:id/document': [
    { params: { id: '@A.dpaDraft' }, query: { filename: 'alpha-v2.pdf' }, raw: { contentType: 'application/pdf', content: 'pdf' }, expect: o(401, 403, 403, 200, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, query: { filename: 'alpha-v2.pdf' }, raw: { contentType: 'application/pdf', content: 'pdf' }, expect: o(401, 403, 403, 404, 403, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/dpas/:id/transitions': [
    { params: { id: '@A.dpaDraft' }, body: { to: 'in_review' }, expect: o(401, 403, 403, 200, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@B.dpaDraft' }, body: { to: 'in_review' }, expect: o(401, 403, 403, 200, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { to: 'in_review' }, expect: o(401, 403, 403, 404, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/dpas/:id/document': [
    { params: { id: '@A.dpa' }, expect: o(401, 403, 200, 200, 403, 200, 200, 404, 403, 200) },
    { params: { id: '@B.dpa' }, expect: o(401, 403, 200, 200, 403, 200, 404, 200, 403, 200), showsB: [...DPOS, 'legal', 'auditor', 'customerB', 'auditorKey'] },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 403, 404, 404, 404, 403, 404) },
  ],

  // ── health ──────────────────────────────────────────────────────────────────────────────────────
  'GET /health': [
    { expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
  ],
  'GET /health/ready': [
    { expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
  ],

  // ── incidents ───────────────────────────────────────────────────────────────────────────────────
  'POST /api/v1/incidents': [
    { body: incidentBody, expect: o(401, 403, 403, 403, 201, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/incidents': [
    { expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200) },
  ],
  'GET /api/v1/incidents/:id': [
    { params: { id: '@incident' }, expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200), showsB: STAFF_READING_B },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 403, 403, 403, 404) },
  ],
  'PATCH /api/v1/incidents/:id': [
    { params: { id: '@incident' }, body: { description: 'New facts: {unique}', reason: 'The carrier sent its log analysis' }, expect: o(401, 403, 200, 403, 200, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { description: 'New facts: {unique}', reason: 'The carrier sent its log analysis' }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/incidents/:id/transitions': [
    { fresh: 'incidentReported', params: { id: '@fresh.id' }, body: { to: 'triage' }, expect: o(401, 403, 200, 403, 200, 403, 403, 403, 403, 403) },
    { fresh: 'incidentTriaged', params: { id: '@fresh.id' }, body: { to: 'confirmed_breach' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { to: 'triage' }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/incidents/:id/scope': [
    { fresh: 'incidentTriaged', params: { id: '@fresh.id' }, expect: o(401, 403, 200, 403, 200, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/incidents/:id/scope': [
    { params: { id: '@incident' }, expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 403, 403, 403, 404) },
  ],
  'GET /api/v1/incidents/:id/clock': [
    { params: { id: '@incident' }, expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 403, 403, 403, 404) },
  ],
  'POST /api/v1/incidents/:id/notifications': [
    { fresh: 'incidentConfirmed', params: { id: '@fresh.id' }, body: {}, expect: o(401, 403, 201, 403, 201, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: {}, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  // Customers may read their notifications (GET /breach-notifications), but no incident is theirs to see.
  'GET /api/v1/incidents/:id/notifications': [
    { params: { id: '@incident' }, expect: o(401, 403, 200, 200, 200, 200, 404, 404, 403, 200), showsB: STAFF_READING_B },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 404, 404, 403, 404) },
  ],
  'GET /api/v1/incidents/:id/severity': [
    { params: { id: '@incident' }, expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200), showsB: STAFF_READING_B },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 403, 403, 403, 404) },
  ],
  'PUT /api/v1/incidents/:id/customers/:customerId/severity': [
    { params: { id: '@incident', customerId: '@A.customer' }, body: { overrides: { dpc: { value: 2, reason: 'Only one-time passwords were exposed' } } }, expect: o(401, 403, 200, 403, 200, 403, 403, 403, 403, 403) },
    { params: { id: '@incident', customerId: '@missing' }, body: { overrides: {} }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
    { params: { id: '@missing', customerId: '@A.customer' }, body: { overrides: {} }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  'PUT /api/v1/incidents/:id/customers/:customerId': [
    { fresh: 'incidentTriaged', params: { id: '@fresh.id', customerId: '@A.customer' }, body: { included: true, reason: 'Its traffic used the carrier too' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing', customerId: '@A.customer' }, body: { included: true, reason: 'Its traffic used the carrier too' }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/incidents/:id/comments': [
    { params: { id: '@incident' }, body: { text: 'Matrix comment' }, expect: o(401, 403, 200, 403, 200, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { text: 'Matrix comment' }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/incidents/:id/evidence': [
    { params: { id: '@incident' }, query: { fileName: 'matrix.json' }, raw: { contentType: 'application/json', content: 'evidence' }, expect: o(401, 403, 201, 403, 201, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, query: { fileName: 'matrix.json' }, raw: { contentType: 'application/json', content: 'evidence' }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/incidents/:id/evidence': [
    { params: { id: '@incident' }, expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 403, 403, 403, 404) },
  ],
  'GET /api/v1/incidents/:id/evidence/:evidenceId': [
    { params: { id: '@incident', evidenceId: '@evidence' }, expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200) },
    { params: { id: '@incident', evidenceId: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 403, 403, 403, 404) },
    { params: { id: '@incidentOther', evidenceId: '@evidence' }, expect: o(401, 403, 404, 404, 404, 404, 403, 403, 403, 404) },
  ],
  'GET /api/v1/incidents/:id/report': [
    { params: { id: '@incident' }, expect: o(401, 403, 200, 200, 200, 200, 200, 200, 403, 200), showsB: [...STAFF_READING_B, 'customerB'] },
    { params: { id: '@incident' }, query: { format: 'html' }, expect: o(401, 403, 200, 200, 200, 200, 200, 200, 403, 200), showsB: [...STAFF_READING_B, 'customerB'] },
    { params: { id: '@incidentOther' }, expect: o(401, 403, 200, 200, 200, 200, 404, 404, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 404, 404, 403, 404) },
  ],

  // ── breach notifications ────────────────────────────────────────────────────────────────────────
  'GET /api/v1/breach-notifications': [
    { expect: o(401, 403, 200, 200, 200, 200, 200, 200, 403, 200), showsB: [...STAFF_READING_B, 'customerB'] },
  ],
  'GET /api/v1/breach-notifications/:id': [
    { params: { id: '@A.notification' }, expect: o(401, 403, 200, 200, 200, 200, 200, 404, 403, 200) },
    { params: { id: '@B.notification' }, expect: o(401, 403, 200, 200, 200, 200, 404, 200, 403, 200), showsB: [...STAFF_READING_B, 'customerB'] },
    // A draft is the provider's own: not even its customer sees it.
    { params: { id: '@B.followUpDraft' }, expect: o(401, 403, 200, 200, 200, 200, 404, 404, 403, 200), showsB: STAFF_READING_B },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 404, 404, 403, 404) },
  ],
  'PATCH /api/v1/breach-notifications/:id': [
    { params: { id: '@A.followUpDraft' }, body: { sections: { update: 'Forensics finished: {unique}' } }, expect: o(401, 403, 200, 403, 200, 403, 403, 403, 403, 403) },
    { params: { id: '@B.notification' }, body: { sections: { measures: 'Changed after the fact' } }, expect: o(401, 403, 409, 403, 409, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { sections: { measures: 'x' } }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/breach-notifications/:id/approval': [
    { fresh: 'draftA', params: { id: '@fresh.id' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { fresh: 'draftB', params: { id: '@fresh.id' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/breach-notifications/:id/resend': [
    // A's mail was refused for good; B's was delivered, so there is nothing to send again.
    { fresh: 'failedNotificationA', params: { id: '@fresh.id' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@B.notification' }, expect: o(401, 403, 409, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/breach-notifications/:id/acknowledgement': [
    { params: { id: '@A.notification' }, expect: o(401, 403, 403, 403, 403, 403, 200, 404, 403, 403) },
    { params: { id: '@B.notification' }, expect: o(401, 403, 403, 403, 403, 403, 404, 200, 403, 403) },
    { params: { id: '@missing' }, expect: o(401, 403, 403, 403, 403, 403, 404, 404, 403, 403) },
  ],
  'POST /api/v1/breach-notifications/:id/follow-ups': [
    { params: { id: '@B.notification' }, body: { sections: { update: 'The carrier finished its review.' } }, expect: o(401, 403, 201, 403, 201, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { sections: { update: 'The carrier finished its review.' } }, expect: o(401, 403, 404, 403, 404, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/breach-acknowledgements/:token': [
    { params: { token: '@A.ackToken' }, expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
    { params: { token: '@A.usedAckToken' }, expect: o(410, 410, 410, 410, 410, 410, 410, 410, 410, 410) },
    { params: { token: 'not-a-link' }, expect: o(404, 404, 404, 404, 404, 404, 404, 404, 404, 404) },
  ],
  'POST /api/v1/breach-acknowledgements/:token': [
    { fresh: 'ackToken', params: { token: '@fresh.token' }, expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
    { params: { token: '@A.usedAckToken' }, expect: o(410, 410, 410, 410, 410, 410, 410, 410, 410, 410) },
    { params: { token: 'not-a-link' }, expect: o(404, 404, 404, 404, 404, 404, 404, 404, 404, 404) },
  ],

  // ── jobs ────────────────────────────────────────────────────────────────────────────────────────
  'GET /api/v1/jobs': [
    { expect: o(401, 200, 200, 403, 403, 200, 403, 403, 403, 200) },
  ],
  'GET /api/v1/jobs/:name/runs': [
    { params: { name: '@jobName' }, expect: o(401, 200, 200, 403, 403, 200, 403, 403, 403, 200) },
    { params: { name: 'no-such-job' }, expect: o(401, 404, 404, 403, 403, 404, 403, 403, 403, 404) },
  ],
  'POST /api/v1/jobs/:name/run': [
    { params: { name: '@jobName' }, expect: o(401, 200, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { name: 'no-such-job' }, expect: o(401, 404, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],

  // ── messages ────────────────────────────────────────────────────────────────────────────────────
  'POST /api/v1/messages/batch': [
    { body: { records: [ingestRecord('@A.customer')] }, expect: o(401, 403, 403, 403, 403, 403, 403, 403, 200, 403) },
  ],
  'GET /api/v1/messages': [
    { expect: o(401, 403, 200, 403, 200, 200, 403, 403, 403, 200), showsB: [...DPOS, 'security', 'auditor', 'auditorKey'] },
  ],
  'GET /api/v1/messages/:id': [
    { params: { id: '@B.message' }, expect: o(401, 403, 200, 403, 200, 200, 403, 403, 403, 200), showsB: [...DPOS, 'security', 'auditor', 'auditorKey'] },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 404, 404, 403, 403, 403, 404) },
  ],
  // Break-glass: only the DPO holding the PII permission (users.pii_access), for any customer's message (the DPO
  // role is not scoped to a customer); everyone else is refused whatever the row, before it is looked up.
  'POST /api/v1/messages/:id/pii': [
    { params: { id: '@A.message' }, body: { reason: 'Checking a complaint about this message' }, expect: o(401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200) },
    { params: { id: '@B.message' }, body: { reason: 'Checking a complaint about this message' }, expect: o(401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200), showsB: ['dpoPii'] },
    // Erased for its data subject: still there, with nothing left to decrypt.
    { params: { id: '@B.erasedMessage' }, body: { reason: 'Checking a complaint about this message' }, expect: o(401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200) },
    { params: { id: '@missing' }, body: { reason: 'Checking a complaint about this message' }, expect: o(401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 404) },
  ],
  'GET /api/v1/route-violations': [
    { expect: o(401, 403, 200, 403, 200, 200, 403, 403, 403, 200) },
  ],

  // ── metrics, mail ───────────────────────────────────────────────────────────────────────────────
  'GET /metrics': [
    { expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
  ],
  'GET /api/v1/notifications': [
    { expect: o(401, 403, 200, 200, 200, 200, 200, 200, 403, 200), showsB: [...STAFF_READING_B, 'customerB'] },
  ],

  // ── public pages and subscriptions ──────────────────────────────────────────────────────────────
  'GET /public/subprocessors': [
    { expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
  ],
  'GET /public/subprocessors.json': [
    { expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
  ],
  'GET /public/subprocessors/feed.atom': [
    { expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
  ],
  'GET /api/v1/subscribers': [
    { expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'POST /public/subscriptions': [
    { body: { email: 'follower-{unique}@public.example.test' }, expect: o(202, 202, 202, 202, 202, 202, 202, 202, 202, 202) },
  ],
  'GET /public/subscriptions/:id/confirm': [
    { params: { id: '@subscriber' }, query: { token: '@subscriber.confirmToken' }, expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
    { params: { id: '@subscriber' }, query: { token: '@subscriber.unsubscribeToken' }, expect: o(404, 404, 404, 404, 404, 404, 404, 404, 404, 404) },
  ],
  'GET /public/subscriptions/:id/unsubscribe': [
    { params: { id: '@subscriber' }, query: { token: '@subscriber.unsubscribeToken' }, expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
    { params: { id: '@subscriber' }, query: { token: '@subscriber.confirmToken' }, expect: o(404, 404, 404, 404, 404, 404, 404, 404, 404, 404) },
  ],
  'POST /public/subscriptions/:id/unsubscribe': [
    { fresh: 'subscriber', params: { id: '@fresh.id' }, query: { token: '@fresh.unsubscribeToken' }, expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
    { params: { id: '@subscriber' }, query: { token: '@subscriber.confirmToken' }, expect: o(404, 404, 404, 404, 404, 404, 404, 404, 404, 404) },
  ],

  // ── retention: purge runs, records, certificates, legal holds, policies, preview ───────────────
  'GET /api/v1/retention/status': [
    { expect: o(401, 403, 200, 403, 403, 200, 403, 403, 403, 200) },
  ],
  'GET /api/v1/retention/runs': [
    { expect: o(401, 403, 200, 403, 403, 200, 403, 403, 403, 200) },
  ],
  'GET /api/v1/retention/runs/:id': [
    { params: { id: '@purgeRun' }, expect: o(401, 403, 200, 403, 403, 200, 403, 403, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 403, 404, 403, 403, 403, 404) },
  ],
  'GET /api/v1/records-of-processing': [
    { expect: o(401, 403, 200, 403, 403, 200, 403, 403, 403, 200), showsB: EVIDENCE_READERS_B },
    { query: { format: 'csv' }, expect: o(401, 403, 200, 403, 403, 200, 403, 403, 403, 200), showsB: EVIDENCE_READERS_B },
  ],
  'GET /api/v1/retention/certificates': [
    { expect: o(401, 403, 200, 403, 403, 200, 200, 200, 403, 200) },
  ],
  'GET /api/v1/retention/certificates/:id': [
    { params: { id: '@A.certificate' }, expect: o(401, 403, 200, 403, 403, 200, 200, 404, 403, 200) },
    { params: { id: '@B.certificate' }, expect: o(401, 403, 200, 403, 403, 200, 404, 200, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 403, 404, 404, 404, 403, 404) },
  ],
  'GET /api/v1/retention/certificates/:id/verify': [
    { params: { id: '@A.certificate' }, expect: o(401, 403, 200, 403, 403, 200, 200, 404, 403, 200) },
    { params: { id: '@B.certificate' }, expect: o(401, 403, 200, 403, 403, 200, 404, 200, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 403, 404, 404, 404, 403, 404) },
  ],
  'GET /api/v1/retention/signing-keys': [
    { expect: o(200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
  ],
  'POST /api/v1/legal-holds': [
    { body: { customerId: '@A.customer', reason: 'Authority request {unique}' }, expect: o(401, 403, 201, 403, 403, 403, 403, 403, 403, 403) },
    { body: { customerId: '@missing', reason: 'Authority request {unique}' }, expect: o(401, 403, 400, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/legal-holds': [
    { expect: o(401, 403, 200, 403, 200, 200, 403, 403, 403, 200), showsB: [...DPOS, 'security', 'auditor', 'auditorKey'] },
  ],
  'GET /api/v1/legal-holds/:id': [
    { params: { id: '@B.hold' }, expect: o(401, 403, 200, 403, 200, 200, 403, 403, 403, 200), showsB: [...DPOS, 'security', 'auditor', 'auditorKey'] },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 404, 404, 403, 403, 403, 404) },
  ],
  'POST /api/v1/legal-holds/:id/release': [
    { fresh: 'holdA', params: { id: '@fresh.id' }, body: { reason: 'The litigation settled' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { fresh: 'holdB', params: { id: '@fresh.id' }, body: { reason: 'The dispute settled' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { reason: 'The dispute settled' }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/retention/policies': [
    { expect: o(401, 403, 200, 200, 403, 200, 200, 200, 403, 200) },
  ],
  'PUT /api/v1/retention/policies/default/:category': [
    { params: { category: 'body' }, body: { days: 30 }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { category: 'everything' }, body: { days: 30 }, expect: o(401, 403, 400, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/customers/:customerId/retention': [
    { params: { customerId: '@A.customer' }, expect: o(401, 403, 200, 200, 403, 200, 200, 404, 403, 200) },
    { params: { customerId: '@B.customer' }, expect: o(401, 403, 200, 200, 403, 200, 404, 200, 403, 200) },
    { params: { customerId: '@missing' }, expect: o(401, 403, 404, 404, 403, 404, 404, 404, 403, 404) },
  ],
  'PUT /api/v1/customers/:customerId/retention/:category': [
    { params: { customerId: '@A.customer', category: 'msisdn' }, body: { days: 60 }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { customerId: '@missing', category: 'msisdn' }, body: { days: 60 }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'DELETE /api/v1/customers/:customerId/retention/:category': [
    { params: { customerId: '@A.customer', category: 'body' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { customerId: '@missing', category: 'body' }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/retention/preview': [
    { expect: o(401, 403, 200, 403, 403, 200, 403, 403, 403, 200) },
  ],

  // ── data-subject requests ───────────────────────────────────────────────────────────────────────
  'POST /api/v1/data-subject-requests': [
    { body: { customerId: '@A.customer', kind: 'access', msisdn: '@A.msisdn' }, expect: o(401, 403, 201, 403, 403, 403, 201, 404, 403, 403) },
    { body: { customerId: '@missing', kind: 'access', msisdn: '@A.msisdn' }, expect: o(401, 403, 404, 403, 403, 403, 404, 404, 403, 403) },
  ],
  'GET /api/v1/data-subject-requests': [
    { expect: o(401, 403, 200, 403, 403, 200, 200, 200, 403, 200), showsB: [...DPOS, 'auditor', 'customerB', 'auditorKey'] },
  ],
  'GET /api/v1/data-subject-requests/:id': [
    { params: { id: '@A.accessRequest' }, expect: o(401, 403, 200, 403, 403, 200, 200, 404, 403, 200) },
    { params: { id: '@B.accessRequest' }, expect: o(401, 403, 200, 403, 403, 200, 404, 200, 403, 200), showsB: [...DPOS, 'auditor', 'customerB', 'auditorKey'] },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 403, 404, 404, 404, 403, 404) },
  ],
  // The decrypted export: audited as a PII read, for the customer's own users and the DPO.
  'GET /api/v1/data-subject-requests/:id/export': [
    { params: { id: '@A.accessRequest' }, expect: o(401, 403, 200, 403, 403, 403, 200, 404, 403, 403) },
    { params: { id: '@B.accessRequest' }, expect: o(401, 403, 200, 403, 403, 403, 404, 200, 403, 403), showsB: [...DPOS, 'customerB'] },
    { params: { id: '@B.erasureRequest' }, expect: o(401, 403, 409, 403, 403, 403, 404, 409, 403, 403) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 403, 403, 403, 404, 404, 403, 403) },
  ],

  // ── sub-processors ──────────────────────────────────────────────────────────────────────────────
  'GET /api/v1/customers/:id/authorised-subprocessors': [
    { params: { id: '@A.customer' }, expect: o(401, 403, 200, 200, 403, 200, 200, 404, 200, 200) },
    { params: { id: '@B.customer' }, expect: o(401, 403, 200, 200, 403, 200, 404, 200, 200, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 403, 404, 404, 404, 404, 404) },
  ],
  'POST /api/v1/subprocessors': [
    { body: subprocessorBody, expect: o(401, 403, 201, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/subprocessors': [
    { expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200) },
  ],
  'GET /api/v1/subprocessors/:id': [
    { params: { id: '@sp.active' }, expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 403, 403, 403, 404) },
  ],
  'PATCH /api/v1/subprocessors/:id': [
    { params: { id: '@sp.proposed' }, body: { purpose: 'Routes SMS to operators, {unique}' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { purpose: 'Routes SMS to operators' }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'POST /api/v1/subprocessors/:id/transitions': [
    { fresh: 'proposedSubprocessor', params: { id: '@fresh.id' }, body: { to: 'approved' }, expect: o(401, 403, 200, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { to: 'approved' }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],
  'GET /api/v1/subprocessors/:id/history': [
    { params: { id: '@sp.active' }, expect: o(401, 403, 200, 200, 200, 200, 403, 403, 403, 200) },
    { params: { id: '@missing' }, expect: o(401, 403, 404, 404, 404, 404, 403, 403, 403, 404) },
  ],
  'POST /api/v1/subprocessors/:id/change-notices': [
    { fresh: 'approvedSubprocessor', params: { id: '@fresh.id' }, body: { reason: 'A second route for resilience' }, expect: o(401, 403, 201, 403, 403, 403, 403, 403, 403, 403) },
    { params: { id: '@missing' }, body: { reason: 'A second route for resilience' }, expect: o(401, 403, 404, 403, 403, 403, 403, 403, 403, 403) },
  ],
};
