import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

/**
 * A plain file name: no path separators, no control characters (C0, DEL, C1), no bidirectional
 * controls that could make "report\u202Efdp.exe" read as "reportexe.pdf", and not "." or "..".
 * It is shown on the timeline and sent back in Content-Disposition.
 */
const PLAIN_FILE_NAME = /^(?!\.{1,2}$)[^/\\\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]+$/u;

export class EvidenceUploadQuery {
  @ApiProperty({ minLength: 1, maxLength: 200, description: 'the file name to keep: no path separators or control characters' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  @Matches(PLAIN_FILE_NAME, { message: 'fileName must be a plain file name, without path separators or control characters' })
  fileName: string;
}

export class IncidentEvidenceResponse {
  id: string;
  incidentId: string;
  fileName: string;
  /** The Content-Type it was uploaded with (application/octet-stream when none was given). */
  contentType: string;
  /** Bytes. */
  size: number;
  /** SHA-256 of the content, lower-case hex, computed by the server. */
  sha256: string;
  /** The user who uploaded it. */
  uploadedBy: string | null;
  uploadedAt: string;
}

export class IncidentEvidenceList {
  /** Oldest first. */
  @ApiProperty({ type: [IncidentEvidenceResponse] })
  items: IncidentEvidenceResponse[];
}
