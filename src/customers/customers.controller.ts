import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { CustomersService } from './customers.service';
import { CreateCustomerDto, CustomerPage, CustomerQuery, CustomerResponse, UpdateCustomerDto } from './dto/customer.dto';

@ApiTags('customers')
@ApiBearerAuth()
@Controller('customers')
export class CustomersController {
  constructor(private readonly customers: CustomersService) {}

  @Post()
  @CheckAbility('create', 'Customer')
  create(@CurrentActor() actor: Actor, @Body() dto: CreateCustomerDto): Promise<CustomerResponse> {
    return this.customers.create(actor, dto);
  }

  /** Customer users see exactly one: their own. */
  @Get()
  @CheckAbility('read', 'Customer')
  list(@CurrentActor() actor: Actor, @Query() query: CustomerQuery): Promise<CustomerPage> {
    return this.customers.list(actor, query);
  }

  @Get(':id')
  @CheckAbility('read', 'Customer')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<CustomerResponse> {
    return this.customers.get(actor, id);
  }

  @Patch(':id')
  @CheckAbility('update', 'Customer')
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: UpdateCustomerDto): Promise<CustomerResponse> {
    return this.customers.update(actor, id, dto);
  }
}
