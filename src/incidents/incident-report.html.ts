import { esc } from '../notifications/mail-template';
import { SECTION_TITLES, type SectionName, sectionsOf } from './breach-notification.entity';
import type {
  CustomerIncidentReportResponse, CustomerReportNotification, IncidentReport, IncidentReportResponse, ReportCustomer, ReportDeadline, ReportSeverity,
} from './dto/incident-report.dto';

/**
 * The report as one printable, self-contained HTML page: inline CSS (no script, no external
 * resource, so the strict CSP it is served with holds), every value escaped, times in ISO UTC as
 * stored. The same data as the JSON, laid out for a reader and for paper.
 */
export function renderReport(report: IncidentReport): string {
  const body = report.part === 'full' ? fullRecord(report) : customerPart(report);
  const heading = `Incident report: ${report.incident.title}`;
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    + `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(heading)}</title><style>${CSS}</style></head>`
    + `<body><header><h1>${esc(heading)}</h1><p class="meta">Incident ${esc(report.incident.id)} · ${esc(report.part === 'full' ? 'full record' : `the part concerning ${report.legalName ?? report.customerId}`)}`
    + ` · generated ${esc(report.generatedAt)} · all times UTC</p></header>${body}</body></html>`;
}

const CSS = [
  'body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:14px;line-height:1.45;color:#111;margin:2em auto;max-width:70em;padding:0 1em}',
  'h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.25em;border-bottom:2px solid #333;margin-top:2em;padding-bottom:.2em}h3{font-size:1.1em;margin-top:1.5em}h4{margin:1em 0 .3em}',
  '.meta{color:#555;margin:0}table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}',
  'th{background:#f0f0f0}table.facts th{width:14em}code{font-family:ui-monospace,monospace;font-size:.85em;white-space:nowrap}.hash{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}',
  '.text{white-space:pre-wrap;overflow-wrap:anywhere}.none{color:#777;font-style:italic}section.customer,section.notification{break-inside:avoid-page}',
  '@media print{body{margin:0;max-width:none;font-size:10.5pt}h2{break-after:avoid-page}tr,td,th{break-inside:avoid}th{background:#eee!important;-webkit-print-color-adjust:exact;print-color-adjust:exact}a{color:inherit;text-decoration:none}}',
].join('');

