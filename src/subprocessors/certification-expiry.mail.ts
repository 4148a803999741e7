import { esc, htmlFrame, MailTemplate } from '../notifications/mail-template';

export interface CertificationExpiryMail {
  legalEntity: string;
  certification: string;
  expiresAt: string;
  daysLeft: number;
  link: string;
}

const sentence = (d: CertificationExpiryMail) => d.daysLeft > 0
  ? `The ${d.certification} certification of sub-processor ${d.legalEntity} expires on ${d.expiresAt}, in ${d.daysLeft} days.`
  : `The ${d.certification} certification of sub-processor ${d.legalEntity} expired on ${d.expiresAt}.`;

/** To the DPO users, once per certification and expiry date. */
export const certificationExpiryMail: MailTemplate<CertificationExpiryMail> = {
  name: 'certification-expiry',
  subject: () => 'Sub-processor certification expiring',
  text: (d) => `${sentence(d)}\n\nAsk the sub-processor for the renewed certificate and record it (PATCH certifications): ${d.link}`,
  html: (d) => htmlFrame('Sub-processor certification expiring',
    `<h1>Certification expiring</h1><p>${esc(sentence(d))}</p><p>Ask the sub-processor for the renewed certificate and record it: <a href="${esc(d.link)}">${esc(d.link)}</a></p>`),
};
