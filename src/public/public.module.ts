import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { urlencoded } from 'express';
import { PublicController } from './public.controller';
import { PublicRegistryService } from './public-registry.service';
import { SubscribersService } from './subscribers.service';
import { SubscribersController, SubscriptionsController } from './subscriptions.controller';

@Module({
  controllers: [PublicController, SubscribersController, SubscriptionsController],
  exports: [SubscribersService],
  providers: [PublicRegistryService, SubscribersService],
})
export class PublicModule implements NestModule {
  /** HTML forms post application/x-www-form-urlencoded; only these routes accept it. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }))
      .forRoutes({ path: 'public/subscriptions', method: RequestMethod.POST }, { path: 'public/subscriptions/:id/unsubscribe', method: RequestMethod.POST });
  }
}
