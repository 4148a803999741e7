import { Module } from '@nestjs/common';
import { CustomersModule } from '../customers/customers.module';
import { DpasModule } from '../dpas/dpas.module';
import { MessagesModule } from '../messages/messages.module';
import { CertificatesController } from './certificates.controller';
import { CertificatesService } from './certificates.service';
import { DeletionCertificatesService } from './deletion-certificates.service';
import { LegalHoldsController } from './legal-holds.controller';
import { LegalHoldsService } from './legal-holds.service';
import { RetentionPoliciesController } from './retention-policies.controller';
import { RetentionPoliciesService } from './retention-policies.service';
import { RetentionPreviewController } from './retention-preview.controller';
import { RetentionPreviewService } from './retention-preview.service';

@Module({
  controllers: [CertificatesController, LegalHoldsController, RetentionPoliciesController, RetentionPreviewController],
  exports: [CertificatesService, LegalHoldsService],
  imports: [CustomersModule, DpasModule, MessagesModule],
  providers: [CertificatesService, DeletionCertificatesService, LegalHoldsService, RetentionPoliciesService, RetentionPreviewService],
})
export class RetentionModule {}
