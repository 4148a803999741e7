import type { Customer } from '../customers/customer.entity';
import type { DataCategory } from '../dpas/dpa.entity';
import { type NotificationSections, TO_BE_COMPLETED } from './breach-notification.entity';
import type { IncidentCustomer } from './incident-customer.entity';
import type { Incident } from './incident.entity';
import type { SeverityAssessment } from './severity';

export interface DraftFacts {
  incident: Incident;
  affected: IncidentCustomer;
  customer: Customer;
  severity: SeverityAssessment;
  /** Legal names of the incident's sub-processors. */
  subprocessorNames: string[];
  contact: string;
}

const CATEGORY_TEXT: Record<DataCategory, string> = {
  msisdn: 'the recipients\' mobile phone numbers',
  body: 'the content of the messages',
  delivery_metadata: 'delivery metadata (sender, times, delivery status and route)',
};

const NATURE_TEXT = { confidentiality: 'confidentiality (the data may have been seen by someone not entitled to it)', integrity: 'integrity (the data may have been altered)', availability: 'availability (the data may have been lost or unavailable)' };

const count = (n: number) => n.toLocaleString('en-GB');
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * The first draft of a customer's notification, from what Custodian knows: the incident's facts,
 * the scope's counts, the severity and our contact. Every part is text the author then checks and
 * edits; what only a person can know (the measures taken) is left as TO_BE_COMPLETED, which blocks
 * approval until written.
 */
export function initialDraft(f: DraftFacts): NotificationSections {
  const { incident, affected } = f;
  const where = [
    ...(f.subprocessorNames.length ? [`at our sub-processor${f.subprocessorNames.length > 1 ? 's' : ''} ${f.subprocessorNames.join(', ')}`] : []),
    ...(incident.internalSystems.length ? [`in our system${incident.internalSystems.length > 1 ? 's' : ''} ${incident.internalSystems.join(', ')}`] : []),
  ].join(' and ');
  const window = incident.windowFrom && incident.windowTo ? ` It concerns messages submitted between ${iso(incident.windowFrom)} and ${iso(incident.windowTo)}.` : '';
  const counted = affected.source === 'scope' || affected.messageCount > 0;
  return {
    nature: `${incident.title}. The incident happened ${where}; it was detected at ${iso(incident.detectedAt)} and we became aware of it at ${iso(incident.becameAwareAt)}.${window}`
      + ` It is a breach of ${incident.nature.map((n) => NATURE_TEXT[n]).join(', and of ')}.${incident.maliciousIntent ? ' We suspect malicious intent.' : ''}`,
    dataSubjects: counted
      ? `About ${count(affected.distinctSubjects)} people: the recipients of your messages in that period, counted by distinct phone number.`
      : `${TO_BE_COMPLETED} The recipients of your messages concerned, and about how many they are.`,
    records: counted
      ? `About ${count(affected.messageCount)} messages${affected.firstMessageAt && affected.lastMessageAt ? `, submitted between ${iso(affected.firstMessageAt)} and ${iso(affected.lastMessageAt)}` : ''}`
        + `${affected.destinationCountries.length ? `, to recipients in ${affected.destinationCountries.join(', ')}` : ''}.`
      : `${TO_BE_COMPLETED} About how many of your messages are concerned.`,
    categories: `${incident.dataCategories.map((c) => CATEGORY_TEXT[c]).join('; ')}.`
      + (f.customer.dataProfile.specialCategoryData ? ' You have told us that your messages may contain special categories of personal data (Art. 9).' : ''),
    consequences: consequences(incident, f.severity),
    measures: `${TO_BE_COMPLETED} The measures we have taken or propose to address the breach and to mitigate its possible adverse effects.`,
    contact: f.contact,
    severity: f.severity.explanation,
  };
}

function consequences(incident: Incident, severity: SeverityAssessment): string {
  const parts: string[] = [];
  const categories = new Set(incident.dataCategories);
  if (categories.has('msisdn')) parts.push('phone numbers may be used for unsolicited messages, phishing by SMS (smishing) or attempts to take over the number (SIM swap)');
  if (categories.has('body')) parts.push('what the messages say may become known to others, including one-time passwords and anything the messages reveal about the recipients\' relationship with you');
  if (categories.has('delivery_metadata')) parts.push('the delivery metadata shows that the recipients are in contact with you, and when');
  if (incident.nature.includes('integrity')) parts.push('messages may have been altered on the way');
  if (incident.nature.includes('availability')) parts.push('messages may not have been delivered');
  const level = severity.level.replace('_', ' ');
  return `We assess the severity as ${level} (see the severity assessment). Possible consequences for the people concerned: ${parts.join('; ')}.`;
}
