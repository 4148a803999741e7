import { esc, htmlFrame, MailTemplate } from '../notifications/mail-template';

export interface DpaExpiryReminder {
  threshold: number;
  daysLeft: number;
  customerName: string;
  version: number;
  expiresAt: Date;
  link: string;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** To legal, 60, 30 and 7 days before an active DPA expires. The subject names no customer. */
export const dpaExpiryReminder: MailTemplate<DpaExpiryReminder> = {
  name: 'dpa-expiry-reminder',
  subject: (d) => `DPA expiry: ${d.threshold} days`,
  text: (d) => [
    `The data processing agreement with ${d.customerName} (version ${d.version}) expires on ${day(d.expiresAt)}, in ${d.daysLeft} day${d.daysLeft === 1 ? '' : 's'}.`,
    '',
    'Without a renewed agreement in force, processing for this customer has no DPA behind it. Prepare the next version, have it signed and activate it before that date.',
    '',
    `The agreement: ${d.link}`,
  ].join('\n'),
  html: (d) => htmlFrame(`DPA expiry: ${d.threshold} days`,
    `<p>The data processing agreement with <strong>${esc(d.customerName)}</strong> (version ${esc(d.version)}) expires on ` +
    `<time datetime="${esc(d.expiresAt.toISOString())}">${esc(day(d.expiresAt))}</time>, in ${esc(d.daysLeft)} day${d.daysLeft === 1 ? '' : 's'}.</p>` +
    '<p>Without a renewed agreement in force, processing for this customer has no DPA behind it. Prepare the next version, have it signed and activate it before that date.</p>' +
    `<p><a href="${esc(d.link)}">Open the agreement</a></p>`),
};
