import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DATABASE_URL } from '../database/database.tokens';
import { Clock } from './clock';
import { ProblemFilter } from './problem.filter';
import { ReadCache } from './read-cache';

/** Configuration, the database URL, the clock, the read cache and the error filter, available to every module. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      exports: [APP_CONFIG, Clock, DATABASE_URL, ReadCache],
      module: CommonModule,
      providers: [
        { provide: APP_CONFIG, useValue: config }, { provide: DATABASE_URL, useValue: databaseUrl }, { provide: APP_FILTER, useClass: ProblemFilter },
        Clock, ReadCache,
      ],
    };
  }
}
