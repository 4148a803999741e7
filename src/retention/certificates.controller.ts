import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor, Public } from '../access/access.decorators';
import { DeletionCertificatesService } from './deletion-certificates.service';
import { CertificatePage, CertificateQuery, CertificateResponse, CertificateVerification, SigningKeyResponse } from './dto/certificate.dto';

@ApiTags('retention')
@Controller('retention')
export class CertificatesController {
  constructor(private readonly certificates: DeletionCertificatesService) {}

  /** Newest first; customer users see their own customer's only. */
  @Get('certificates')
  @ApiBearerAuth()
  @CheckAbility('read', 'DeletionCertificate')
  list(@CurrentActor() actor: Actor, @Query() query: CertificateQuery): Promise<CertificatePage> {
    return this.certificates.list(actor, query);
  }

  /** The statement (parsed, and the exact signed text), its Ed25519 signature and the key that made it. */
  @Get('certificates/:id')
  @ApiBearerAuth()
  @CheckAbility('read', 'DeletionCertificate')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<CertificateResponse> {
    return this.certificates.get(actor, id);
  }

  /** Checks the signature against the published key it names, and that the statement is this certificate's. */
  @Get('certificates/:id/verify')
  @ApiBearerAuth()
  @CheckAbility('read', 'DeletionCertificate')
  verify(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<CertificateVerification> {
    return this.certificates.verify(actor, id);
  }

  /** Every public key that ever signed a certificate, so anyone can verify one offline. No login. */
  @Get('signing-keys')
  @Public()
  signingKeys(): Promise<SigningKeyResponse[]> {
    return this.certificates.signingKeys();
  }
}
