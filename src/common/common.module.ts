import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from './clock';
import { ProblemFilter } from './problem.filter';

/** Configuration, the clock and the error filter, available to every module. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      exports: [APP_CONFIG, Clock],
      module: CommonModule,
      providers: [{ provide: APP_CONFIG, useValue: config }, { provide: APP_FILTER, useClass: ProblemFilter }, Clock],
    };
  }
}
