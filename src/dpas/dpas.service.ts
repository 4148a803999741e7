import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Customer } from '../customers/customer.entity';
import { Dpa } from './dpa.entity';

export interface ActiveAgreement {
  customer: Customer;
  dpa: Dpa;
}

@Injectable()
export class DpasService {
  /**
   * The DPA in force for each customer at a moment: activated at or before it and not ended by
   * then. Other modules obey these terms (objection windows, authorisation type, breach hours).
   */
  async activeAgreements(em: EntityManager, at: Date, customerId?: string): Promise<ActiveAgreement[]> {
    const qb = em.getRepository(Dpa).createQueryBuilder('d')
      .innerJoinAndSelect('d.customer', 'c')
      .where('d.activatedAt <= :at', { at })
      .andWhere('(d.endedAt IS NULL OR d.endedAt > :at)', { at });
    if (customerId) qb.andWhere('d.customerId = :customerId', { customerId });
    const rows = await qb.orderBy('c.legalName', 'ASC').getMany();
    return rows.map(({ customer, ...dpa }) => ({ customer: customer!, dpa: Object.assign(new Dpa(), dpa) }));
  }
}
