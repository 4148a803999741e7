import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { diff } from '../audit/audit-chain';
import { AuditService } from '../audit/audit.service';
import { ConflictError, ValidationProblem } from '../common/errors';
import { isUuid } from '../common/ids';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { CustomersService } from '../customers/customers.service';
import { Action, Actor, UserRole } from './ability';
import { MeResponse } from './dto/auth.dto';
import { CreateUserDto, UpdateUserDto, UserQuery, UserResponse } from './dto/user.dto';
import { hashPassword } from './passwords';
import { scopeQuery } from './scoping';
import { User } from './user.entity';
import { loadVisible } from './load-visible';

const FIRST_ADMIN_LOCK = 0x4144_4d4e; // "ADMN"

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly customers: CustomersService,
  ) {}

  /** First boot: with no users at all, create an admin so somebody can log in. */
  async onApplicationBootstrap(): Promise<void> {
    const generated = this.config.admin.password ? undefined : randomBytes(18).toString('base64url');
    const email = this.config.admin.email.toLowerCase();
    const created = await this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [FIRST_ADMIN_LOCK]);
      if ((await em.count(User)) > 0) return false;
      // In production stdout is a log stream: a generated password would stay in it.
      if (generated && this.config.nodeEnv === 'production') {
        throw new Error('no users exist yet: set ADMIN_PASSWORD (and ADMIN_EMAIL) for the first admin account');
      }
      const user = await em.save(em.create(User, { email, passwordHash: await hashPassword(this.config.admin.password ?? generated!), role: 'admin', customerId: null }));
      await this.audit.record(em, null, { action: 'user.created', subjectType: 'User', subjectId: user.id, changes: { role: 'admin', reason: 'first boot' } });
      return true;
    });
    if (!created) return;
    this.logger.log('first boot: created the first admin account');
    if (generated) {
      // Printed once, to the terminal only, never to the structured log.
      process.stdout.write(`\n  First boot: admin account created.\n    e-mail:   ${email}\n    password: ${generated}\n  It is shown only this once; change it after logging in.\n\n`);
    }
  }

  async create(actor: Actor, dto: CreateUserDto): Promise<UserResponse> {
    checkCustomerRole(dto.role, dto.customerId ?? null);
    const email = dto.email.trim().toLowerCase();
    return this.dataSource.transaction(async (em) => {
      await this.checkCustomerExists(em, dto.customerId ?? null);
      if (await em.existsBy(User, { email })) throw new ConflictError('A user with this e-mail already exists');
      const user = await em.save(em.create(User, { email, passwordHash: await hashPassword(dto.password), role: dto.role, customerId: dto.customerId ?? null }));
      await this.audit.record(em, actor, { action: 'user.created', subjectType: 'User', subjectId: user.id, changes: snapshot(user) });
      return toResponse(user);
    });
  }

  async list(actor: Actor, query: UserQuery): Promise<Page<UserResponse>> {
    // The cursor is the last user's id, never an e-mail address (cursors end up in URLs and logs).
    const after = decodeCursor(query.cursor, isUuid);
    const qb = this.dataSource.getRepository(User).createQueryBuilder('u');
    scopeQuery(qb, actor.ability, 'read', 'User');
    if (query.role) qb.andWhere('u.role = :role', { role: query.role });
    if (after !== undefined) qb.andWhere('u.email > (SELECT email FROM users WHERE id = :after)', { after });
    const rows = await qb.orderBy('u.email', 'ASC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (u) => u.id);
  }

  async me(actor: Actor): Promise<MeResponse> {
    const user = actor.kind === 'user' ? await this.dataSource.getRepository(User).findOneBy({ id: actor.id }) : null;
    return { id: actor.id, kind: actor.kind, role: actor.role, email: user?.email ?? null, customerId: actor.customerId };
  }

  async get(actor: Actor, id: string): Promise<UserResponse> {
    return toResponse(await this.load(this.dataSource.manager, actor, 'read', id));
  }

  async update(actor: Actor, id: string, dto: UpdateUserDto): Promise<UserResponse> {
    return this.dataSource.transaction(async (em) => {
      const user = await this.load(em, actor, 'update', id, true);
      const before = snapshot(user);
      const hadPiiAccess = user.piiAccess;
      const role = dto.role ?? user.role;
      const customerId = dto.customerId !== undefined ? dto.customerId : role === 'customer' ? user.customerId : null;
      checkCustomerRole(role, customerId);
      if (customerId !== user.customerId) await this.checkCustomerExists(em, customerId);
      const losesAdmin = user.role === 'admin' && !user.disabled && (role !== 'admin' || dto.disabled === true);
      if (losesAdmin) await this.ensureAnotherAdmin(em, user.id);
      if (dto.piiAccess === true && role !== 'dpo') {
        throw new ConflictError('Only a user with the dpo role can hold piiAccess (reading decrypted message PII)', { role });
      }
      // Leaving the dpo role ends the break-glass permission with it.
      const piiAccess = role === 'dpo' ? (dto.piiAccess ?? user.piiAccess) : false;
      Object.assign(user, { role, customerId, disabled: dto.disabled ?? user.disabled, piiAccess });
      if (dto.password) user.passwordHash = await hashPassword(dto.password);
      await em.save(user);
      const changes: Record<string, unknown> = diff(before, snapshot(user));
      if (piiAccess !== hadPiiAccess) changes.piiAccess = { from: hadPiiAccess, to: piiAccess };
      if (dto.password) changes.password = '[redacted]';
      if (Object.keys(changes).length === 0) return toResponse(user); // nothing changed, nothing to record
      await this.audit.record(em, actor, { action: dto.disabled === true && !before.disabled ? 'user.disabled' : 'user.updated', subjectType: 'User', subjectId: user.id, changes });
      return toResponse(user);
    });
  }

  /** The addresses of every enabled user of a role, e.g. legal for DPA reminders. */
  async emailsOfRole(em: EntityManager, role: UserRole): Promise<string[]> {
    const users = await em.find(User, { select: { email: true }, where: { role, disabled: false }, order: { email: 'ASC' } });
    return users.map((u) => u.email);
  }

  /** A customer user must belong to a customer that exists: a 400 naming the field, not a foreign-key 500. */
  private async checkCustomerExists(em: EntityManager, customerId: string | null) {
    if (customerId && !(await this.customers.exists(em, customerId))) {
      throw new ValidationProblem([{ field: 'customerId', messages: ['customerId does not name an existing customer'] }]);
    }
  }

  /** Loads a row the actor may act on; one it may not see answers exactly like a missing one. */
  private async load(em: EntityManager, actor: Actor, action: Action, id: string, lock = false): Promise<User> {
    return loadVisible(em, actor, action, { entity: User, subject: 'User', name: 'User' }, id, lock);
  }

  private async ensureAnotherAdmin(em: EntityManager, excludingId: string) {
    await em.query('SELECT pg_advisory_xact_lock($1)', [FIRST_ADMIN_LOCK]);
    const others = await em.createQueryBuilder(User, 'u')
      .where('u.role = :role AND NOT u.disabled AND u.id <> :id', { role: 'admin', id: excludingId }).getCount();
    if (others === 0) throw new ConflictError('This is the last enabled admin; create or enable another admin first');
  }
}

function checkCustomerRole(role: string, customerId: string | null) {
  if (role === 'customer' && !customerId) throw new ValidationProblem([{ field: 'customerId', messages: ['customerId is required for the customer role'] }]);
  if (role !== 'customer' && customerId) throw new ValidationProblem([{ field: 'customerId', messages: ['customerId is only for the customer role'] }]);
}

/** What the audit log records of a user: no e-mail address, since the log can never be erased. */
function snapshot(u: User): Record<string, unknown> {
  return { role: u.role, customerId: u.customerId, disabled: u.disabled };
}

function toResponse(u: User): UserResponse {
  return { id: u.id, email: u.email, role: u.role, customerId: u.customerId, disabled: u.disabled, piiAccess: u.piiAccess, createdAt: u.createdAt.toISOString(), updatedAt: u.updatedAt.toISOString() };
}

