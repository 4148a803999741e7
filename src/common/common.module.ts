import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DATABASE_URL } from '../database/database.tokens';
import { Clock } from './clock';
import { NoBodyInterceptor } from './no-body.interceptor';
import { ProblemFilter } from './problem.filter';

/** Configuration, the database URL, the clock, the error filter and the no-body rule, available to every module. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      exports: [APP_CONFIG, Clock, DATABASE_URL],
      module: CommonModule,
      providers: [
        { provide: APP_CONFIG, useValue: config }, { provide: DATABASE_URL, useValue: databaseUrl }, { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_INTERCEPTOR, useClass: NoBodyInterceptor }, Clock,
      ],
    };
  }
}
