import { Module } from '@nestjs/common';
import { KeyRing } from './key-ring';
import { MessageStore } from './message-store';

@Module({
  controllers: [],
  exports: [KeyRing, MessageStore],
  imports: [],
  providers: [KeyRing, MessageStore],
})
export class MessagesModule {}
