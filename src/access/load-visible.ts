import { subject } from '@casl/ability';
import type { EntityManager, EntityTarget, FindOptionsWhere } from 'typeorm';
import { NotFoundError } from '../common/errors';
import { isUuid } from '../common/ids';
import type { Action, Actor, Subject } from './ability';

/**
 * Loads a row by id that the actor may act on, checked against the row itself. A row the actor may
 * not see answers exactly like a missing one (404), and an id that is not a UUID matches nothing.
 * `lock` holds the row until the transaction ends.
 */
export async function loadVisible<T extends { id: string }>(
  em: EntityManager,
  actor: Actor,
  action: Action,
  target: { entity: EntityTarget<T>; subject: Subject; name: string },
  id: string,
  lock = false,
): Promise<T> {
  const row = isUuid(id)
    ? await em.findOne(target.entity, { where: { id } as FindOptionsWhere<T>, lock: lock ? { mode: 'pessimistic_write' } : undefined })
    : null;
  if (!row || !actor.ability.can(action, subject(target.subject, { ...row }))) throw new NotFoundError(target.name);
  return row;
}
