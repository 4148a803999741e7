import { AbilityBuilder, createMongoAbility, ForcedSubject, MongoAbility, MongoQuery } from '@casl/ability';

export const USER_ROLES = ['admin', 'dpo', 'legal', 'security', 'auditor', 'customer'] as const;
export const API_KEY_ROLES = ['ingest', 'auditor'] as const;
export const ROLES = [...USER_ROLES, 'ingest'] as const;
export type UserRole = (typeof USER_ROLES)[number];
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];
export type Role = (typeof ROLES)[number];

export const ACTIONS = ['manage', 'create', 'read', 'update', 'delete', 'approve', 'confirm', 'object', 'acknowledge'] as const;
export type Action = (typeof ACTIONS)[number];

/** Every kind of thing access is decided on, from DESIGN.md's capabilities. */
export const SUBJECTS = [
  'Profile', 'User', 'ApiKey', 'Setting', 'AuditEntry',
  'Customer', 'Dpa', 'Subprocessor', 'ChangeNotice', 'Objection', 'RouteAuthorisation',
  'Message', 'MessagePii', 'RouteViolation',
  'RetentionPolicy', 'LegalHold', 'PurgeRun', 'DeletionCertificate', 'DataSubjectRequest',
  'Incident', 'Notification', 'ProcessingRecord', 'Job', 'Subscriber',
] as const;
export type Subject = (typeof SUBJECTS)[number];

export type AppAbility = MongoAbility<[Action, Subject | 'all' | ForcedSubject<Subject>], MongoQuery>;

/** Who is acting; every service method takes it first. */
export interface Actor {
  kind: 'user' | 'api_key' | 'system';
  id: string;
  role: Role | 'system';
  customerId: string | null;
  requestId?: string;
  ability: AppAbility;
}

/** A row-level condition: "own" rows are those of the actor's customer, "self" the actor's own record. */
type Scope = 'own-customer' | 'own-customer-record' | 'self';

interface Grant {
  can: Action | Action[];
  on: Subject | Subject[];
  scope?: Scope;
}

const EVIDENCE: Subject[] = [
  'AuditEntry', 'RouteAuthorisation', 'PurgeRun', 'DeletionCertificate', 'ProcessingRecord', 'RouteViolation',
  'Customer', 'Dpa', 'Subprocessor', 'ChangeNotice', 'Objection', 'RetentionPolicy', 'LegalHold',
  'Incident', 'Notification', 'Message', 'User', 'ApiKey', 'DataSubjectRequest', 'Job',
];

/**
 * The access table, role by role, as data (DESIGN.md "Who uses it"). Anything not granted here
 * is refused. Reading decrypted message PII (`MessagePii`) is granted to no role: it is a
 * separate, audited break-glass permission.
 */
export const GRANTS: Record<Role, Grant[]> = {
  admin: [
    { can: 'read', on: 'Profile', scope: 'self' },
    { can: 'manage', on: ['User', 'ApiKey', 'Setting'] },
    { can: ['read', 'create'], on: 'Job' },
  ],
  dpo: [
    { can: 'read', on: 'Profile', scope: 'self' },
    { can: 'manage', on: ['Subprocessor', 'ChangeNotice', 'Objection', 'RetentionPolicy', 'LegalHold', 'Subscriber'] },
    { can: ['read', 'create'], on: 'Job' },
    { can: 'read', on: ['AuditEntry', 'Customer', 'Dpa', 'Message', 'RouteViolation', 'PurgeRun', 'DeletionCertificate', 'ProcessingRecord', 'RouteAuthorisation'] },
    { can: ['create', 'read'], on: 'DataSubjectRequest' },
    { can: ['read', 'update', 'confirm'], on: 'Incident' },
    { can: ['create', 'read', 'update', 'approve'], on: 'Notification' },
  ],
  legal: [
    { can: 'read', on: 'Profile', scope: 'self' },
    { can: 'manage', on: ['Customer', 'Dpa'] },
    { can: 'read', on: ['Subprocessor', 'ChangeNotice', 'Objection', 'Incident', 'Notification', 'RouteAuthorisation', 'RetentionPolicy'] },
  ],
  security: [
    { can: 'read', on: 'Profile', scope: 'self' },
    { can: ['create', 'read', 'update'], on: ['Incident', 'Notification'] },
    { can: 'read', on: ['Customer', 'Subprocessor', 'RouteViolation', 'Message', 'LegalHold'] },
  ],
  auditor: [
    { can: 'read', on: 'Profile', scope: 'self' },
    { can: 'read', on: EVIDENCE },
  ],
  customer: [
    { can: 'read', on: 'Profile', scope: 'self' },
    { can: 'read', on: 'Customer', scope: 'own-customer-record' },
    { can: 'read', on: ['Dpa', 'ChangeNotice', 'RetentionPolicy', 'DeletionCertificate', 'Notification', 'RouteAuthorisation'], scope: 'own-customer' },
    { can: ['object', 'approve'], on: 'ChangeNotice', scope: 'own-customer' },
    { can: ['create', 'read'], on: ['Objection', 'DataSubjectRequest'], scope: 'own-customer' },
    { can: 'acknowledge', on: 'Notification', scope: 'own-customer' },
  ],
  ingest: [
    { can: 'read', on: 'Profile', scope: 'self' },
    { can: 'create', on: 'Message' },
    { can: 'read', on: 'RouteAuthorisation' },
  ],
};

function conditionsFor(scope: Scope | undefined, actor: Pick<Actor, 'id' | 'customerId'>): MongoQuery | undefined {
  switch (scope) {
    case undefined:
      return undefined;
    case 'self':
      return { id: actor.id };
    case 'own-customer':
      return { customerId: actor.customerId };
    case 'own-customer-record':
      return { id: actor.customerId };
  }
}

/**
 * `piiAccess`: the user's break-glass flag (users.pii_access), which only DPO users can hold and an
 * admin grants; it adds reading decrypted message PII to the role's grants.
 */
export function defineAbilityFor(actor: Pick<Actor, 'id' | 'role' | 'customerId'> & { piiAccess?: boolean }): AppAbility {
  const { can, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
  // Scheduled work acts as `system`: everything but reading decrypted PII, which stays break-glass.
  const grants = actor.role === 'system' ? [{ can: 'manage' as const, on: SUBJECTS.filter((s) => s !== 'MessagePii') }] : GRANTS[actor.role];
  for (const grant of grants) {
    // A customer-scoped grant without a customer would match rows with a NULL customer: refuse instead.
    if ((grant.scope === 'own-customer' || grant.scope === 'own-customer-record') && !actor.customerId) continue;
    const conditions = conditionsFor(grant.scope, actor);
    if (conditions) can(grant.can, grant.on, conditions as never);
    else can(grant.can, grant.on);
  }
  if (actor.piiAccess && actor.role === 'dpo') can('read', 'MessagePii');
  return build();
}
