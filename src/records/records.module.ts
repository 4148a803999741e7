import { Module } from '@nestjs/common';
import { DpasModule } from '../dpas/dpas.module';
import { SubprocessorsModule } from '../subprocessors/subprocessors.module';
import { RecordsController } from './records.controller';
import { RecordsService } from './records.service';

@Module({
  controllers: [RecordsController],
  imports: [DpasModule, SubprocessorsModule],
  providers: [RecordsService],
})
export class RecordsModule {}
