import { Module } from '@nestjs/common';
import { DpasModule } from '../dpas/dpas.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { OperationsMetrics } from './operations-metrics';

@Module({
  controllers: [MetricsController],
  exports: [MetricsService],
  imports: [DpasModule],
  providers: [MetricsService, OperationsMetrics],
})
export class MetricsModule {}