function fullRecord(r: IncidentReportResponse): string {
  const i = r.incident;
  const names = new Map(r.customers.map((c) => [c.customerId, c.legalName]));
  const customer = (customerId: string) => `${esc(names.get(customerId) ?? '')}<br>${id(customerId)}`;
  return section('Incident', facts([
    ['Title', esc(i.title)], ['Status', esc(i.status)], ['Nature', list(i.nature)], ['Data categories', list(i.dataCategories)],
    ['Detected', time(i.detectedAt)], ['Became aware', time(i.becameAwareAt)], ['Exposed window', `${time(i.windowFrom)} – ${time(i.windowTo)}`],
    ['Sub-processors', i.subprocessorIds.length ? i.subprocessorIds.map(id).join(', ') : none()],
    ['Internal systems', list(i.internalSystems)], ['Malicious intent suspected', i.maliciousIntent ? 'yes' : 'no'],
    ['Reported', `${time(i.reportedAt)} by ${i.reportedBy ? id(i.reportedBy) : none()}`], ['Last change', time(i.updatedAt)],
    ['Legal hold', i.legalHoldDeclinedReason === null ? 'not declined' : `declined: <span class="text">${esc(i.legalHoldDeclinedReason)}</span>`],
    ['Description', `<span class="text">${esc(i.description)}</span>`],
  ]))
    + section('Scope', table(['Customer', 'Source', 'Included', 'Reason', 'Messages', 'People', 'Readable categories', 'Destination countries', 'First – last message'],
      r.scope.customers.map((c) => [
        customer(c.customerId), esc(c.source), c.included ? 'yes' : 'no', c.reason === null ? none() : `<span class="text">${esc(c.reason)}</span>`,
        num(c.messageCount), num(c.distinctSubjects), list(c.readableCategories), list(c.destinationCountries), `${time(c.firstMessageAt)} – ${time(c.lastMessageAt)}`,
      ]))
      + `<p>Included customers: ${num(r.scope.totals.customers)}, messages: ${num(r.scope.totals.messageCount)}, people: ${num(r.scope.totals.distinctSubjects)}.</p>`)
    + section('Customers', r.customers.length ? r.customers.map(customerSection).join('') : `<p>${none('No affected customers.')}</p>`)
    + section('Timeline', table(['At', 'Entry', 'Details', 'By'], r.timeline.map((e) => [
      time(e.at), esc(e.kind.replace(/_/g, ' ')),
      [
        e.fromStatus || e.toStatus ? `${esc(e.fromStatus ?? '')} → ${esc(e.toStatus ?? '')}` : '', e.text === null ? '' : `<span class="text">${esc(e.text)}</span>`,
        e.customerId ? `customer: ${esc(names.get(e.customerId) ?? e.customerId)}` : '', e.notificationId ? `notification ${id(e.notificationId)}` : '',
      ].filter(Boolean).join('<br>'),
      e.actorId ? id(e.actorId) : none(),
    ])))
    + section('Evidence', table(['File', 'Type', 'Bytes', 'SHA-256', 'Uploaded', 'By'], r.evidence.map((e) => [
      esc(e.fileName), esc(e.contentType), num(e.size), `<span class="hash">${esc(e.sha256)}</span>`, time(e.uploadedAt),
      e.uploadedBy ? id(e.uploadedBy) : none(),
    ])));
}

function customerSection(c: ReportCustomer): string {
  const escalations = c.escalations.length
    ? table(['Escalation', 'At'], c.escalations.map((e) => [esc(e.escalation === 'overdue' ? 'overdue' : `${e.escalation}% of the window`), time(e.at)]))
    : `<p>${none('No escalations.')}</p>`;
  return `<section class="customer"><h3>${esc(c.legalName ?? 'Unknown customer')} ${id(c.customerId)}</h3>`
    + `<p>${c.included ? 'Included in the scope.' : 'Not included in the scope.'}</p>`
    + `<h4>Deadline</h4>${deadline(c.deadline)}<h4>Severity</h4>${severity(c.severity)}<h4>Escalations</h4>${escalations}`
    + `<h4>Notifications</h4>${notifications(c.notifications, true)}</section>`;
}

function customerPart(r: CustomerIncidentReportResponse): string {
  const i = r.incident;
  return section('Incident', facts([
    ['Title', esc(i.title)], ['Status', esc(i.status)], ['Nature', list(i.nature)], ['Data categories', list(i.dataCategories)],
    ['Detected', time(i.detectedAt)], ['Became aware', time(i.becameAwareAt)], ['Exposed window', `${time(i.windowFrom)} – ${time(i.windowTo)}`],
  ]))
    + section(`Your data (${r.legalName ?? r.customerId})`, r.scope
      ? facts([
        ['Messages', num(r.scope.messageCount)], ['People (distinct phone numbers)', num(r.scope.distinctSubjects)],
        ['Readable categories', list(r.scope.readableCategories)], ['Destination countries', list(r.scope.destinationCountries)],
      ])
      : `<p>${none('No longer counted as affected.')}</p>`)
    + section('Deadline', deadline(r.deadline))
    + section('Severity', severity(r.severity))
    + section('Notifications', notifications(r.notifications, false));
}

function deadline(d: ReportDeadline | null): string {
  if (!d) return `<p>${none('No deadline: not included in the scope.')}</p>`;
  const hours = (d.timeLeftMs / 3_600_000).toFixed(1);
  return facts([
    ['Notice period', `${num(d.breachNoticeHours)} hours (${d.hoursFrom === 'dpa' ? 'from the DPA' : 'default, no DPA term'})`], ['Deadline', time(d.deadline)],
    ['Status', esc(d.status)], ['Time left', `${esc(hours)} h${d.status === 'sent' || d.status === 'sent_late' ? ' (margin at sending)' : ''}`],
    ['Share of the window gone', `${esc(Math.round(d.elapsedFraction * 100))}%`],
  ]);
}

