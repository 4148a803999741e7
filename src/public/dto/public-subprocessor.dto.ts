import { ApiProperty } from '@nestjs/swagger';
import { CHANGE_NOTICE_KINDS, type ChangeNoticeKind } from '../../change-notices/change-notice.entity';
import { TRANSFER_MECHANISMS, type TransferMechanism } from '../../dpas/dpa.entity';

/** A sub-processor as the public sees it: public fields only. */
export class PublicSubprocessorResponse {
  /** The legal entity. */
  name: string;
  purpose: string;
  /** ISO 3166-1 alpha-2 of where it processes. */
  country: string;
  countryName: string;
  @ApiProperty({ enum: TRANSFER_MECHANISMS })
  transferMechanism: TransferMechanism;
  transferMechanismLabel: string;
  /** When it became active (ISO-8601 UTC). */
  activeSince: string | null;
}

/** An announced change (Art. 28(2) notice) as the public sees it. */
export class PublicChangeResponse {
  /** The notice id; the Atom entry's id is urn:uuid:<id>. */
  id: string;
  @ApiProperty({ enum: CHANGE_NOTICE_KINDS })
  kind: ChangeNoticeKind;
  @ApiProperty({ enum: ['pending', 'effective'] })
  status: 'pending' | 'effective';
  subprocessorName: string;
  title: string;
  summary: string;
  announcedAt: string;
  effectiveAt: string;
}

export class PublicLinks {
  page: string;
  json: string;
  atom: string;
  subscribe: string;
}

export class PublicSubprocessorList {
  /** Active sub-processors, by name. */
  @ApiProperty({ type: [PublicSubprocessorResponse] })
  subprocessors: PublicSubprocessorResponse[];
  /** Changes announced and not yet in effect, soonest first. */
  @ApiProperty({ type: [PublicChangeResponse] })
  announcedChanges: PublicChangeResponse[];
  @ApiProperty({ type: PublicLinks })
  links: PublicLinks;
}
