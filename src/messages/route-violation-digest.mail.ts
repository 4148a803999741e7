import { esc, htmlFrame, MailTemplate } from '../notifications/mail-template';
import type { ViolationReason } from './route-violation.entity';

export interface RouteViolationDigestMail {
  total: number;
  /** Detected from … to (ISO), the span of the violations in this digest. */
  firstDetectedAt: string;
  lastDetectedAt: string;
  rows: { customer: string; subprocessor: string; reason: ViolationReason; count: number }[];
  link: string;
}

const REASONS: Record<ViolationReason, string> = {
  unknown_subprocessor: 'not a sub-processor in the registry',
  no_dpa: 'no DPA in force for the customer',
  not_authorised: 'not authorised for the customer (not active, or not carrying its traffic)',
  objection: 'the customer objected to it',
  approval_required: 'the customer had not approved it (specific authorisation)',
  transfer_not_allowed: 'its transfer mechanism is not one the customer\'s DPA allows',
};

const intro = (d: RouteViolationDigestMail) =>
  `${d.total} message route hop${d.total === 1 ? '' : 's'} went through sub-processors the customer had not authorised (grey routes), detected between ${d.firstDetectedAt} and ${d.lastDetectedAt}.`;

/** To the DPO users, at most once per run of the daily job, only while there are violations not yet reported. */
export const routeViolationDigestMail: MailTemplate<RouteViolationDigestMail> = {
  name: 'route-violation-digest',
  subject: () => 'Route violations: daily digest',
  text: (d) => [
    intro(d),
    '',
    ...d.rows.map((r) => `- ${r.customer} / ${r.subprocessor} / ${r.reason}: ${r.count}`),
    '',
    `Reasons: ${Object.entries(REASONS).map(([k, v]) => `${k} = ${v}`).join('; ')}.`,
    '',
    `Details (messages, hops, times): ${d.link}`,
  ].join('\n'),
  html: (d) => htmlFrame('Route violations: daily digest',
    `<h1>Route violations</h1><p>${esc(intro(d))}</p>` +
    '<table><thead><tr><th scope="col">Customer</th><th scope="col">Sub-processor</th><th scope="col">Reason</th><th scope="col">Hops</th></tr></thead><tbody>' +
    d.rows.map((r) => `<tr><td>${esc(r.customer)}</td><td>${esc(r.subprocessor)}</td><td title="${esc(REASONS[r.reason])}">${esc(r.reason)}</td><td>${r.count}</td></tr>`).join('') +
    `</tbody></table><p>Details: <a href="${esc(d.link)}">${esc(d.link)}</a></p>`),
};
