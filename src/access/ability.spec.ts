import { subject } from '@casl/ability';
import { ACTIONS, type Action, defineAbilityFor, ROLES, type Role, SUBJECTS, type Subject } from './ability';

/*
 * The access table of DESIGN.md ("Who uses it"), written out by hand. It is deliberately NOT
 * derived from GRANTS: a table computed from the code under test could never disagree with it.
 *
 * A cell is how far a grant reaches:
 *   'any'  every row of that kind;
 *   'own'  only rows of the actor's own customer (for Customer itself: the customer's own record);
 *   'self' only the actor's own record (Profile);
 * and a missing cell is refused.
 */
type Reach = 'any' | 'own' | 'self';
type Row = Partial<Record<Action, Reach>>;
type Table = Partial<Record<Subject, Row>>;

const ALL_ACTIONS: readonly Action[] = ['manage', 'create', 'read', 'update', 'delete', 'approve', 'confirm', 'object', 'acknowledge'];
const ALL_SUBJECTS: readonly Subject[] = [
  'Profile', 'User', 'ApiKey', 'Setting', 'AuditEntry',
  'Customer', 'Dpa', 'Subprocessor', 'ChangeNotice', 'Objection', 'RouteAuthorisation',
  'Message', 'MessagePii', 'RouteViolation',
  'RetentionPolicy', 'LegalHold', 'PurgeRun', 'DeletionCertificate', 'DataSubjectRequest',
  'Incident', 'Notification', 'ProcessingRecord', 'Job', 'Subscriber',
];
const ALL_ROLES: readonly Role[] = ['admin', 'dpo', 'legal', 'security', 'auditor', 'customer', 'ingest'];

/** "everything on X": every action, `manage` included. */
const everything: Row = { manage: 'any', create: 'any', read: 'any', update: 'any', delete: 'any', approve: 'any', confirm: 'any', object: 'any', acknowledge: 'any' };
const read: Row = { read: 'any' };
const ownProfile: Row = { read: 'self' };

const EXPECTED: Record<Role, Table> = {
  // "manage users, roles, API keys, settings"; never message PII.
  admin: {
    Profile: ownProfile,
    User: everything,
    ApiKey: everything,
    Setting: everything,
    // Operations: see scheduled jobs and run one on demand.
    Job: { read: 'any', create: 'any' },
  },
  // "everything on sub-processors, change notices, retention, legal holds; confirm breaches and
  // approve notifications; read audit".
  dpo: {
    Profile: ownProfile,
    Subprocessor: everything,
    ChangeNotice: everything,
    Objection: everything, // objections belong to change notices; the DPO resolves them
    RetentionPolicy: everything,
    LegalHold: everything,
    Subscriber: everything, // the public sub-processor list's mail subscribers
    Job: { read: 'any', create: 'any' },
    AuditEntry: read,
    Incident: { read: 'any', update: 'any', confirm: 'any' },
    // Drafts notifications as security does, and approves those it did not write (four eyes).
    Notification: { create: 'any', read: 'any', update: 'any', approve: 'any' },
    // Not named in the table; reads the DPO needs to do what it does name (objection windows come
    // from DPAs, purge evidence belongs to retention, Art. 30 records are the DPO's).
    Customer: read,
    Dpa: read,
    Message: read,
    RouteViolation: read,
    RouteAuthorisation: read,
    PurgeRun: read,
    DeletionCertificate: read,
    ProcessingRecord: read,
    // Files access and erasure requests on a customer's behalf (Art. 28(3)(e)).
    DataSubjectRequest: { read: 'any', create: 'any' },
  },
  // "customers, DPAs and their documents; read sub-processors and incidents"; never change retention.
  legal: {
    Profile: ownProfile,
    Customer: everything,
    Dpa: everything,
    Subprocessor: read,
    Incident: read,
    // Reading incidents includes what customers were told about them (and the mail log it went through).
    Notification: read,
    // Read as part of "sub-processors": who may use them, announced changes and objections to them.
    ChangeNotice: read,
    Objection: read,
    RouteAuthorisation: read,
    // Retention is a DPA term legal negotiates; reading it, never changing it.
    RetentionPolicy: read,
  },
  // "report and triage incidents, run impact scoping, draft notifications"; never approve.
  security: {
    Profile: ownProfile,
    Incident: { create: 'any', read: 'any', update: 'any' },
    Notification: { create: 'any', read: 'any', update: 'any' },
    // What impact scoping looks at.
    Customer: read,
    Subprocessor: read,
    RouteViolation: read,
    // Message metadata (never PII) and the legal holds an investigation may rely on.
    Message: read,
    LegalHold: read,
  },
  // "read everything that is evidence: audit log, purge runs, certificates, records of
  // processing"; never write; never message PII.
  auditor: {
    Profile: ownProfile,
    AuditEntry: read,
    PurgeRun: read,
    DeletionCertificate: read,
    ProcessingRecord: read,
    RouteViolation: read,
    // Which sub-processors may touch whose data is the first thing Custodian proves (DESIGN.md,
    // opening list); route violations are meaningless as evidence without the authorisations.
    RouteAuthorisation: read,
    Customer: read,
    Dpa: read,
    Subprocessor: read,
    ChangeNotice: read,
    Objection: read,
    RetentionPolicy: read,
    LegalHold: read,
    Incident: read,
    Notification: read,
    Message: read,
    User: read,
    ApiKey: read,
    DataSubjectRequest: read,
    Job: read,
  },
  // "only its own customer's: DPAs, authorised sub-processors, change notices (and object),
  // breach notifications (and acknowledge), retention policy, deletion certificates,
  // data-subject requests"; never any other customer's existence.
  customer: {
    Profile: ownProfile,
    Customer: { read: 'own' },
    Dpa: { read: 'own' },
    RouteAuthorisation: { read: 'own' }, // its authorised sub-processors
    // "change notices (and object)", like "notifications (and acknowledge)"; and Capabilities §2:
    // "customers under specific authorisation must approve first".
    ChangeNotice: { read: 'own', object: 'own', approve: 'own' },
    Objection: { create: 'own', read: 'own' },
    Notification: { read: 'own', acknowledge: 'own' },
    RetentionPolicy: { read: 'own' },
    DeletionCertificate: { read: 'own' },
    DataSubjectRequest: { create: 'own', read: 'own' },
  },
  // "write message records and read route authorisation"; nothing else (its own identity aside).
  ingest: {
    Profile: ownProfile,
    Message: { create: 'any' },
    RouteAuthorisation: read,
  },
};

