import { esc, htmlFrame, MailTemplate } from '../notifications/mail-template';
import type { ChangeNoticeKind } from './change-notice.entity';

export interface ChangeNoticeMail {
  noticeId: string;
  kind: ChangeNoticeKind;
  legalEntity: string;
  parentCompany: string | null;
  country: string;
  role: string;
  services: string[];
  purpose: string;
  dataCategories: string[];
  transferMechanism: string;
  /** For a material change: what changes, field by field. */
  changes: { field: string; from: unknown; to: unknown }[];
  reason: string;
  effectiveAt: Date;
  objectionDeadline: Date;
  approvalRequired: boolean;
  link: string;
}

const LABELS: Record<string, string> = {
  legalEntity: 'Legal entity', parentCompany: 'Parent company', country: 'Country', role: 'Role', services: 'Services',
  purpose: 'Purpose', dataCategories: 'Data categories', carriesCountries: 'Countries carried', global: 'Global',
  transferMechanism: 'Transfer mechanism', status: 'Status',
};
const show = (v: unknown) => (v === null || v === undefined || v === '' ? '(none)' : Array.isArray(v) ? v.join(', ') || '(none)' : String(v));
const day = (d: Date) => d.toISOString();

function facts(d: ChangeNoticeMail): [string, string][] {
  return [
    ['Sub-processor', d.parentCompany ? `${d.legalEntity} (part of ${d.parentCompany})` : d.legalEntity],
    ['Role and services', `${d.role}: ${d.services.join(', ')}`],
    ['Purpose', d.purpose],
    ['Where', `${d.country} (transfer mechanism: ${d.transferMechanism})`],
    ['Data categories', d.dataCategories.join(', ')],
    ['Why', d.reason],
    ['Takes effect', day(d.effectiveAt)],
    ['You may object until', day(d.objectionDeadline)],
  ];
}

function intro(d: ChangeNoticeMail): string {
  return d.kind === 'new_subprocessor'
    ? 'We intend to engage a new sub-processor that will process personal data in the messages we handle for you (GDPR Art. 28(2)).'
    : 'We intend to make a material change to a sub-processor that processes personal data in the messages we handle for you (GDPR Art. 28(2)).';
}

function howTo(d: ChangeNoticeMail): string {
  const approval = d.approvalRequired
    ? 'Your agreement requires your specific authorisation: this sub-processor will not process your data until you approve it (POST .../approvals at the address below).'
    : 'Under your general authorisation the change applies on the date above unless you object.';
  return `${approval} To review the notice, or object with your reasons before the deadline, use ${d.link} (POST ${d.link}/objections with {"reason": "..."}).`;
}

