import { Module } from '@nestjs/common';
import { DpasService } from './dpas.service';

@Module({
  exports: [DpasService],
  providers: [DpasService],
})
export class DpasModule {}
