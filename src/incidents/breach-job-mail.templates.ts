import { esc, htmlFrame, MailTemplate } from '../notifications/mail-template';
import { incidentRef } from './breach-mail.templates';
import type { Escalation } from './deadlines';

/** "3 h 05 min", rounded down to the minute: a reader never sees more time than there is. */
export function duration(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  const days = Math.floor(minutes / 1440);
  const rest = `${Math.floor((minutes % 1440) / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
  return days ? `${days} d ${rest}` : rest;
}

/** Where the window stands in words, shared by the mail and the timeline entry. */
export function escalationSentence(escalation: Escalation, customerName: string): string {
  return escalation === 'overdue'
    ? `The notification deadline for ${customerName} passed without the notification being sent`
    : `${escalation}% of the notification window for ${customerName} passed without the notification being sent`;
}

export interface DeadlineEscalationMail {
  escalation: Escalation;
  incidentId: string;
  incidentTitle: string;
  customerName: string;
  deadline: Date;
  /** formatDeadline(deadline, 'Etc/UTC'). */
  deadlineText: string;
  timeLeftMs: number;
  /** Where the customer's initial notification stands, in words. */
  notificationState: string;
  clockLink: string;
}

const escalationSubject = (d: DeadlineEscalationMail) => d.escalation === 'overdue'
  ? `Breach notification deadline OVERDUE (incident ${incidentRef(d.incidentId)})`
  : `Breach notification deadline: ${d.escalation}% of the window gone (incident ${incidentRef(d.incidentId)})`;

const timeLeft = (ms: number) => (ms >= 0 ? duration(ms) : `none, overdue by ${duration(ms)}`);

/** To every DPO and security user, once per customer and escalation. The subject names neither customer nor incident title. */
export const deadlineEscalationMail: MailTemplate<DeadlineEscalationMail> = {
  name: 'breach-deadline-escalation',
  subject: escalationSubject,
  text: (d) => [
    `${escalationSentence(d.escalation, d.customerName)}.`,
    '',
    `Incident: ${d.incidentTitle} (${d.incidentId})`,
    `Customer: ${d.customerName}`,
    `Deadline: ${d.deadlineText} (${d.deadline.toISOString()})`,
    `Time left: ${timeLeft(d.timeLeftMs)}`,
    `Notification: ${d.notificationState}`,
    '',
    `Every affected customer's deadline: ${d.clockLink}`,
  ].join('\n'),
  html: (d) => htmlFrame(escalationSubject(d),
    `<p><strong>${esc(escalationSentence(d.escalation, d.customerName))}.</strong></p>` +
    '<dl>' +
    `<dt>Incident</dt><dd>${esc(d.incidentTitle)} (${esc(d.incidentId)})</dd>` +
    `<dt>Customer</dt><dd>${esc(d.customerName)}</dd>` +
    `<dt>Deadline</dt><dd><time datetime="${esc(d.deadline.toISOString())}">${esc(d.deadlineText)}</time></dd>` +
    `<dt>Time left</dt><dd>${esc(timeLeft(d.timeLeftMs))}</dd>` +
    `<dt>Notification</dt><dd>${esc(d.notificationState)}</dd>` +
    '</dl>' +
    `<p><a href="${esc(d.clockLink)}">Every affected customer's deadline</a></p>`),
};

export interface DeliveryFailedMail {
  incidentId: string;
  incidentTitle: string;
  customerName: string;
  notificationId: string;
  kind: 'initial' | 'follow_up';
  /** The SMTP server's answer, addresses already removed by the mail service. */
  lastError: string | null;
  notificationLink: string;
}

const kindText = (kind: DeliveryFailedMail['kind']) => (kind === 'initial' ? 'breach notification' : 'follow-up to a breach notification');

const failedSubject = (d: DeliveryFailedMail) => `Breach notification delivery FAILED (incident ${incidentRef(d.incidentId)})`;

