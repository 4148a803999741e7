import { esc } from '../notifications/mail-template';
import type { PublicChangeResponse, PublicSubprocessorResponse } from './dto/public-subprocessor.dto';
import { humanDate, isoDate } from './public-format';

/*
 * The public pages: plain semantic HTML that reads the same without CSS, and no script at all (the
 * CSP allows none inline). Links between pages are relative, so they work behind any base URL.
 */

const STYLE = `
body{font-family:system-ui,sans-serif;line-height:1.5;margin:0 auto;max-width:64rem;padding:0 1rem;color:#1a1a1a;background:#fff}
.skip{position:absolute;left:-10000px}.skip:focus{position:static}
table{border-collapse:collapse;width:100%;margin:1rem 0}
caption{text-align:left;font-weight:600;padding:.5rem 0}
th,td{border-bottom:1px solid #ccc;padding:.5rem;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #333}
a{color:#0645ad}a:focus,button:focus,input:focus{outline:3px solid #f90;outline-offset:2px}
label{display:block;font-weight:600}
input[type=email]{font:inherit;padding:.4rem;width:min(100%,24rem);border:1px solid #555}
button{font:inherit;padding:.4rem 1rem;margin-top:.5rem;border:1px solid #333;background:#f3f3f3;cursor:pointer}
footer{margin:2rem 0;color:#555;font-size:.9rem}`;

interface FrameOptions {
  title: string;
  /** Relative path from this page to /public/subprocessors. */
  home: string;
  head?: string;
  robots?: boolean;
}

function frame(options: FrameOptions, main: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
${options.robots === false ? '<meta name="robots" content="noindex">\n' : ''}<title>${esc(options.title)}</title>
${options.head ?? ''}<style>${STYLE}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><p><a href="${esc(options.home)}">Sub-processors</a></p></header>
<main id="main">
${main}
</main>
<footer><p>Sub-processors are third parties that process message data on our behalf (GDPR Art. 28).</p></footer>
</body>
</html>
`;
}

const time = (iso: string | null) => (iso ? `<time datetime="${esc(isoDate(new Date(iso)))}">${esc(humanDate(new Date(iso)))}</time>` : '—');

export function registryPage(subprocessors: PublicSubprocessorResponse[], changes: PublicChangeResponse[]): string {
  const rows = subprocessors.map((s) => `<tr>
<th scope="row">${esc(s.name)}</th>
<td>${esc(s.purpose)}</td>
<td>${esc(s.countryName)} <span>(${esc(s.country)})</span></td>
<td>${esc(s.transferMechanismLabel)}</td>
<td>${time(s.activeSince)}</td>
</tr>`);
  const table = subprocessors.length === 0
    ? '<p>We use no sub-processors at present.</p>'
    : `<table>
<caption>Active sub-processors (${subprocessors.length})</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Purpose</th><th scope="col">Country</th><th scope="col">Transfer mechanism</th><th scope="col">Since</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
  const changeRows = changes.map((c) => `<tr>
<th scope="row">${esc(c.subprocessorName)}</th>
<td>${esc(c.summary)}</td>
<td>${time(c.effectiveAt)}</td>
</tr>`);
  const announced = changes.length === 0
    ? '<p>No changes are announced at present.</p>'
    : `<table>
<caption>Announced changes (${changes.length})</caption>
<thead><tr><th scope="col">Sub-processor</th><th scope="col">What changes</th><th scope="col">Effective</th></tr></thead>
<tbody>
${changeRows.join('\n')}
</tbody>
</table>`;
  const head = `<link rel="alternate" type="application/atom+xml" title="Sub-processor changes (Atom)" href="subprocessors/feed.atom">
<link rel="alternate" type="application/json" title="Sub-processors (JSON)" href="subprocessors.json">
`;
  return frame({ title: 'Sub-processors', home: 'subprocessors', head }, `<h1>Sub-processors</h1>
<p>These are the sub-processors that may process message data on our behalf, where they process it, and the safeguard for any transfer outside the EU/EEA.</p>
${table}
<h2>Announced changes</h2>
${announced}
<h2 id="subscribe">Get an e-mail when this list changes</h2>
<form method="post" action="subscriptions">
<label for="email">E-mail address</label>
<input id="email" name="email" type="email" required autocomplete="email" maxlength="254">
<button type="submit">Subscribe</button>
</form>
<p>We send a link to confirm first, and every mail has a link to unsubscribe.</p>
<h2>Machine-readable</h2>
<ul>
<li><a href="subprocessors.json" type="application/json">This list as JSON</a></li>
<li><a href="subprocessors/feed.atom" type="application/atom+xml">Changes as an Atom feed</a></li>
</ul>`);
}

// The pages below answer links and forms; relative to /public/subscriptions or /public/subscriptions/:id/<action>.

export function subscriptionRequestedPage(): string {
  return frame({ title: 'Check your inbox — Sub-processors', home: 'subprocessors', robots: false }, `<h1>Check your inbox</h1>
<p>If the address can receive mail, we have sent it a link to confirm the subscription. Nothing is sent until it is confirmed.</p>
<p><a href="subprocessors">Back to the sub-processors</a></p>`);
}

export function confirmedPage(unsubscribeUrl: string): string {
  return frame({ title: 'Subscription confirmed — Sub-processors', home: '../../subprocessors', robots: false }, `<h1>Subscription confirmed</h1>
<p>You will get an e-mail whenever a sub-processor is added or changes. Every mail has a link to unsubscribe; you can also <a href="${esc(unsubscribeUrl)}">unsubscribe now</a>.</p>
<p><a href="../../subprocessors">See the sub-processors</a></p>`);
}

export function unsubscribePromptPage(token: string): string {
  return frame({ title: 'Unsubscribe — Sub-processors', home: '../../subprocessors', robots: false }, `<h1>Unsubscribe</h1>
<p>Stop e-mails about sub-processor changes to this address? The address is then deleted.</p>
<form method="post" action="unsubscribe?token=${esc(encodeURIComponent(token))}">
<button type="submit">Unsubscribe</button>
</form>`);
}

export function notSubscribedPage(): string {
  return frame({ title: 'Not subscribed — Sub-processors', home: '../../subprocessors', robots: false }, `<h1>Not subscribed</h1>
<p>This address is not subscribed (any more): we send it nothing.</p>
<p><a href="../../subprocessors">See the sub-processors</a></p>`);
}

export function unsubscribedPage(): string {
  return frame({ title: 'Unsubscribed — Sub-processors', home: '../../subprocessors', robots: false }, `<h1>Unsubscribed</h1>
<p>You will get no more e-mails about sub-processor changes, and the address has been deleted.</p>
<p><a href="../../subprocessors">See the sub-processors</a></p>`);
}
