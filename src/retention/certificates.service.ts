import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { canonicalize } from 'json-canonicalize';
import { createHash, createPrivateKey, createPublicKey, KeyObject, randomUUID, sign } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { messageCountsOf } from './certificate-statement';
import { DeletionCertificate } from './deletion-certificate.entity';

/** One line of a certificate: what of one category was destroyed, over which days, under which keys. */
export interface DestroyedItem {
  category: 'msisdn' | 'body' | 'delivery_metadata';
  /** First and last UTC day (YYYY-MM-DD) of the messages concerned. */
  from: string;
  to: string;
  messageCount: number;
  /** The data keys destroyed (crypto-shredding); empty when ciphertext was erased instead. */
  keyIds: string[];
}

export interface CertificateContent {
  customerId: string;
  source: { kind: 'purge_run'; runId: string } | { kind: 'erasure_request'; requestId: string };
  /** crypto_shredding: data keys destroyed; ciphertext_erasure: the values themselves overwritten. */
  method: 'crypto_shredding' | 'ciphertext_erasure';
  /** When the destruction happened (the run's or request's time). */
  destroyedAt: Date;
  destroyed: DestroyedItem[];
  /** Messages that matched but were kept because a legal hold covers them. */
  retainedUnderHold?: number;
}

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Issues and verifies deletion certificates. The statement is RFC 8785 canonical JSON, signed
 * with Ed25519 (SIGNING_KEY); every public key ever used is kept in signing_keys and published,
 * so a certificate stays verifiable by anyone after the key changes.
 */
@Injectable()
export class CertificatesService implements OnApplicationBootstrap {
  private readonly privateKey: KeyObject;
  readonly publicKeyPem: string;
  readonly signingKeyId: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {
    this.privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, config.signingKey]), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(this.privateKey);
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.signingKeyId = signingKeyIdOf(publicKey);
  }

  /** Publishes the current public key (idempotent; every instance does it at boot). */
  async onApplicationBootstrap(): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO signing_keys (id, algorithm, public_key) VALUES ($1, 'Ed25519', $2) ON CONFLICT (id) DO NOTHING`,
      [this.signingKeyId, this.publicKeyPem],
    );
  }

  /**
   * Signs and stores a certificate, with its audit entry, in the caller's transaction. One
   * certificate per (run, customer): issuing again for the same pair returns the existing one.
   */
  async issue(em: EntityManager, actor: Actor, content: CertificateContent): Promise<DeletionCertificate> {
    const runId = content.source.kind === 'purge_run' ? content.source.runId : null;
    if (runId) {
      const existing = await em.findOneBy(DeletionCertificate, { runId, customerId: content.customerId });
      if (existing) return existing;
    }
    const id = randomUUID();
    const issuedAt = this.clock.now();
    const statement = canonicalize({
      type: 'custodian.deletion-certificate',
      version: 1,
      certificateId: id,
      customerId: content.customerId,
      issuedAt: issuedAt.toISOString(),
      source: content.source,
      method: content.method,
      destroyedAt: content.destroyedAt.toISOString(),
      destroyed: content.destroyed,
      retainedUnderHold: content.retainedUnderHold ?? 0,
      signingKeyId: this.signingKeyId,
    });
    const certificate = await em.save(em.create(DeletionCertificate, {
      id,
      customerId: content.customerId,
      runId,
      requestId: content.source.kind === 'erasure_request' ? content.source.requestId : null,
      issuedAt,
      statement,
      signature: sign(null, Buffer.from(statement, 'utf8'), this.privateKey).toString('base64'),
      signingKeyId: this.signingKeyId,
    }));
    await this.audit.record(em, actor, {
      action: 'certificate.issued', subjectType: 'DeletionCertificate', subjectId: id,
      changes: {
        customerId: content.customerId, source: content.source, method: content.method,
        messageCounts: messageCountsOf(content.destroyed),
      },
    });
    return certificate;
  }
}

export function signingKeyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}
