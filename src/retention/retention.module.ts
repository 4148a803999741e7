import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { CertificatesService } from './certificates.service';

@Module({
  controllers: [],
  exports: [CertificatesService],
  imports: [MessagesModule],
  providers: [CertificatesService],
})
export class RetentionModule {}
