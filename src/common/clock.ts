import { Injectable } from '@nestjs/common';

/** The one source of time, so deadlines and schedules can be tested without waiting. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
