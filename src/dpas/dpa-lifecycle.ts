import type { DpaStatus } from './dpa.entity';

/**
 * The DPA lifecycle: draft → in_review → signed → active → expired | terminated. Review can send
 * a draft back; an agreement that never came into force can be abandoned (terminated) at any
 * step before it is active; expired and terminated are final.
 */
export const DPA_TRANSITIONS: Record<DpaStatus, readonly DpaStatus[]> = {
  draft: ['in_review', 'terminated'],
  in_review: ['draft', 'signed', 'terminated'],
  signed: ['active', 'terminated'],
  active: ['expired', 'terminated'],
  expired: [],
  terminated: [],
};

/** Terms (and the document) may change only before anybody has signed. */
export const EDITABLE_STATUSES: readonly DpaStatus[] = ['draft', 'in_review'];

export const canTransition = (from: DpaStatus, to: DpaStatus): boolean => DPA_TRANSITIONS[from].includes(to);
