import { Global, Module } from '@nestjs/common';
import { MailService } from './mail.service';
import { NotificationsController } from './notifications.controller';
import { QueueService } from './queue.service';

@Global()
@Module({
  controllers: [NotificationsController],
  exports: [MailService, QueueService],
  providers: [MailService, QueueService],
})
export class NotificationsModule {}
