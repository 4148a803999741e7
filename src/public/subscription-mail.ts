import { esc, htmlFrame, MailTemplate } from '../notifications/mail-template';
import type { PublicChange } from './subscribers.service';
import { humanDate } from './public-format';

interface Links {
  pageUrl: string;
  unsubscribeUrl: string;
}

export interface ConfirmMailData extends Links {
  confirmUrl: string;
}

export interface ChangeMailData extends Links {
  change: PublicChange;
}

const unsubscribeText = (url: string) => `To stop these e-mails and delete your address, open:\n${url}\n`;
const unsubscribeHtml = (url: string) => `<p style="color:#555;font-size:.9em">To stop these e-mails and delete your address, <a href="${esc(url)}">unsubscribe</a>.</p>`;

/** Double opt-in: nothing else is sent until this link is followed. */
export const subscriptionConfirmMail: MailTemplate<ConfirmMailData> = {
  name: 'subscription-confirm',
  subject: () => 'Confirm your subscription to sub-processor changes',
  text: (d) =>
    `Someone, hopefully you, asked to be e-mailed when our list of sub-processors changes.\n\n` +
    `To confirm, open:\n${d.confirmUrl}\n\nIf it was not you, ignore this mail: nothing more will be sent.\n\n` +
    `The list: ${d.pageUrl}\n\n${unsubscribeText(d.unsubscribeUrl)}`,
  html: (d) => htmlFrame('Confirm your subscription',
    `<h1>Confirm your subscription</h1>` +
    `<p>Someone, hopefully you, asked to be e-mailed when our list of sub-processors changes.</p>` +
    `<p><a href="${esc(d.confirmUrl)}">Confirm the subscription</a></p>` +
    `<p>If it was not you, ignore this mail: nothing more will be sent.</p>` +
    `<p><a href="${esc(d.pageUrl)}">See the sub-processors</a></p>${unsubscribeHtml(d.unsubscribeUrl)}`),
};

/** One per change notice, to each confirmed subscriber (each mail carries its own unsubscribe link). */
export const subprocessorChangeMail: MailTemplate<ChangeMailData> = {
  name: 'subprocessor-change-public',
  subject: (d) => (d.change.kind === 'new_subprocessor' ? `New sub-processor: ${d.change.subprocessorName}` : `Sub-processor change: ${d.change.subprocessorName}`),
  text: (d) =>
    `${d.change.summary}\n\nEffective: ${humanDate(d.change.effectiveAt)}\n\nThe list of sub-processors: ${d.pageUrl}\n\n${unsubscribeText(d.unsubscribeUrl)}`,
  html: (d) => htmlFrame('Sub-processor change',
    `<h1>${esc(d.change.kind === 'new_subprocessor' ? 'New sub-processor' : 'Sub-processor change')}: ${esc(d.change.subprocessorName)}</h1>` +
    `<p>${esc(d.change.summary)}</p><p>Effective: ${esc(humanDate(d.change.effectiveAt))}</p>` +
    `<p><a href="${esc(d.pageUrl)}">See the sub-processors</a></p>${unsubscribeHtml(d.unsubscribeUrl)}`),
};
