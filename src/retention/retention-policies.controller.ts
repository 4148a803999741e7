import { Body, Controller, Delete, Get, Param, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import {
  CategoryParams, CustomerCategoryParams, CustomerRetentionResponse, RetentionDaysDto, RetentionPolicyPage, RetentionPolicyQuery,
  RetentionPolicyResponse,
} from './dto/retention-policy.dto';
import { RetentionPoliciesService } from './retention-policies.service';

@ApiTags('retention')
@ApiBearerAuth()
@Controller()
export class RetentionPoliciesController {
  constructor(private readonly policies: RetentionPoliciesService) {}

  /** The default policy and every customer's own; customer users see their own only. */
  @Get('retention/policies')
  @CheckAbility('read', 'RetentionPolicy')
  list(@CurrentActor() actor: Actor, @Query() query: RetentionPolicyQuery): Promise<RetentionPolicyPage> {
    return this.policies.list(actor, query);
  }

  /** Sets the default for one category (at least RETENTION_MIN_DAYS; delivery_metadata never shorter than msisdn and body). */
  @Put('retention/policies/default/:category')
  @CheckAbility('update', 'RetentionPolicy')
  setDefault(@CurrentActor() actor: Actor, @Param() params: CategoryParams, @Body() dto: RetentionDaysDto): Promise<RetentionPolicyResponse> {
    return this.policies.setDefault(actor, params.category, dto.days);
  }

  /** The customer's effective retention per category and where each number comes from. */
  @Get('customers/:customerId/retention')
  @CheckAbility('read', 'RetentionPolicy')
  effective(@CurrentActor() actor: Actor, @Param('customerId') customerId: string): Promise<CustomerRetentionResponse> {
    return this.policies.effective(actor, customerId);
  }

  /** Sets the customer's own policy for one category, within the platform minimum and the active DPA's maximum. */
  @Put('customers/:customerId/retention/:category')
  @CheckAbility('update', 'RetentionPolicy')
  set(@CurrentActor() actor: Actor, @Param() params: CustomerCategoryParams, @Body() dto: RetentionDaysDto): Promise<CustomerRetentionResponse> {
    return this.policies.setForCustomer(actor, params.customerId, params.category, dto.days);
  }

  /** Removes the customer's own policy for one category: the default applies again. */
  @Delete('customers/:customerId/retention/:category')
  @CheckAbility('delete', 'RetentionPolicy')
  remove(@CurrentActor() actor: Actor, @Param() params: CustomerCategoryParams): Promise<CustomerRetentionResponse> {
    return this.policies.removeForCustomer(actor, params.customerId, params.category);
  }
}