/** To every DPO and security user, once per failed mail: the customer has not been told. */
export const deliveryFailedMail: MailTemplate<DeliveryFailedMail> = {
  name: 'breach-notification-delivery-failed',
  subject: failedSubject,
  text: (d) => [
    `The ${kindText(d.kind)} to ${d.customerName} could not be delivered: the mail server refused it for good. The customer has not been told.`,
    '',
    `Incident: ${d.incidentTitle} (${d.incidentId})`,
    `Customer: ${d.customerName}`,
    `Server answer: ${d.lastError ?? 'none recorded'}`,
    '',
    'Check the customer\'s breach-notification addresses and reach the customer another way if the deadline is near.',
    '',
    `The notification: ${d.notificationLink}`,
  ].join('\n'),
  html: (d) => htmlFrame(failedSubject(d),
    `<p><strong>The ${esc(kindText(d.kind))} to ${esc(d.customerName)} could not be delivered</strong>: the mail server refused it for good. The customer has not been told.</p>` +
    '<dl>' +
    `<dt>Incident</dt><dd>${esc(d.incidentTitle)} (${esc(d.incidentId)})</dd>` +
    `<dt>Customer</dt><dd>${esc(d.customerName)}</dd>` +
    `<dt>Server answer</dt><dd>${esc(d.lastError ?? 'none recorded')}</dd>` +
    '</dl>' +
    '<p>Check the customer\'s breach-notification addresses and reach the customer another way if the deadline is near.</p>' +
    `<p><a href="${esc(d.notificationLink)}">Open the notification</a></p>`),
};

export interface AcknowledgementReminderMail {
  incidentId: string;
  notificationId: string;
  customerName: string;
  kind: 'initial' | 'follow_up';
  sentAt: Date;
  /** The subject of the notification's own mail, so it can be found in the mailbox. */
  originalSubject: string;
  reminder: number;
  maxReminders: number;
  link: { url: string; expiresAt: Date };
  apiUrl: string;
  dpoContact: string;
}

const reminderSubject = (d: AcknowledgementReminderMail) => `Reminder: please acknowledge the breach notification (incident ${incidentRef(d.incidentId)})`;

/** To the customer's breach-notification addresses the notification went to, and nobody else. */
export const acknowledgementReminderMail: MailTemplate<AcknowledgementReminderMail> = {
  name: 'breach-acknowledgement-reminder',
  subject: reminderSubject,
  text: (d) => [
    `On ${d.sentAt.toISOString()} we sent ${d.customerName} a ${kindText(d.kind)} ("${d.originalSubject}"). We have not had your acknowledgement yet.`,
    '',
    `Please confirm that you received it with this link (it works once, until ${d.link.expiresAt.toISOString()}):`,
    d.link.url,
    '',
    `Signed-in users of your organisation can also acknowledge it with POST ${d.apiUrl}.`,
    '',
    `This is reminder ${d.reminder} of at most ${d.maxReminders}. Questions about the breach: ${d.dpoContact}.`,
    `Notification ${d.notificationId}`,
  ].join('\n'),
  html: (d) => htmlFrame(reminderSubject(d),
    `<p>On <time datetime="${esc(d.sentAt.toISOString())}">${esc(d.sentAt.toISOString())}</time> we sent ${esc(d.customerName)} a ${esc(kindText(d.kind))} ` +
    `(&ldquo;${esc(d.originalSubject)}&rdquo;). We have not had your acknowledgement yet.</p>` +
    `<p><a href="${esc(d.link.url)}">Acknowledge receipt</a> (the link works once, until <time datetime="${esc(d.link.expiresAt.toISOString())}">${esc(d.link.expiresAt.toISOString())}</time>).</p>` +
    `<p>Signed-in users of your organisation can also acknowledge it with <code>POST ${esc(d.apiUrl)}</code>.</p>` +
    `<p>This is reminder ${esc(d.reminder)} of at most ${esc(d.maxReminders)}. Questions about the breach: ${esc(d.dpoContact)}.</p>` +
    `<p>Notification ${esc(d.notificationId)}</p>`),
};
