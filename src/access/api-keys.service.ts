import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ValidationProblem } from '../common/errors';
import { decodeCursor, Page, PageQuery, toPage, isTimeCursor } from '../common/pagination';
import type { Actor } from './ability';
import { ApiKey } from './api-key.entity';
import { ApiKeyResponse, CreateApiKeyDto, CreatedApiKeyResponse } from './dto/api-key.dto';
import { scopeQuery } from './scoping';
import { loadVisible } from './load-visible';

export const API_KEY_PREFIX = 'cust_';

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

@Injectable()
export class ApiKeysService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  /** The key is returned once; only its hash is kept. */
  async create(actor: Actor, dto: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    const expiresAt = dto.expiresAt ? new Date(dto.expiresAt) : null;
    if (expiresAt && expiresAt <= this.clock.now()) throw new ValidationProblem([{ field: 'expiresAt', messages: ['expiresAt must be in the future'] }]);
    const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    return this.dataSource.transaction(async (em) => {
      const row = await em.save(em.create(ApiKey, {
        name: dto.name, role: dto.role, prefix: key.slice(0, API_KEY_PREFIX.length + 6), keyHash: hashApiKey(key), createdBy: actor.id, expiresAt,
      }));
      await this.audit.record(em, actor, { action: 'api_key.created', subjectType: 'ApiKey', subjectId: row.id, changes: { name: row.name, role: row.role, prefix: row.prefix, expiresAt } });
      return { ...toResponse(row), key };
    });
  }

  async list(actor: Actor, query: PageQuery): Promise<Page<ApiKeyResponse>> {
    const after = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(ApiKey).createQueryBuilder('k');
    scopeQuery(qb, actor.ability, 'read', 'ApiKey');
    if (after) qb.andWhere('(k.createdAt, k.id) < (:at, :id)', { at: after[0], id: after[1] });
    const rows = await qb.orderBy('k.createdAt', 'DESC').addOrderBy('k.id', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (k) => [k.createdAt.toISOString(), k.id]);
  }

  /** Revocation is immediate: every request looks the key up. Revoking twice is harmless. */
  async revoke(actor: Actor, id: string): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      const row = await loadVisible(em, actor, 'delete', { entity: ApiKey, subject: 'ApiKey', name: 'API key' }, id, true);
      if (row.revokedAt) return;
      row.revokedAt = this.clock.now();
      await em.save(row);
      await this.audit.record(em, actor, { action: 'api_key.revoked', subjectType: 'ApiKey', subjectId: row.id, changes: { revokedAt: row.revokedAt } });
    });
  }
}

function toResponse(k: ApiKey): ApiKeyResponse {
  return {
    id: k.id, name: k.name, role: k.role, prefix: k.prefix, createdBy: k.createdBy, createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt?.toISOString() ?? null, revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}
