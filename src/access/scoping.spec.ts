import { createMongoAbility, type RawRuleOf, subject } from '@casl/ability';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { createDataSource } from '../database/data-source';
import { type AppAbility, defineAbilityFor, type UserRole } from './ability';
import { scopeQuery } from './scoping';
import { User } from './user.entity';

/*
 * scopeQuery against a real PostgreSQL: a list scoped by an ability must hold exactly the rows
 * that the same ability lets you read one by one (DESIGN.md: "a list never returns a row the
 * caller could not read one by one") — no fewer, no more.
 */

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const STAFF_ROLES: UserRole[] = ['admin', 'dpo', 'legal', 'security', 'auditor'];

/** Staff users (no customer) and customer users of A (3), B (2) and C (1). */
const FIXTURE: { email: string; role: UserRole; customerId: string | null }[] = [
  ...STAFF_ROLES.map((role) => ({ email: `${role}@provider.test`, role, customerId: null })),
  { email: 'a1@brand-a.test', role: 'customer', customerId: A },
  { email: 'a2@brand-a.test', role: 'customer', customerId: A },
  { email: 'a3@brand-a.test', role: 'customer', customerId: A },
  { email: 'b1@brand-b.test', role: 'customer', customerId: B },
  { email: 'b2@brand-b.test', role: 'customer', customerId: B },
  { email: 'c1@brand-c.test', role: 'customer', customerId: C },
];

const rules = (...r: RawRuleOf<AppAbility>[]): AppAbility => createMongoAbility<AppAbility>(r);
const readUser = (conditions?: Record<string, unknown>, inverted = false): RawRuleOf<AppAbility> =>
  ({ action: 'read', subject: 'User', conditions, inverted }) as RawRuleOf<AppAbility>;

