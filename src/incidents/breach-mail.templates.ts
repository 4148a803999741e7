import { esc, htmlFrame, MailTemplate } from '../notifications/mail-template';
import { type NotificationKind, type NotificationSections, SECTION_TITLES, sectionsOf } from './breach-notification.entity';

export interface BreachNotificationMail {
  kind: NotificationKind;
  notificationId: string;
  incidentId: string;
  customerName: string;
  sections: NotificationSections;
  /** For a follow-up: when the notification it updates was approved. */
  updatesNotificationOf: Date | null;
  ackUrl: string;
  ackExpiresAt: Date;
  apiBaseUrl: string;
}

/** The incident's short reference, the only thing about it a subject line carries. */
export const incidentRef = (incidentId: string) => incidentId.slice(0, 8);


/** The subject of a notification and of its mail: the kind and the incident's reference, nothing personal. */
export const notificationSubject = (d: Pick<BreachNotificationMail, 'kind' | 'incidentId'>) =>
  d.kind === 'initial'
    ? `Personal data breach notification (incident ${incidentRef(d.incidentId)})`
    : `Update to the personal data breach notification (incident ${incidentRef(d.incidentId)})`;

function intro(d: BreachNotificationMail): string {
  return d.kind === 'initial'
    ? `As your processor, we notify ${d.customerName} of a personal data breach affecting personal data we process on your behalf (GDPR Art. 33(2)). ` +
      'The facts Art. 33(3) asks for follow, as far as we know them now; we will send updates as we learn more (Art. 33(4)).'
    : `This updates our notification to ${d.customerName} of ${d.updatesNotificationOf!.toISOString()} about the personal data breach of incident ${incidentRef(d.incidentId)} (GDPR Art. 33(4)).`;
}

const ackText = (d: BreachNotificationMail) => [
  `Please acknowledge receipt with this link (valid until ${d.ackExpiresAt.toISOString()}): ${d.ackUrl}`,
  `or through the API: POST ${d.apiBaseUrl}/api/v1/breach-notifications/${d.notificationId}/acknowledgement`,
];

/**
 * A breach notification or follow-up to a customer's breach-notification addresses. The subject
 * names only the incident's reference; the body carries the Art. 33(3) facts as approved.
 */
export const breachNotificationMail: MailTemplate<BreachNotificationMail> = {
  name: 'breach-notification',
  subject: notificationSubject,
  text: (d) => [
    intro(d), '',
    ...sectionsOf(d.kind).filter((s) => d.sections[s]).flatMap((s) => [`${SECTION_TITLES[s]}:`, d.sections[s]!, '']),
    ...ackText(d), '',
    `Notification ${d.notificationId}`,
  ].join('\n'),
  html: (d) => htmlFrame(notificationSubject(d),
    `<p>${esc(intro(d))}</p>` +
    sectionsOf(d.kind).filter((s) => d.sections[s]).map((s) => `<h2>${esc(SECTION_TITLES[s])}</h2><p style="white-space:pre-wrap">${esc(d.sections[s])}</p>`).join('') +
    `<p><a href="${esc(d.ackUrl)}">Acknowledge receipt</a> (valid until <time datetime="${esc(d.ackExpiresAt.toISOString())}">${esc(d.ackExpiresAt.toISOString())}</time>)` +
    ` or through the API: <code>POST ${esc(d.apiBaseUrl)}/api/v1/breach-notifications/${esc(d.notificationId)}/acknowledgement</code></p>` +
    `<p style="color:#555">Notification ${esc(d.notificationId)}</p>`),
};