const ACTOR_ID = '11111111-1111-4111-8111-111111111111';
const OTHER_ID = '22222222-2222-4222-8222-222222222222';
const CUSTOMER_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const CUSTOMER_B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

function actorFor(role: Role) {
  return { id: ACTOR_ID, role, customerId: role === 'customer' ? CUSTOMER_A : null };
}

/** A row the actor owns: its own profile, its own customer's record, or a row of its customer. */
function ownRow(s: Subject): Record<string, unknown> {
  if (s === 'Profile') return { id: ACTOR_ID };
  if (s === 'Customer') return { id: CUSTOMER_A };
  return { id: OTHER_ID, customerId: CUSTOMER_A };
}

/** The same kind of row, belonging to somebody else. */
function foreignRow(s: Subject): Record<string, unknown> {
  if (s === 'Profile') return { id: OTHER_ID };
  if (s === 'Customer') return { id: CUSTOMER_B };
  return { id: OTHER_ID, customerId: CUSTOMER_B };
}

describe('ability table', () => {
  it('covers exactly the roles, actions and subjects the code knows', () => {
    // A new role, action or subject must get a row in the table above before it can ship.
    expect([...ROLES].sort()).toEqual([...ALL_ROLES].sort());
    expect([...ACTIONS].sort()).toEqual([...ALL_ACTIONS].sort());
    expect([...SUBJECTS].sort()).toEqual([...ALL_SUBJECTS].sort());
  });

  const cases = ALL_ROLES.flatMap((role) =>
    ALL_SUBJECTS.flatMap((s) =>
      ALL_ACTIONS.map((action) => {
        const reach = EXPECTED[role][s]?.[action];
        return { role, action, s, reach, verdict: reach ? `may ${action} ${s} (${reach})` : `may not ${action} ${s}` };
      }),
    ),
  );

  describe.each(ALL_ROLES)('%s', (role) => {
    const ability = defineAbilityFor(actorFor(role));

    test.each(cases.filter((c) => c.role === role))('$verdict', ({ action, s, reach }) => {
      const kind = ability.can(action, s);
      const own = ability.can(action, subject(s, ownRow(s)));
      const foreign = ability.can(action, subject(s, foreignRow(s)));
      expect({ kind, own, foreign }).toEqual({
        kind: reach !== undefined,
        own: reach !== undefined,
        foreign: reach === 'any',
      });
    });
  });
});

