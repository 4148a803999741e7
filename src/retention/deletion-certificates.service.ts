import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/ability';
import { loadVisible } from '../access/load-visible';
import { scopeQuery } from '../access/scoping';
import { decodeCursor, isTimeCursor, Page, toPage } from '../common/pagination';
import { messageCountsOf, parseStatement, verifyCertificate } from './certificate-statement';
import { CertificatesService } from './certificates.service';
import { DeletionCertificate } from './deletion-certificate.entity';
import { CertificateQuery, CertificateResponse, CertificateSummary, CertificateVerification, SigningKeyResponse } from './dto/certificate.dto';
import { SigningKey } from './signing-key.entity';

const CERTIFICATE = { entity: DeletionCertificate, subject: 'DeletionCertificate' as const, name: 'Deletion certificate' };

/** Reading and verifying deletion certificates; issuing is CertificatesService's. Customers see their own. */
@Injectable()
export class DeletionCertificatesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly certificates: CertificatesService,
  ) {}

  async list(actor: Actor, query: CertificateQuery): Promise<Page<CertificateSummary>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(DeletionCertificate).createQueryBuilder('c');
    scopeQuery(qb, actor.ability, 'read', 'DeletionCertificate');
    if (query.customerId) qb.andWhere('c.customerId = :customerId', { customerId: query.customerId });
    if (query.runId) qb.andWhere('c.runId = :runId', { runId: query.runId });
    if (query.from) qb.andWhere('c.issuedAt >= :from', { from: query.from });
    if (query.to) qb.andWhere('c.issuedAt < :to', { to: query.to });
    if (before) qb.andWhere('(c.issuedAt, c.id) < (:at, :id)', { at: before[0], id: before[1] });
    const rows = await qb.orderBy('c.issuedAt', 'DESC').addOrderBy('c.id', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toSummary, (c) => [c.issuedAt.toISOString(), c.id]);
  }

  async get(actor: Actor, id: string): Promise<CertificateResponse> {
    const c = await loadVisible(this.dataSource.manager, actor, 'read', CERTIFICATE, id);
    return {
      id: c.id, customerId: c.customerId, runId: c.runId, requestId: c.requestId, issuedAt: c.issuedAt.toISOString(),
      statement: parseStatement(c.statement), signedStatement: c.statement, signature: c.signature, signingKeyId: c.signingKeyId,
    };
  }

  async verify(actor: Actor, id: string): Promise<CertificateVerification> {
    const em = this.dataSource.manager;
    const certificate = await loadVisible(em, actor, 'read', CERTIFICATE, id);
    return verifyCertificate(em, certificate, certificate);
  }

  /** Every public key that ever signed a certificate, oldest first. Public: it holds no secret. */
  async signingKeys(): Promise<SigningKeyResponse[]> {
    const keys = await this.dataSource.getRepository(SigningKey).find({ order: { firstUsedAt: 'ASC', id: 'ASC' } });
    return keys.map((k) => ({
      id: k.id, algorithm: k.algorithm, publicKeyPem: k.publicKey, firstUsedAt: k.firstUsedAt.toISOString(), current: k.id === this.certificates.signingKeyId,
    }));
  }
}

function toSummary(c: DeletionCertificate): CertificateSummary {
  const s = parseStatement(c.statement);
  const destroyed = Array.isArray(s?.destroyed) ? (s.destroyed as { category?: unknown; messageCount?: unknown }[]) : null;
  return {
    id: c.id, customerId: c.customerId, runId: c.runId, requestId: c.requestId, issuedAt: c.issuedAt.toISOString(),
    method: typeof s?.method === 'string' ? s.method : null,
    destroyedAt: typeof s?.destroyedAt === 'string' ? s.destroyedAt : null,
    messageCounts: destroyed ? messageCountsOf(destroyed) : null,
    retainedUnderHold: typeof s?.retainedUnderHold === 'number' ? s.retainedUnderHold : null,
    signingKeyId: c.signingKeyId,
  };
}
