import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { scopeQuery } from '../access/scoping';
import { Clock } from '../common/clock';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { AuditEntry } from './audit-entry.entity';
import { ChainCursor, entryHash, firstBreak, GENESIS_HASH, redact } from './audit-chain';
import { AuditEntryResponse, AuditQuery, AuditVerifyResponse } from './audit.dto';

/** Any constant; serialises audit writers across every app instance on the same database. */
const AUDIT_LOCK_KEY = 0x4155_4449; // "AUDI"
const VERIFY_BATCH = 5000;

export interface AuditRecord {
  action: string;
  subjectType: string;
  subjectId?: string | null;
  changes?: Record<string, unknown>;
}

@Injectable()
export class AuditService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * Appends an entry inside the caller's transaction, so the change and its evidence commit
   * together or not at all. The transaction-scoped advisory lock makes concurrent writers, from
   * any instance, take turns at the head of the chain; it is released at commit or rollback.
   */
  async record(em: EntityManager, actor: Actor | null, record: AuditRecord): Promise<AuditEntry> {
    if (!em.queryRunner?.isTransactionActive) throw new Error('audit entries are written inside the change\'s transaction');
    await em.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
    const [head] = (await em.query('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')) as { seq: string; hash: string }[];
    const entry = em.create(AuditEntry, {
      seq: head ? Number(head.seq) + 1 : 1,
      at: this.clock.now(),
      actorType: actor?.kind ?? 'system',
      actorId: actor?.kind === 'system' ? null : (actor?.id ?? null),
      action: record.action,
      subjectType: record.subjectType,
      subjectId: record.subjectId ?? null,
      requestId: actor?.requestId ?? null,
      changes: redact(record.changes ?? {}) as Record<string, unknown>,
      prevHash: head?.hash ?? GENESIS_HASH,
    });
    entry.hash = entryHash(entry);
    await em.getRepository(AuditEntry).insert(entry as never);
    return entry;
  }

  async list(actor: Actor, query: AuditQuery): Promise<Page<AuditEntryResponse>> {
    const before = decodeCursor(query.cursor, (v): v is number => Number.isSafeInteger(v));
    const qb = this.dataSource.getRepository(AuditEntry).createQueryBuilder('a');
    scopeQuery(qb, actor.ability, 'read', 'AuditEntry');
    if (query.subjectType) qb.andWhere('a.subjectType = :subjectType', { subjectType: query.subjectType });
    if (query.subjectId) qb.andWhere('a.subjectId = :subjectId', { subjectId: query.subjectId });
    if (query.actorId) qb.andWhere('a.actorId = :actorId', { actorId: query.actorId });
    if (query.action) qb.andWhere('a.action = :action', { action: query.action });
    if (query.from) qb.andWhere('a.at >= :from', { from: query.from });
    if (query.to) qb.andWhere('a.at < :to', { to: query.to });
    if (before !== undefined) qb.andWhere('a.seq < :before', { before });
    const rows = await qb.orderBy('a.seq', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (row) => row.seq);
  }

  /**
   * One subject's entries, newest first: the history view of the module that owns the subject,
   * which has already checked that the caller may read the subject itself.
   */
  async historyOf(subjectType: string, subjectId: string, query: PageQuery): Promise<Page<AuditEntryResponse>> {
    const before = decodeCursor(query.cursor, (v): v is number => Number.isSafeInteger(v));
    const qb = this.dataSource.getRepository(AuditEntry).createQueryBuilder('a')
      .where('a.subjectType = :subjectType AND a.subjectId = :subjectId', { subjectType, subjectId });
    if (before !== undefined) qb.andWhere('a.seq < :before', { before });
    const rows = await qb.orderBy('a.seq', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (row) => row.seq);
  }

  /** Walks the whole chain in seq order, recomputing every hash. */
  async verify(): Promise<AuditVerifyResponse> {
    return verifyAuditChain(this.dataSource.manager);
  }
}

export async function verifyAuditChain(em: EntityManager): Promise<AuditVerifyResponse> {
  const cursor: ChainCursor = { nextSeq: 1, prevHash: GENESIS_HASH };
  let checked = 0;
  for (;;) {
    const rows = await em.getRepository(AuditEntry).createQueryBuilder('a')
      .where('a.seq >= :from', { from: cursor.nextSeq })
      .orderBy('a.seq', 'ASC').limit(VERIFY_BATCH).getMany();
    const bad = firstBreak(rows, cursor);
    // Entries 1..bad were examined; everything before bad was intact.
    if (bad !== null) return { ok: false, checked: bad, firstBadSeq: bad };
    checked += rows.length;
    if (rows.length < VERIFY_BATCH) return { ok: true, checked, firstBadSeq: null };
  }
}

function toResponse(e: AuditEntry): AuditEntryResponse {
  return {
    seq: e.seq,
    at: e.at.toISOString(),
    actorType: e.actorType,
    actorId: e.actorId,
    action: e.action,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    requestId: e.requestId,
    changes: e.changes,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}
