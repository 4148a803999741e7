import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { setBounded } from '../common/bounded-map';
import { Clock } from '../common/clock';
import { UnauthorizedError } from '../common/errors';
import { isUuid } from '../common/ids';
import { ReadCache } from '../common/read-cache';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { type Actor, defineAbilityFor } from './ability';
import { ApiKey } from './api-key.entity';
import { API_KEY_PREFIX, hashApiKey } from './api-keys.service';
import { LoginDto, TokenResponse } from './dto/auth.dto';
import { LoginThrottleService } from './login-throttle.service';
import { verifyPassword } from './passwords';
import { User } from './user.entity';

export const JWT_AUDIENCE = 'custodian-api';
export const JWT_ISSUER = 'custodian';

/** Bounds the memory of verified tokens (see verifyToken): the oldest goes first. */
const MAX_VERIFIED_TOKENS = 10_000;

@Injectable()
export class AuthService {
  private readonly verifiedTokens = new Map<string, { sub: unknown; validUntil: number }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jwt: JwtService,
    private readonly throttle: LoginThrottleService,
    private readonly clock: Clock,
    private readonly cache: ReadCache,
  ) {}

  /** Unknown e-mail, wrong password and disabled account all answer the same 401. */
  async login(dto: LoginDto, address: string): Promise<TokenResponse> {
    const email = dto.email.trim().toLowerCase();
    await this.throttle.attempt(email, address);
    const user = await this.dataSource.getRepository(User).findOneBy({ email });
    const valid = await verifyPassword(user?.passwordHash, dto.password);
    if (!user || !valid || user.disabled) throw new UnauthorizedError('Invalid e-mail or password');
    await this.throttle.succeeded(email, address);
    const accessToken = await this.jwt.signAsync(
      { sub: user.id },
      { algorithm: 'HS256', audience: JWT_AUDIENCE, issuer: JWT_ISSUER, expiresIn: this.config.jwtTtlSeconds },
    );
    return { accessToken, tokenType: 'Bearer', expiresIn: this.config.jwtTtlSeconds };
  }

  /**
   * Resolves a bearer credential to an actor. The user (or key) is looked up on every request, so
   * a disabled account, a changed role or a revoked key takes effect at once, even with a token
   * still valid: the lookup is kept in the ReadCache, which drops it when users or api_keys change
   * (on the instance that made the change before its answer; on the others when PostgreSQL's
   * notification arrives, milliseconds later).
   */
  async authenticate(credential: string, requestId?: string): Promise<Actor> {
    if (credential.startsWith(API_KEY_PREFIX)) return this.fromApiKey(credential, requestId);
    const { sub } = await this.verifyToken(credential);
    const actor = isUuid(sub)
      ? await this.cache.read(`user ${sub}`, async () => {
        const user = await this.dataSource.getRepository(User).findOneBy({ id: sub });
        return { value: user && !user.disabled ? actorOf('user', user.id, user.role, user.customerId, user.piiAccess) : null };
      })
      : null;
    if (!actor) throw new UnauthorizedError('The access token is invalid or has expired');
    return { ...actor, requestId };
  }

  /**
   * The token's claims, once the library has checked its signature, audience, issuer, expiry and
   * age. The same token (the same bytes, so the same signature under the same secret) is not
   * verified again: it is remembered until it expires, and only the time is checked then.
   */
  private async verifyToken(token: string): Promise<{ sub: unknown }> {
    const known = this.verifiedTokens.get(token);
    if (known && Date.now() < known.validUntil) return known;
    let claims: { sub?: unknown; exp?: unknown; iat?: unknown };
    try {
      // maxAge also bounds tokens issued under a longer TTL than the one now configured.
      claims = await this.jwt.verifyAsync(token, { algorithms: ['HS256'], audience: JWT_AUDIENCE, issuer: JWT_ISSUER, maxAge: this.config.jwtTtlSeconds });
    } catch {
      throw new UnauthorizedError('The access token is invalid or has expired');
    }
    const { sub, exp, iat } = claims;
    if (typeof exp !== 'number' || typeof iat !== 'number') throw new UnauthorizedError('The access token is invalid or has expired');
    // The library's own limits: valid while the current whole second is before exp and before iat + maxAge.
    const verified = { sub, validUntil: Math.min(exp, iat + this.config.jwtTtlSeconds) * 1000 };
    setBounded(this.verifiedTokens, token, verified, MAX_VERIFIED_TOKENS);
    return verified;
  }

  private async fromApiKey(key: string, requestId?: string): Promise<Actor> {
    const keyHash = hashApiKey(key);
    const found = await this.cache.read(`api-key ${keyHash}`, async () => {
      const row = await this.dataSource.getRepository(ApiKey).findOneBy({ keyHash });
      // An unknown key is not kept: random keys must not push the real ones out.
      return { value: row && { revokedAt: row.revokedAt, expiresAt: row.expiresAt, actor: actorOf('api_key', row.id, row.role, null) }, keep: !!row };
    });
    if (!found || found.revokedAt || (found.expiresAt && found.expiresAt <= this.clock.now())) {
      throw new UnauthorizedError('The API key is invalid, expired or revoked');
    }
    return { ...found.actor, requestId };
  }
}

/** An actor without a request: kept answers are shared by the requests of one user or key. */
function actorOf(kind: Actor['kind'], id: string, role: Actor['role'], customerId: string | null, piiAccess = false): Omit<Actor, 'requestId'> {
  return { kind, id, role, customerId, ability: defineAbilityFor({ id, role, customerId, piiAccess }) };
}
