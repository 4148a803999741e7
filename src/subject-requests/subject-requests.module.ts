import { Module } from '@nestjs/common';
import { CustomersModule } from '../customers/customers.module';
import { MessagesModule } from '../messages/messages.module';
import { RetentionModule } from '../retention/retention.module';
import { SubjectErasure } from './subject-erasure';
import { SubjectRequestsController } from './subject-requests.controller';
import { SubjectRequestsService } from './subject-requests.service';

@Module({
  controllers: [SubjectRequestsController],
  exports: [],
  imports: [CustomersModule, MessagesModule, RetentionModule],
  providers: [SubjectErasure, SubjectRequestsService],
})
export class SubjectRequestsModule {}
