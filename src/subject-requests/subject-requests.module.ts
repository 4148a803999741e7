import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { RetentionModule } from '../retention/retention.module';

@Module({
  controllers: [],
  exports: [],
  imports: [MessagesModule, RetentionModule],
  providers: [],
})
export class SubjectRequestsModule {}
