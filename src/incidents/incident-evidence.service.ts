import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { loadVisible } from '../access/load-visible';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { attachment } from '../common/attachment';
import { ConflictError, IntegrityError, NotFoundError, ValidationProblem } from '../common/errors';
import { isUuid } from '../common/ids';
import { IncidentEvidenceList, IncidentEvidenceResponse } from './dto/incident-evidence.dto';
import { IncidentEvidence } from './incident-evidence.entity';
import type { IncidentStatus } from './incident-lifecycle';
import { INCIDENT_ROW } from './incident.entity';
import { actorId, addToTimeline } from './timeline';


export const MAX_EVIDENCE_BYTES = 25 * 1024 * 1024;
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** A finished incident's record is complete: nothing more is added to it. */
const FINAL_STATUSES: readonly IncidentStatus[] = ['closed', 'dismissed'];

/** type/subtype and parameters, as a client may send it (RFC 9110 §8.3); kept as given. */
const MEDIA_TYPE = /^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+(\s*;\s*[\w!#$%&'*+.^`|~-]+=("[^"\\]*"|[\w!#$%&'*+.^`|~-]+))*\s*$/;
const MAX_CONTENT_TYPE_LENGTH = 200;

export interface EvidenceUpload {
  /** The raw request body: a Buffer from the route's own parser. */
  content: unknown;
  contentType: string | undefined;
  fileName: string;
}

export interface EvidenceDownload {
  content: Buffer;
  headers: Record<string, string>;
}

/**
 * Files kept as evidence of an incident (a log extract, the carrier's report), exactly as
 * uploaded, with a SHA-256 the server computes. Each upload is on the timeline with its name, size
 * and hash; the audit log gets the id, hash and size but not the name (free text). Every download
 * is audited too (chain of custody), and a file that no longer matches its hash is not served.
 */
@Injectable()
export class IncidentEvidenceService {
  private readonly logger = new Logger(IncidentEvidenceService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async upload(actor: Actor, id: string, upload: EvidenceUpload): Promise<IncidentEvidenceResponse> {
    const content = checkedContent(upload.content);
    const contentType = checkedContentType(upload.contentType);
    return this.dataSource.transaction(async (em) => {
      const incident = await loadVisible(em, actor, 'update', INCIDENT_ROW, id, true);
      if (FINAL_STATUSES.includes(incident.status)) {
        throw new ConflictError(`Evidence cannot be added to a ${incident.status} incident`, { currentStatus: incident.status });
      }
      const now = this.clock.now();
      const sha256 = sha256Hex(content);
      const evidence = em.create(IncidentEvidence, {
        incidentId: incident.id, fileName: upload.fileName, contentType, size: content.length, sha256, content, uploadedBy: actorId(actor), uploadedAt: now,
      });
      await em.insert(IncidentEvidence, evidence);
      incident.updatedAt = now;
      await em.save(incident);
      await addToTimeline(em, actor, incident.id, { kind: 'evidence_added', at: now, text: `${upload.fileName} (${content.length} bytes, SHA-256 ${sha256})` });
      await this.audit.record(em, actor, {
        action: 'incident.evidence_added', subjectType: 'Incident', subjectId: incident.id,
        changes: { evidenceId: evidence.id, sha256, size: content.length },
      });
      return toEvidenceResponse(evidence);
    });
  }

  async list(actor: Actor, id: string): Promise<IncidentEvidenceList> {
    const em = this.dataSource.manager;
    await loadVisible(em, actor, 'read', INCIDENT_ROW, id);
    return { items: await this.listFor(em, id) };
  }

  /** An incident's evidence without content, oldest first, for a caller that has checked access. */
  async listFor(em: EntityManager, incidentId: string): Promise<IncidentEvidenceResponse[]> {
    const rows = await em.find(IncidentEvidence, { where: { incidentId }, order: { uploadedAt: 'ASC', id: 'ASC' } });
    return rows.map(toEvidenceResponse);
  }

  /**
   * The file as uploaded, with the headers to send it by; audited in the same transaction. A file
   * whose bytes no longer hash to what was recorded is refused (500) and the failure audited.
   */
  async download(actor: Actor, id: string, evidenceId: string): Promise<EvidenceDownload> {
    const result = await this.dataSource.transaction(async (em) => {
      await loadVisible(em, actor, 'read', INCIDENT_ROW, id);
      const evidence = isUuid(evidenceId)
        ? await em.createQueryBuilder(IncidentEvidence, 'e').addSelect('e.content')
          .where('e.id = :evidenceId AND e.incidentId = :id', { evidenceId, id }).getOne()
        : null;
      if (!evidence) throw new NotFoundError('Evidence');
      const actual = sha256Hex(evidence.content);
      if (actual !== evidence.sha256 || evidence.content.length !== evidence.size) return { evidence, actual };
      await this.audit.record(em, actor, { action: 'incident.evidence_downloaded', subjectType: 'Incident', subjectId: id, changes: { evidenceId } });
      return { evidence, actual: null };
    });
    const { evidence, actual } = result;
    if (actual !== null) {
      await this.integrityFailure(actor, evidence, actual);
      throw new IntegrityError('evidence file');
    }
    return {
      content: evidence.content,
      headers: {
        'Content-Type': evidence.contentType,
        'Content-Disposition': attachment(evidence.fileName),
        'Content-Length': String(evidence.content.length),
        'Repr-Digest': `sha-256=:${Buffer.from(evidence.sha256, 'hex').toString('base64')}:`,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'private, no-store',
      },
    };
  }

  /** Logged for operators and kept as evidence: stored data changed outside the application. */
  private async integrityFailure(actor: Actor, evidence: IncidentEvidence, actual: string): Promise<void> {
    this.logger.error({ requestId: actor.requestId }, `Evidence ${evidence.id} of incident ${evidence.incidentId}: stored file fails its SHA-256 check (expected ${evidence.sha256}, found ${actual}); refused`);
    await this.dataSource.transaction((em) => this.audit.record(em, actor, {
      action: 'incident.evidence_integrity_failed', subjectType: 'Incident', subjectId: evidence.incidentId,
      changes: { evidenceId: evidence.id, expected: evidence.sha256, actual },
    }));
  }
}

function checkedContent(content: unknown): Buffer {
  if (Buffer.isBuffer(content) && content.length) return content;
  throw new ValidationProblem([{ field: 'body', messages: ['the file is empty: send its bytes as the request body'] }]);
}

function checkedContentType(raw: string | undefined): string {
  const value = raw?.trim();
  if (!value) return DEFAULT_CONTENT_TYPE;
  if (value.length > MAX_CONTENT_TYPE_LENGTH || !MEDIA_TYPE.test(value)) {
    throw new ValidationProblem([{ field: 'Content-Type', messages: [`Content-Type must be a media type such as ${DEFAULT_CONTENT_TYPE} (at most ${MAX_CONTENT_TYPE_LENGTH} characters)`] }]);
  }
  return value;
}

const sha256Hex = (content: Buffer) => createHash('sha256').update(content).digest('hex');

function toEvidenceResponse(e: IncidentEvidence): IncidentEvidenceResponse {
  return {
    id: e.id, incidentId: e.incidentId, fileName: e.fileName, contentType: e.contentType, size: e.size, sha256: e.sha256,
    uploadedBy: e.uploadedBy, uploadedAt: e.uploadedAt.toISOString(),
  };
}
