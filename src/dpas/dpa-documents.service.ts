import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/ability';
import { AuditService } from '../audit/audit.service';
import { ConflictError, IntegrityError, NotFoundError, UnsupportedMediaTypeError } from '../common/errors';
import { EDITABLE_STATUSES } from './dpa-lifecycle';
import { Dpa, DpaDocument } from './dpa.entity';
import { DpasService, toResponse } from './dpas.service';
import { DpaResponse } from './dto/dpa.dto';

export const PDF = 'application/pdf';
export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;
const PDF_MAGIC = Buffer.from('%PDF-', 'latin1');

export interface DocumentUpload {
  /** The raw request body: a Buffer when it came as application/pdf, anything else otherwise. */
  content: unknown;
  filename?: string;
  contentDisposition?: string;
}

export interface DocumentFile {
  content: Buffer;
  sha256: string;
  name: string;
}

/** The signed agreement as a PDF, stored with its SHA-256 and checked against it on every download. */
@Injectable()
export class DpaDocumentsService {
  private readonly logger = new Logger(DpaDocumentsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly dpas: DpasService,
  ) {}

  async upload(actor: Actor, id: string, upload: DocumentUpload): Promise<DpaResponse> {
    const content = upload.content;
    if (!Buffer.isBuffer(content)) throw new UnsupportedMediaTypeError(`Send the document as the raw request body with Content-Type ${PDF}`, [PDF]);
    if (content.length < PDF_MAGIC.length || !content.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) {
      throw new UnsupportedMediaTypeError('The body is not a PDF document (it must start with %PDF-)', [PDF]);
    }
    return this.dataSource.transaction(async (em) => {
      const dpa = await this.dpas.load(em, actor, 'update', id, true);
      if (!EDITABLE_STATUSES.includes(dpa.status)) {
        throw new ConflictError(`The document of a ${dpa.status} DPA cannot be replaced; create a new version instead`, { currentStatus: dpa.status });
      }
      const sha256 = createHash('sha256').update(content).digest('hex');
      const name = fileName(upload.filename) ?? fileName(dispositionName(upload.contentDisposition)) ?? `dpa-v${dpa.version}.pdf`;
      await em.getRepository(DpaDocument).upsert({ dpaId: dpa.id, content }, ['dpaId']);
      const replaced = dpa.documentSha256;
      Object.assign(dpa, { documentSha256: sha256, documentSize: content.length, documentName: name });
      await em.save(dpa);
      await this.audit.record(em, actor, { action: 'dpa.document_uploaded', subjectType: 'Dpa', subjectId: dpa.id, changes: { sha256, size: content.length, name, replaced } });
      return toResponse(dpa);
    });
  }

  /** The stored document, only if it still hashes to what was recorded at upload. */
  async download(actor: Actor, id: string): Promise<DocumentFile> {
    const dpa = await this.dpas.load(this.dataSource.manager, actor, 'read', id);
    if (!dpa.documentSha256) throw new NotFoundError('DPA document');
    const doc = await this.dataSource.getRepository(DpaDocument).findOneBy({ dpaId: dpa.id });
    const actual = doc ? createHash('sha256').update(doc.content).digest('hex') : null;
    if (!doc || actual !== dpa.documentSha256 || doc.content.length !== dpa.documentSize) {
      await this.integrityFailure(actor, dpa, actual);
      throw new IntegrityError('DPA document');
    }
    return { content: doc.content, sha256: dpa.documentSha256, name: dpa.documentName ?? `dpa-v${dpa.version}.pdf` };
  }

  /** Logged for operators and kept as evidence: stored data changed outside the application. */
  private async integrityFailure(actor: Actor, dpa: Dpa, actual: string | null): Promise<void> {
    this.logger.error({ requestId: actor.requestId }, `DPA ${dpa.id}: stored document fails its SHA-256 check (expected ${dpa.documentSha256}, found ${actual ?? 'no document'}); refused`);
    await this.dataSource.transaction((em) => this.audit.record(em, actor, {
      action: 'dpa.document_integrity_failed', subjectType: 'Dpa', subjectId: dpa.id, changes: { expected: dpa.documentSha256, actual },
    }));
  }
}

/** A plain file name: no directories, no control characters, at most 255 characters. */
function fileName(raw: string | undefined): string | undefined {
  const base = raw?.split(/[/\\]/).pop()?.replace(/[\x00-\x1f\x7f"]/g, '').trim().slice(0, 255);
  return base || undefined;
}

/** The file name of a Content-Disposition header (RFC 6266), preferring filename* (RFC 8187). */
function dispositionName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // fall through to the plain parameter
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
  return plain ? (plain[1]?.replace(/\\(.)/g, '$1') ?? plain[2]) : undefined;
}
