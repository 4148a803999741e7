import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { AUTHORISATIONS, type Authorisation, DATA_CATEGORIES, type DataCategory, TRANSFER_MECHANISMS, type TransferMechanism } from '../../dpas/dpa.entity';
import { SUBPROCESSOR_ROLES, type SubprocessorRole } from '../../subprocessors/subprocessor.entity';

export class RecordsQuery {
  /** csv, or json (the default); `Accept: text/csv` works too. */
  @ApiPropertyOptional({ enum: ['json', 'csv'] })
  @IsOptional()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
}

export class RecordContact {
  name: string;
  email: string;
}

export class RecordController {
  customerId: string;
  /** The customer's legal name. */
  name: string;
  country: string;
  /** The controller's data protection officer (Art. 30(2)(a)). */
  @ApiProperty({ type: RecordContact })
  dpoContact: RecordContact;
}

export class RecordAgreement {
  dpaId: string;
  version: number;
  @ApiProperty({ enum: AUTHORISATIONS })
  authorisation: Authorisation;
  activatedAt: string | null;
  expiresAt: string | null;
}

/** Art. 30(2)(b): the categories of processing carried out for the controller. */
export class RecordProcessing {
  @ApiProperty({ type: [String] })
  purposes: string[];
  @ApiProperty({ enum: DATA_CATEGORIES, isArray: true })
  dataCategories: DataCategory[];
  /** What kinds of messages the controller sends (its data profile). */
  @ApiProperty({ type: [String] })
  messageKinds: string[];
  specialCategoryData: boolean;
}

export class RecordSubprocessor {
  id: string;
  name: string;
  @ApiProperty({ enum: SUBPROCESSOR_ROLES })
  role: SubprocessorRole;
  country: string;
  purpose: string;
  @ApiProperty({ enum: TRANSFER_MECHANISMS })
  transferMechanism: TransferMechanism;
}

/** Art. 30(2)(c): a transfer to a third country and its safeguard. */
export class RecordTransfer {
  subprocessorId: string;
  subprocessor: string;
  country: string;
  countryName: string;
  /** adequate, partially_adequate (e.g. US: only certified organisations) or third_country. */
  @ApiProperty({ enum: ['adequate', 'partially_adequate', 'third_country'] })
  standing: string;
  @ApiProperty({ enum: TRANSFER_MECHANISMS })
  safeguard: TransferMechanism;
  safeguardLabel: string;
}

export class RecordRetention {
  @ApiProperty({ enum: DATA_CATEGORIES })
  category: DataCategory;
  maxRetentionDays: number;
}

/** One controller's record of processing (GDPR Art. 30(2)). */
export class ProcessingRecordResponse {
  @ApiProperty({ type: RecordController })
  controller: RecordController;
  @ApiProperty({ type: RecordAgreement })
  agreement: RecordAgreement;
  @ApiProperty({ type: RecordProcessing })
  processing: RecordProcessing;
  /** The sub-processors that may carry this controller's data now. */
  @ApiProperty({ type: [RecordSubprocessor] })
  subprocessors: RecordSubprocessor[];
  @ApiProperty({ type: [RecordTransfer] })
  thirdCountryTransfers: RecordTransfer[];
  @ApiProperty({ type: [RecordRetention] })
  retention: RecordRetention[];
  /** Art. 30(2)(d): the general description of technical and organisational measures. */
  securityMeasures: string;
}

export class RecordsOfProcessingResponse {
  generatedAt: string;
  @ApiProperty({ type: [ProcessingRecordResponse] })
  records: ProcessingRecordResponse[];
}
