import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

/** What the public may know of a sub-processor change: public fields only. */
export interface PublicChange {
  noticeId: string;
  subprocessorName: string;
  kind: 'new_subprocessor' | 'material_change';
  summary: string;
  effectiveAt: Date;
}

@Injectable()
export class SubscribersService {
  /** Mails every confirmed subscriber about a change, in the caller's transaction. */
  async notifyChange(_em: EntityManager, _change: PublicChange): Promise<number> {
    throw new Error('not implemented yet');
  }
}