describe('scopeQuery', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let all: User[];

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource(db.url, 2);
    await ds.initialize();
    // users.customer_id references customers: the customers come first.
    for (const id of [A, B, C]) {
      await db.superuser(`INSERT INTO customers (id, legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
        VALUES ($1, $2, 'DE', '{"name":"DPO","email":"dpo@brand.test"}', '{soc@brand.test}', '{DE}', '{"messageKinds":["otp"],"specialCategoryData":false}')`, [id, `Brand ${id.slice(0, 1)}`]);
    }
    await ds.getRepository(User).insert(FIXTURE.map((u) => ({ ...u, passwordHash: 'not-a-real-hash' })));
    all = await ds.getRepository(User).find();
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  /** Emails of the rows a list scoped by `ability` returns. */
  async function listed(ability: AppAbility): Promise<string[]> {
    const qb = ds.getRepository(User).createQueryBuilder('u');
    scopeQuery(qb, ability, 'read', 'User');
    return (await qb.getMany()).map((u) => u.email).sort();
  }

  /** Emails of the rows the same ability lets you read one at a time. */
  function readableOneByOne(ability: AppAbility): string[] {
    return all.filter((u) => ability.can('read', subject('User', { ...u }))).map((u) => u.email).sort();
  }

  const emailsWhere = (pred: (u: (typeof FIXTURE)[number]) => boolean) => FIXTURE.filter(pred).map((u) => u.email).sort();

  it('starts from the fixture (nothing else in the table)', () => {
    expect(all.map((u) => u.email).sort()).toEqual(emailsWhere(() => true));
  });

  it('an admin lists every user', async () => {
    const admin = defineAbilityFor({ id: A, role: 'admin', customerId: null });
    expect(await listed(admin)).toEqual(emailsWhere(() => true));
    expect(await listed(admin)).toEqual(readableOneByOne(admin));
  });

  it.each(['customer', 'ingest', 'dpo', 'legal', 'security'] as const)('a %s, who may not read users, lists none', async (role) => {
    const ability = defineAbilityFor({ id: A, role, customerId: role === 'customer' ? A : null });
    expect(await listed(ability)).toEqual([]);
    expect(readableOneByOne(ability)).toEqual([]);
  });

  it('nobody (no rule at all) lists none', async () => {
    expect(await listed(rules())).toEqual([]);
  });

  it('a customer-scoped grant lists only that customer\'s users', async () => {
    const ability = rules(readUser({ customerId: A }));
    expect(await listed(ability)).toEqual(emailsWhere((u) => u.customerId === A));
    expect(await listed(ability)).toEqual(readableOneByOne(ability));
  });

  it('$in lists the users of each listed customer', async () => {
    const ability = rules(readUser({ customerId: { $in: [A, C] } }));
    expect(await listed(ability)).toEqual(emailsWhere((u) => u.customerId === A || u.customerId === C));
    expect(await listed(ability)).toEqual(readableOneByOne(ability));
  });

  it('several grants add up (or), conditions within one grant all apply (and)', async () => {
    const ability = rules(readUser({ customerId: B }), readUser({ role: 'dpo' }), readUser({ customerId: A, email: 'a2@brand-a.test' }));
    expect(await listed(ability)).toEqual(['a2@brand-a.test', 'b1@brand-b.test', 'b2@brand-b.test', 'dpo@provider.test']);
    expect(await listed(ability)).toEqual(readableOneByOne(ability));
  });

  it('a condition on NULL matches the rows without a customer', async () => {
    const ability = rules(readUser({ customerId: null }));
    expect(await listed(ability)).toEqual(emailsWhere((u) => u.customerId === null));
    expect(await listed(ability)).toEqual(readableOneByOne(ability));
  });

  it('cannot within a customer-scoped can removes exactly the refused rows', async () => {
    const ability = rules(readUser({ customerId: A }), readUser({ email: 'a1@brand-a.test' }, true));
    expect(await listed(ability)).toEqual(['a2@brand-a.test', 'a3@brand-a.test']);
    expect(await listed(ability)).toEqual(readableOneByOne(ability));
  });

  it('cannot on one customer keeps the rows that have no customer at all', async () => {
    // "everyone but customer A's users": staff rows (customer_id NULL) are readable one by one,
    // so the list must show them too; SQL's NOT (NULL = A) is NULL, not TRUE.
    const ability = rules(readUser(), readUser({ customerId: A }, true));
    expect(readableOneByOne(ability)).toEqual(emailsWhere((u) => u.customerId !== A));
    expect(await listed(ability)).toEqual(readableOneByOne(ability));
  });

  it('$in with an empty list lists nothing (and does not fail)', async () => {
    const ability = rules(readUser({ customerId: { $in: [] } }), readUser({ role: 'auditor' }));
    expect(readableOneByOne(ability)).toEqual(['auditor@provider.test']);
    expect(await listed(ability)).toEqual(readableOneByOne(ability));
  });

  it('$in containing null matches the rows without a customer, as a single read does', async () => {
    const ability = rules(readUser({ customerId: { $in: [null, B] } }));
    expect(readableOneByOne(ability)).toEqual(emailsWhere((u) => u.customerId === null || u.customerId === B));
    expect(await listed(ability)).toEqual(readableOneByOne(ability));
  });

  it('scoping one query twice (two scoped entities in one list) keeps both conditions', async () => {
    const byCustomer = rules(readUser({ customerId: { $in: [A, B] } }));
    const byEmail = rules(readUser({ email: { $in: ['a1@brand-a.test', 'b2@brand-b.test', 'c1@brand-c.test'] } }));
    const qb = ds.getRepository(User).createQueryBuilder('u');
    scopeQuery(qb, byCustomer, 'read', 'User');
    scopeQuery(qb, byEmail, 'read', 'User');
    expect((await qb.getMany()).map((u) => u.email).sort()).toEqual(['a1@brand-a.test', 'b2@brand-b.test']);
  });

  it('keeps filters added after it', async () => {
    const qb = ds.getRepository(User).createQueryBuilder('u');
    scopeQuery(qb, rules(readUser({ customerId: A }), readUser({ role: 'dpo' })), 'read', 'User');
    qb.andWhere('u.role = :role', { role: 'dpo' });
    expect((await qb.getMany()).map((u) => u.email)).toEqual(['dpo@provider.test']);
  });

  it('refuses conditions it cannot translate instead of widening the list', () => {
    const qb = () => ds.getRepository(User).createQueryBuilder('u');
    expect(() => scopeQuery(qb(), rules(readUser({ customerId: { $ne: A } })), 'read', 'User')).toThrow(/unsupported/);
    expect(() => scopeQuery(qb(), rules(readUser({ 'id) OR (TRUE': A })), 'read', 'User')).toThrow(/unsupported/);
  });

  describe('property: the list equals the rows readable one by one', () => {
    const customer = fc.constantFrom<string | null>(A, B, C, null);
    const role = fc.constantFrom<UserRole>(...STAFF_ROLES, 'customer');
    // Plain objects: fast-check may otherwise build null-prototype ones, which no real rule is.
    const plain = { noNullPrototype: true } as const;
    const condition = fc.oneof(
      fc.constant(undefined),
      fc.record({ customerId: customer }, plain),
      fc.record({ customerId: fc.record({ $in: fc.subarray([A, B, C, null]) }, plain) }, plain),
      fc.record({ role }, plain),
      fc.record({ role: fc.record({ $in: fc.subarray([...STAFF_ROLES, 'customer']) }, plain) }, plain),
      fc.record({ customerId: customer, role }, plain),
      fc.record({ email: fc.constantFrom(...FIXTURE.map((u) => u.email)) }, plain),
    );
    const ruleSet = fc.array(
      fc.tuple(condition, fc.boolean()).map(([conditions, inverted]) => readUser(conditions as Record<string, unknown> | undefined, inverted)),
      { maxLength: 4 },
    );

    it('for any set of can / cannot rules over eq, $in and NULL', async () => {
      await fc.assert(
        fc.asyncProperty(ruleSet, async (r) => {
          const ability = rules(...r);
          expect(await listed(ability)).toEqual(readableOneByOne(ability));
        }),
        { numRuns: 300 },
      );
    });

    it('for the real role table, for every role and customer', async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...STAFF_ROLES, 'customer' as const, 'ingest' as const), customer, async (r, customerId) => {
          const ability = defineAbilityFor({ id: A, role: r, customerId: r === 'customer' ? customerId : null });
          expect(await listed(ability)).toEqual(readableOneByOne(ability));
        }),
        { numRuns: 40 },
      );
    });
  });
});
