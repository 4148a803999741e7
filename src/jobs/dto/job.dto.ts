import { ApiProperty } from '@nestjs/swagger';
import { JOB_OUTCOMES } from '../job-run.entity';

export class JobRunResponse {
  id: string;
  job: string;
  @ApiProperty({ enum: ['schedule', 'manual'] })
  trigger: string;
  tick: string | null;
  startedAt: string;
  finishedAt: string | null;
  @ApiProperty({ enum: JOB_OUTCOMES })
  outcome: string;
  counts: Record<string, number>;
  error: string | null;
  instance: string;
}

export class JobResponse {
  name: string;
  schedule: string;
  description: string;
  lastRun: JobRunResponse | null;
  nextRunAt: string | null;
}
