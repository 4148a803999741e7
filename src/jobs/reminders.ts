import type { EntityManager } from 'typeorm';
import type { UserRole } from '../access/ability';
import type { UsersService } from '../access/users.service';

export type ReminderOutcome = 'sent' | 'already-sent' | 'no-recipients';

/**
 * A reminder that must go out exactly once: the sent_reminders row and whatever `send` writes (the
 * mail, the audit entry) commit together in the caller's transaction. With nobody in the role to
 * tell, nothing is recorded, so the reminder goes out once somebody is.
 */
export async function sendReminderOnce(
  em: EntityManager,
  users: UsersService,
  reminder: { key: string; role: UserRole; now: Date },
  send: (recipients: string[]) => Promise<void>,
): Promise<ReminderOutcome> {
  const recipients = await users.emailsOfRole(em, reminder.role);
  if (recipients.length === 0) return 'no-recipients';
  if (!(await claimReminder(em, reminder.key, reminder.now))) return 'already-sent';
  await send(recipients);
  return 'sent';
}

/** True when this transaction is the first to record `key`: what it sends with it then goes out once. */
export async function claimReminder(em: EntityManager, key: string, at: Date): Promise<boolean> {
  const claimed = (await em.query('INSERT INTO sent_reminders (key, sent_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key', [key, at])) as unknown[];
  return claimed.length > 0;
}
