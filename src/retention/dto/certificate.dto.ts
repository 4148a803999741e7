import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { IsTimestamp } from '../../common/validation';

export class CertificateQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  customerId?: string;

  @ApiPropertyOptional({ description: 'the purge run that issued it' })
  @IsOptional()
  @IsUUID()
  runId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'issued at or after (inclusive)' })
  @IsOptional()
  @IsTimestamp()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'issued before (exclusive)' })
  @IsOptional()
  @IsTimestamp()
  to?: string;
}

export class CertificateSummary {
  id: string;
  customerId: string;
  runId: string | null;
  /** The erasure request, for certificates of data-subject erasures. */
  requestId: string | null;
  issuedAt: string;
  /** From the signed statement (null if it cannot be read). */
  @ApiProperty({ enum: ['crypto_shredding', 'ciphertext_erasure'], nullable: true })
  method: string | null;
  destroyedAt: string | null;
  /** Messages per category whose value was destroyed (a phone number and a body of one message count once each in their own category). */
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: { type: 'integer' }, example: { msisdn: 120, body: 120, delivery_metadata: 0 } })
  messageCounts: Record<string, number> | null;
  retainedUnderHold: number | null;
  signingKeyId: string;
}

export class CertificatePage {
  @ApiProperty({ type: [CertificateSummary] })
  items: CertificateSummary[];
  nextCursor: string | null;
}

export class CertificateResponse {
  id: string;
  customerId: string;
  runId: string | null;
  requestId: string | null;
  issuedAt: string;
  /** The signed statement, parsed (null if it cannot be read). */
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  statement: Record<string, unknown> | null;
  /** The exact text that was signed (RFC 8785 canonical JSON): verify the signature over these UTF-8 bytes. */
  signedStatement: string;
  /** Ed25519 signature, base64. */
  signature: string;
  /** The published key (GET /api/v1/retention/signing-keys) that signed it. */
  signingKeyId: string;
}

export class CertificateVerification {
  valid: boolean;
  signingKeyId: string;
  reason?: string;
}

export class SigningKeyResponse {
  id: string;
  algorithm: string;
  /** SPKI, PEM. */
  publicKeyPem: string;
  firstUsedAt: string;
  /** Whether this instance signs new certificates with it. */
  current: boolean;
}
