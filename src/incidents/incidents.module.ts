import { Module } from '@nestjs/common';
import { CustomersModule } from '../customers/customers.module';
import { DpasModule } from '../dpas/dpas.module';
import { RetentionModule } from '../retention/retention.module';
import { IncidentsController } from './incidents.controller';
import { IncidentsService } from './incidents.service';

@Module({
  controllers: [IncidentsController],
  exports: [IncidentsService],
  imports: [CustomersModule, DpasModule, RetentionModule],
  providers: [IncidentsService],
})
export class IncidentsModule {}
