import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A file attached to an incident as evidence (a log extract, the carrier's report), kept as it
 * was uploaded with its SHA-256, so anyone can later show it is the same file. Never changed or
 * deleted; its upload is a timeline entry that names the hash.
 */
@Entity({ name: 'incident_evidence' })
@Index('incident_evidence_incident_idx', ['incidentId', 'uploadedAt'])
export class IncidentEvidence {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'incident_id', type: 'uuid' })
  incidentId: string;

  @Column({ name: 'file_name', type: 'text' })
  fileName: string;

  @Column({ name: 'content_type', type: 'text' })
  contentType: string;

  @Column({ type: 'integer' })
  size: number;

  /** Lower-case hex. */
  @Column({ type: 'text' })
  sha256: string;

  @Column({ type: 'bytea', select: false })
  content: Buffer;

  @Column({ name: 'uploaded_by', type: 'uuid', nullable: true })
  uploadedBy: string | null;

  @Column({ name: 'uploaded_at', type: 'timestamptz', precision: 3 })
  uploadedAt: Date;
}