function severity(s: ReportSeverity | null): string {
  if (!s) return `<p>${none('Not assessed: not included in the scope.')}</p>`;
  const factor = (name: string, f: ReportSeverity['dpc']) => [esc(name), num(f.value), num(f.suggested), esc(f.basis), f.overrideReason === null ? '' : `<span class="text">${esc(f.overrideReason)}</span>`];
  return `<p><strong>${esc(s.level.replace('_', ' '))}</strong> (score ${esc(s.score)}, ENISA: DPC × EI + CB)</p>`
    + table(['Factor', 'Value', 'Suggested', 'Basis', 'Override reason'], [
      factor('Data processing context (DPC)', s.dpc), factor('Ease of identification (EI)', s.ei), factor('Circumstances of the breach (CB)', s.cb),
    ])
    + `<p class="text">${esc(s.explanation)}</p>`;
}

type AnyNotification = CustomerReportNotification & { authors?: string[]; approvedBy?: string | null };

function notifications(items: AnyNotification[], staff: boolean): string {
  if (!items.length) return `<p>${none('No notifications.')}</p>`;
  const rows = items.map((n) => [
    id(n.id), esc(n.kind === 'follow_up' ? 'follow-up' : n.kind), `${esc(n.status)}, ${esc(n.delivery)}`, time(n.approvedAt), time(n.sentAt),
    n.acknowledgedAt ? `${time(n.acknowledgedAt)}${n.acknowledgedVia ? ` (${esc(n.acknowledgedVia)})` : ''}` : none(), num(n.remindersSent),
  ]);
  const contents = items.map((n) => `<section class="notification"><h4>${esc(n.kind === 'follow_up' ? 'Follow-up' : 'Notification')} ${id(n.id)}: ${esc(n.subject)}</h4>`
    + (n.recipients.length ? `<p>To: ${esc(n.recipients.join(', '))}</p>` : '')
    + (staff ? `<p>Written by ${(n.authors ?? []).map(id).join(', ') || none()}; approved by ${n.approvedBy ? id(n.approvedBy) : none()}.</p>` : '')
    + facts(sectionsOf(n.kind === 'follow_up' ? 'follow_up' : 'initial').filter((name) => n.sections[name] !== undefined)
      .map((name: SectionName): [string, string] => [SECTION_TITLES[name], `<span class="text">${esc(n.sections[name])}</span>`]))
    + '</section>').join('');
  return table(['Notification', 'Kind', 'Status, delivery', 'Approved', 'Sent', 'Acknowledged', 'Reminders'], rows) + contents;
}

const section = (title: string, content: string) => `<section><h2>${esc(title)}</h2>${content}</section>`;
/** An id, kept on one line. */
const id = (value: string) => `<code>${esc(value)}</code>`;
const none = (text = '—') => `<span class="none">${esc(text)}</span>`;
const time = (iso: string | null) => (iso ? `<time datetime="${esc(iso)}">${esc(iso)}</time>` : none());
const num = (n: number) => esc(n);
const list = (values: readonly string[]) => (values.length ? esc(values.join(', ')) : none());

/** Rows of label and (already escaped) value. */
const facts = (rows: [string, string][]) =>
  `<table class="facts"><tbody>${rows.map(([label, value]) => `<tr><th scope="row">${esc(label)}</th><td>${value}</td></tr>`).join('')}</tbody></table>`;

/** A table of (already escaped) cells. */
function table(head: string[], rows: string[][]): string {
  if (!rows.length) return `<p>${none('None.')}</p>`;
  return `<table><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>`
    + `<tbody>${rows.map((cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}
