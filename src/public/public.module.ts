import { Module } from '@nestjs/common';
import { SubscribersService } from './subscribers.service';

@Module({
  exports: [SubscribersService],
  providers: [SubscribersService],
})
export class PublicModule {}
