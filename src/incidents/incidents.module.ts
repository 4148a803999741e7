import { Module } from '@nestjs/common';
import { RetentionModule } from '../retention/retention.module';
import { IncidentsController } from './incidents.controller';
import { IncidentsService } from './incidents.service';

@Module({
  controllers: [IncidentsController],
  exports: [IncidentsService],
  imports: [RetentionModule],
  providers: [IncidentsService],
})
export class IncidentsModule {}