describe('what the table says nobody may do', () => {
  test.each(ALL_ROLES)('%s cannot touch decrypted message PII in any way', (role) => {
    const ability = defineAbilityFor(actorFor(role));
    for (const action of ALL_ACTIONS) {
      expect(ability.can(action, 'MessagePii')).toBe(false);
      expect(ability.can(action, subject('MessagePii', ownRow('MessagePii')))).toBe(false);
    }
  });

  it('the auditor writes nothing', () => {
    const ability = defineAbilityFor(actorFor('auditor'));
    const writes = ALL_SUBJECTS.flatMap((s) => ALL_ACTIONS.filter((a) => a !== 'read').filter((a) => ability.can(a, s)).map((a) => `${a} ${s}`));
    expect(writes).toEqual([]);
  });

  it('legal cannot change retention', () => {
    const ability = defineAbilityFor(actorFor('legal'));
    for (const action of ['manage', 'create', 'update', 'delete'] as const) {
      expect(ability.can(action, 'RetentionPolicy')).toBe(false);
      expect(ability.can(action, 'LegalHold')).toBe(false);
    }
  });

  it('security approves nothing (drafts are approved by somebody else)', () => {
    const ability = defineAbilityFor(actorFor('security'));
    expect(ALL_SUBJECTS.filter((s) => ability.can('approve', s) || ability.can('manage', s))).toEqual([]);
  });

  it('ingest reads nothing but route authorisations (and who it is)', () => {
    const ability = defineAbilityFor({ id: ACTOR_ID, role: 'ingest', customerId: null });
    expect(ALL_SUBJECTS.filter((s) => ability.can('read', s))).toEqual(['Profile', 'RouteAuthorisation']);
  });

  it('a customer user can do nothing at all to another customer\'s rows', () => {
    const ability = defineAbilityFor(actorFor('customer'));
    const leaks = ALL_SUBJECTS.flatMap((s) => ALL_ACTIONS.filter((a) => ability.can(a, subject(s, foreignRow(s)))).map((a) => `${a} ${s}`));
    expect(leaks).toEqual([]);
  });
});

describe('row-level conditions', () => {
  const customerA = defineAbilityFor({ id: ACTOR_ID, role: 'customer', customerId: CUSTOMER_A });

  it('a customer user reads its own customer\'s DPA, not another customer\'s', () => {
    expect(customerA.can('read', subject('Dpa', { id: OTHER_ID, customerId: CUSTOMER_A }))).toBe(true);
    expect(customerA.can('read', subject('Dpa', { id: OTHER_ID, customerId: CUSTOMER_B }))).toBe(false);
    expect(customerA.can('read', subject('Dpa', { id: OTHER_ID, customerId: null }))).toBe(false);
    expect(customerA.can('read', subject('Dpa', { id: OTHER_ID }))).toBe(false);
  });

  it('a customer user sees only its own Customer record', () => {
    expect(customerA.can('read', subject('Customer', { id: CUSTOMER_A }))).toBe(true);
    expect(customerA.can('read', subject('Customer', { id: CUSTOMER_B }))).toBe(false);
    // A Customer row is matched by its id, not by some customerId field it might carry.
    expect(customerA.can('read', subject('Customer', { id: CUSTOMER_B, customerId: CUSTOMER_A }))).toBe(false);
    expect(customerA.can('update', subject('Customer', { id: CUSTOMER_A }))).toBe(false);
  });

  test.each(ALL_ROLES)('%s reads only its own Profile', (role) => {
    const ability = defineAbilityFor(actorFor(role));
    expect(ability.can('read', subject('Profile', { id: ACTOR_ID }))).toBe(true);
    expect(ability.can('read', subject('Profile', { id: OTHER_ID }))).toBe(false);
    expect(ability.can('update', subject('Profile', { id: ACTOR_ID }))).toBe(false);
  });

  it('an admin manages users of any customer, staff or not', () => {
    const admin = defineAbilityFor(actorFor('admin'));
    for (const row of [{ id: OTHER_ID, customerId: CUSTOMER_B }, { id: OTHER_ID, customerId: null }]) {
      expect(admin.can('update', subject('User', row))).toBe(true);
    }
  });

  describe('a customer-role actor without a customer gets nothing customer-scoped', () => {
    const orphan = defineAbilityFor({ id: ACTOR_ID, role: 'customer', customerId: null });
    const scoped = ALL_SUBJECTS.filter((s) => s !== 'Profile');

    test.each(scoped)('%s', (s) => {
      for (const action of ALL_ACTIONS) {
        expect(orphan.can(action, s)).toBe(false);
        // In particular not the rows whose customer is NULL, which `customerId = null` would match.
        expect(orphan.can(action, subject(s, { id: null, customerId: null }))).toBe(false);
        expect(orphan.can(action, subject(s, { id: OTHER_ID }))).toBe(false);
      }
    });

    it('but still reads its own Profile', () => {
      expect(orphan.can('read', subject('Profile', { id: ACTOR_ID }))).toBe(true);
    });
  });
});
