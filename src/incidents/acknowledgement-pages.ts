import { esc } from '../notifications/mail-template';
import type { BreachNotification } from './breach-notification.entity';
import { incidentRef } from './breach-mail.templates';

export type AcknowledgementOutcome = 'prompt' | 'done' | 'used' | 'expired' | 'invalid';

/** The answer to a one-click link: its HTTP status and a page for the person who clicked it. */
export interface AcknowledgementPage {
  status: number;
  html: string;
}

const STATUS: Record<AcknowledgementOutcome, number> = { prompt: 200, done: 200, used: 410, expired: 410, invalid: 404 };

/**
 * Plain pages without script (the CSP allows none). The prompt is a form that POSTs back to the
 * same address: a mail scanner that follows the link acknowledges nothing.
 */
export function acknowledgementPage(outcome: AcknowledgementOutcome, n?: BreachNotification): AcknowledgementPage {
  const what = n ? `the breach notification ${esc(n.id)} (incident ${esc(incidentRef(n.incidentId))})` : 'the breach notification';
  const body: Record<AcknowledgementOutcome, [string, string]> = {
    prompt: ['Acknowledge receipt', `<p>Confirm that you have received ${what}.</p><form method="post"><button type="submit">Acknowledge receipt</button></form>`],
    done: ['Receipt acknowledged', `<p>Thank you: we have recorded that you received ${what}. We will send updates as we learn more.</p>`],
    used: ['Already acknowledged', `<p>Receipt of ${what} was acknowledged at ${esc(n?.acknowledgedAt?.toISOString())}. The link works once.</p>`],
    expired: ['Link expired', '<p>This link has expired. Use the link in the latest reminder, or acknowledge through the API.</p>'],
    invalid: ['Link not valid', '<p>This is not a valid acknowledgement link. Use the link exactly as it is in the mail.</p>'],
  };
  const [title, main] = body[outcome];
  return {
    status: STATUS[outcome],
    html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
      + `<meta name="robots" content="noindex"><title>${esc(title)}</title>`
      + '<style>body{font-family:system-ui,sans-serif;line-height:1.5;margin:0 auto;max-width:40rem;padding:1rem}button{font:inherit;padding:.4rem 1rem}</style>'
      + `</head><body><main><h1>${esc(title)}</h1>${main}</main></body></html>`,
  };
}
