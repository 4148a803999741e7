import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { PublicModule } from '../public/public.module';
import { ChangeNoticesController } from './change-notices.controller';
import { ChangeNoticesService } from './change-notices.service';
import { ObjectionsController } from './objections.controller';
import { ObjectionsService } from './objections.service';

/** Art. 28(2) notices, objections and approvals. The sub-processor module announces and applies changes through it. */
@Module({
  controllers: [ChangeNoticesController, ObjectionsController],
  exports: [ChangeNoticesService],
  imports: [AccessModule, PublicModule],
  providers: [ChangeNoticesService, ObjectionsService],
})
export class ChangeNoticesModule {}