/** The Art. 28(2) notice to one customer's contacts; the subject names nothing and nobody. */
export const changeNoticeMail: MailTemplate<ChangeNoticeMail> = {
  name: 'change-notice',
  subject: () => 'Sub-processor change notice',
  text: (d) => [
    intro(d), '',
    ...facts(d).map(([k, v]) => `${k}: ${v}`),
    ...(d.changes.length ? ['', 'What changes:', ...d.changes.map((c) => `- ${LABELS[c.field] ?? c.field}: ${show(c.from)} -> ${show(c.to)}`)] : []),
    '', howTo(d), '', `Notice reference: ${d.noticeId}`,
  ].join('\n'),
  html: (d) => htmlFrame('Sub-processor change notice', [
    `<h1>Sub-processor change notice</h1><p>${esc(intro(d))}</p>`,
    `<table>${facts(d).map(([k, v]) => `<tr><th scope="row" style="text-align:left;padding-right:1em">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`,
    d.changes.length ? `<h2>What changes</h2><ul>${d.changes.map((c) => `<li>${esc(LABELS[c.field] ?? c.field)}: ${esc(show(c.from))} &rarr; ${esc(show(c.to))}</li>`).join('')}</ul>` : '',
    `<p>${esc(howTo(d))}</p><p><a href="${esc(d.link)}">Review or object to this notice</a></p>`,
    `<p>Notice reference: ${esc(d.noticeId)}</p>`,
  ].join('')),
};

export interface ApprovalEnrolmentMail {
  /** The sub-processors already in service that now await this customer's approval, one notice each. */
  items: { noticeId: string; legalEntity: string; country: string; role: string; services: string[]; transferMechanism: string; link: string }[];
}

const enrolmentIntro = 'Your agreement requires your specific authorisation of each sub-processor (GDPR Art. 28(2)). '
  + 'The sub-processors below were already in service when your agreement came into force; none of them will process personal data '
  + 'in the messages we handle for you until you approve it (POST .../approvals at its address).';

/** To a customer whose specific-authorisation DPA started after these sub-processors: one mail listing them; the subject names nothing and nobody. */
export const approvalEnrolmentMail: MailTemplate<ApprovalEnrolmentMail> = {
  name: 'change-notice-approval-enrolment',
  subject: () => 'Sub-processors awaiting your approval',
  text: (d) => [
    enrolmentIntro, '',
    ...d.items.map((i) => `- ${i.legalEntity} (${i.country}, ${i.role}: ${i.services.join(', ')}; transfer mechanism: ${i.transferMechanism})\n  Notice reference: ${i.noticeId}\n  Approve: POST ${i.link}/approvals`),
  ].join('\n'),
  html: (d) => htmlFrame('Sub-processors awaiting your approval',
    `<h1>Sub-processors awaiting your approval</h1><p>${esc(enrolmentIntro)}</p><ul>` +
    d.items.map((i) => `<li>${esc(i.legalEntity)} (${esc(i.country)}, ${esc(i.role)}: ${esc(i.services.join(', '))}; transfer mechanism: ${esc(i.transferMechanism)})` +
      `<br>Notice reference: ${esc(i.noticeId)} &mdash; <a href="${esc(i.link)}">Review</a>, approve: POST <code>${esc(i.link)}/approvals</code></li>`).join('') + '</ul>'),
};

export interface WithdrawnNoticeMail {
  noticeId: string;
  legalEntity: string;
  reason: string;
  link: string;
}

export const changeNoticeWithdrawnMail: MailTemplate<WithdrawnNoticeMail> = {
  name: 'change-notice-withdrawn',
  subject: () => 'Sub-processor change notice withdrawn',
  text: (d) => `The change notice ${d.noticeId} about ${d.legalEntity} has been withdrawn: the change will not take effect.\n\nWhy: ${d.reason}\n\nDetails: ${d.link}`,
  html: (d) => htmlFrame('Sub-processor change notice withdrawn',
    `<h1>Change notice withdrawn</h1><p>The change notice ${esc(d.noticeId)} about ${esc(d.legalEntity)} has been withdrawn: the change will not take effect.</p>` +
    `<p>Why: ${esc(d.reason)}</p><p><a href="${esc(d.link)}">Details</a></p>`),
};

export interface ObjectionRaisedMail {
  noticeId: string;
  objectionId: string;
  legalEntity: string;
  customerName: string;
  reason: string;
  raisedAt: Date;
  link: string;
}

/** To the DPO users: an objection blocks the sub-processor for that customer until they resolve it. */
export const objectionRaisedMail: MailTemplate<ObjectionRaisedMail> = {
  name: 'objection-raised',
  subject: () => 'Objection to a sub-processor change',
  text: (d) => [
    `${d.customerName} objected on ${d.raisedAt.toISOString()} to change notice ${d.noticeId} about ${d.legalEntity}.`,
    `Until you resolve the objection (withdrawn, alternative route, DPA terminated), ${d.legalEntity} is not authorised for this customer's data.`,
    '', `Their reason: ${d.reason}`, '', `Resolve: POST ${d.link} with {"resolution": "...", "note": "..."}`,
  ].join('\n'),
  html: (d) => htmlFrame('Objection to a sub-processor change',
    `<h1>Objection to a sub-processor change</h1><p>${esc(d.customerName)} objected on ${esc(d.raisedAt.toISOString())} to change notice ${esc(d.noticeId)} about ${esc(d.legalEntity)}.</p>` +
    `<p>Until you resolve the objection (withdrawn, alternative route, DPA terminated), ${esc(d.legalEntity)} is not authorised for this customer's data.</p>` +
    `<p>Their reason: ${esc(d.reason)}</p><p>Resolve: POST <code>${esc(d.link)}</code></p>`),
};
