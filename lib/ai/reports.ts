/**
 * Radiology reports drafted by Gemini from the study's images, edited and signed by a radiologist.
 * A report is an `analysis_results` row of kind `report`: draft → final (who, when), after which
 * neither this code nor any other client can change it (trigger in drizzle/).
 */
import { z } from 'zod';
import { getDb } from '@/db';
import { findAnalysis, findStudyForAi, insertAnalysis, listAnalysesByStudy, markReportFinal, updateDraftReport } from '@/db/queries/analyses';
import { listStudyInstances } from '@/db/queries/instances';
import { advanceStudyStatus } from '@/db/queries/studies';
import type { AnalysisResult } from '@/db/schema';
import { ApiError, conflict, forbidden, notFound } from '@/lib/api/errors';
import { auditPatientAccess, recordAudit, type Actor } from '@/lib/audit';
import type { UserRole } from '@/lib/auth/roles';
import { getEnv } from '@/lib/env';
import { slicePosition } from '@/lib/studies/viewer';
import { metadataBlock } from './deidentify';
import { aiNotConfigured, generateText } from './gemini';
import { renderForModel, type ImageRef, type RenderedImage } from './images';
import { renderPdf, type PdfBlock } from './pdf';
import { AI_NOTICE, imageParts, knownIdentifiersOf, metadataOf, REPORT_SYSTEM_INSTRUCTION } from './prompt';

/** Draft, edit and sign reports. */
export const REPORT_WRITE_ROLES = ['admin', 'radiologist'] as const;
/** See drafts; everyone else sees final reports only. */
export const REPORT_DRAFT_READ_ROLES: readonly UserRole[] = REPORT_WRITE_ROLES;

/** Series a draft looks at (their middle image each). */
const MAX_REPORT_SERIES = 4;

const section = z.string().trim().min(1).max(20_000);

/** What the model must answer (and what a radiologist edits). */
export const reportSectionsSchema = z.strictObject({ technique: section, findings: section, impression: section });
export type ReportSections = z.output<typeof reportSectionsSchema>;

export const REPORT_JSON_SCHEMA = {
  type: 'object',
  properties: {
    technique: { type: 'string', description: 'Modality, series and how the images were viewed' },
    findings: { type: 'string', description: 'Observations, organ by organ' },
    impression: { type: 'string', description: 'Short summary of the main findings' },
  },
  required: ['technique', 'findings', 'impression'],
  additionalProperties: false,
};

export const reportUpdateSchema = reportSectionsSchema;

export interface ReportContent extends ReportSections {
  notice: string;
  /** The model's draft as it came, kept beside the edited text. */
  generated: ReportSections;
}

export interface ReportView extends ReportSections {
  id: string;
  studyId: string;
  status: 'draft' | 'final';
  notice: string;
  model: string | null;
  author: { id: string; name: string; email: string } | null;
  signedBy: { id: string; name: string; email: string } | null;
  signedAt: Date | null;
  imageRefs: ImageRef[];
  durationMs: number | null;
  createdAt: Date;
  updatedAt: Date;
}

type People = Map<string, { id: string; name: string; email: string }>;

function toReportView(row: AnalysisResult, people: People): ReportView {
  const content = row.content as unknown as ReportContent;
  return {
    id: row.id,
    studyId: row.studyId,
    status: row.status === 'final' ? 'final' : 'draft',
    technique: content.technique ?? '',
    findings: content.findings ?? '',
    impression: content.impression ?? '',
    notice: content.notice ?? AI_NOTICE,
    model: row.model,
    author: row.createdBy ? (people.get(row.createdBy) ?? null) : null,
    signedBy: row.signedBy ? (people.get(row.signedBy) ?? null) : null,
    signedAt: row.signedAt,
    imageRefs: row.imageRefs as ImageRef[],
    durationMs: row.durationMs,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Refuses (and records the refusal of) anyone but radiologists and administrators. */
async function requireWriter(actor: Actor, action: string, target: { studyId?: string; reportId?: string }) {
  if (actor.role && (REPORT_WRITE_ROLES as readonly string[]).includes(actor.role)) return;
  await recordAudit(actor, {
    action,
    outcome: 'denied',
    studyId: target.studyId,
    resourceType: target.reportId ? 'report' : 'study',
    resourceId: target.reportId ?? target.studyId,
    details: { reason: 'role' },
  });
  throw forbidden('Only radiologists and administrators draft, edit and sign reports');
}

const mayReadDrafts = (actor: Actor) => !!actor.role && (REPORT_DRAFT_READ_ROLES as readonly string[]).includes(actor.role);

/** The model's JSON answer, validated; anything else is a 502 and nothing is stored. */
export function parseReportAnswer(text: string): ReportSections {
  let value: unknown;
  try {
    value = JSON.parse(text.trim().replace(/^```(?:json)?\s*|\s*```$/g, ''));
  } catch {
    throw new ApiError(502, 'ai_invalid_output', 'The AI service did not return a structured report. Try again; nothing was saved.');
  }
  const parsed = reportSectionsSchema.safeParse(value);
  if (!parsed.success) throw new ApiError(502, 'ai_invalid_output', 'The AI service returned a report without technique, findings and impression. Try again; nothing was saved.');
  return parsed.data;
}

/** Drafts a report from the middle image of each series (up to four). Audited as `report.generate`. */
export async function generateReport(actor: Actor, studyId: string): Promise<ReportView> {
  await requireWriter(actor, 'report.generate', { studyId });
  const started = Date.now();
  const config = getEnv().ai;
  const created = await auditPatientAccess(
    actor,
    { action: 'report.generate', resourceType: 'study', resourceId: studyId, studyId, describe: (r) => ({ patientId: r.patientId }) },
    async () => {
      if (config.backend === 'none') throw aiNotConfigured();
      const db = await getDb();
      const found = await findStudyForAi(db, studyId);
      if (!found) return null;
      const instances = await listStudyInstances(db, studyId);
      const known = knownIdentifiersOf(found.study, found.patient, found.series);
      const picked: { images: RenderedImage[]; block: string }[] = [];
      for (const seriesRow of found.series) {
        if (picked.length >= MAX_REPORT_SERIES) break;
        const rows = instances
          .filter((r) => r.seriesId === seriesRow.id)
          .map((r) => ({ id: r.instance.id, frames: r.instance.frames, format: r.instance.format, number: r.instance.instanceNumber ?? 0, pos: slicePosition(r.instance.metadata.imagePositionPatient, r.instance.metadata.imageOrientationPatient) }))
          .sort((a, b) => (a.pos != null && b.pos != null && a.pos !== b.pos ? a.pos - b.pos : a.number - b.number));
        const middle = rows[Math.floor(rows.length / 2)];
        if (!middle) continue;
        try {
          const frame = middle.format === 'dicom' && middle.frames > 1 ? Math.floor(middle.frames / 2) : 0;
          const images = await renderForModel(actor, studyId, { seriesId: seriesRow.id, instanceId: middle.id, frame, t: 0, invert: false, neighbours: 0 });
          picked.push({ images, block: metadataBlock(metadataOf(found.study, found.patient, seriesRow, known)) });
        } catch (error) {
          // A series that does not render (e.g. a structured report) is left out of the draft.
          if (error instanceof ApiError && error.status < 500) continue;
          throw error;
        }
      }
      if (picked.length === 0) throw new ApiError(409, 'conflict', 'This study has no image that can be rendered for a report');
      const instruction = `Draft a radiology report for this study of ${picked.length} series. Answer JSON with the keys technique, findings and impression (strings).`;
      const parts = [{ text: instruction }, ...picked.flatMap((p, i) => [{ text: `Series ${i + 1}:` }, { text: p.block }, ...imageParts(p.images)])];
      const { text, model } = await generateText({ contents: [{ role: 'user', parts }], systemInstruction: REPORT_SYSTEM_INSTRUCTION, responseJsonSchema: REPORT_JSON_SCHEMA }, config);
      const sections = parseReportAnswer(text);
      const content: ReportContent = { ...sections, notice: AI_NOTICE, generated: sections };
      const row = await db.transaction(async (tx) => {
        const inserted = await insertAnalysis(tx, {
          kind: 'report',
          status: 'draft',
          studyId,
          model,
          prompt: [REPORT_SYSTEM_INSTRUCTION, instruction, ...picked.map((p, i) => `Series ${i + 1}:\n${p.block}`)].join('\n\n'),
          content: content as unknown as Record<string, unknown>,
          imageRefs: picked.flatMap((p) => p.images.map((i) => i.ref)),
          durationMs: Date.now() - started,
          createdBy: actor.userId ?? null,
        });
        await advanceStudyStatus(tx, studyId, 'analysed');
        return inserted;
      });
      return { patientId: found.study.patientId, row };
    },
  );
  if (!created) throw notFound('No such study');
  const { people } = await listAnalysesByStudy(await getDb(), studyId, 'report');
  return toReportView(created.row, people);
}

async function loadReport(actor: Actor, id: string, action: string, run: (found: NonNullable<Awaited<ReturnType<typeof findAnalysis>>>) => Promise<AnalysisResult | undefined>) {
  const outcome = await auditPatientAccess(
    actor,
    { action, resourceType: 'report', resourceId: id, describe: (r) => ({ patientId: r.patientId, studyId: r.row.studyId }) },
    async () => {
      const db = await getDb();
      const found = await findAnalysis(db, id, 'report');
      // Drafts are the radiologists' working copies: to anyone else they do not exist.
      if (!found || (found.result.status !== 'final' && !mayReadDrafts(actor))) return null;
      const row = await run(found);
      if (!row) return null;
      const people = row === found.result ? found.people : ((await findAnalysis(db, id, 'report'))?.people ?? found.people);
      return { patientId: found.patientId, row, people };
    },
  );
  if (!outcome) throw notFound('No such report');
  return toReportView(outcome.row, outcome.people);
}

/** One report. Audited as `report.read`. */
export async function getReport(actor: Actor, id: string): Promise<ReportView> {
  return loadReport(actor, id, 'report.read', async (found) => found.result);
}

/** Edits a draft; a final report answers 409. Audited as `report.update`. */
export async function updateReport(actor: Actor, id: string, input: unknown): Promise<ReportView> {
  await requireWriter(actor, 'report.update', { reportId: id });
  const sections = reportUpdateSchema.parse(input);
  return loadReport(actor, id, 'report.update', async (found) => {
    if (found.result.status === 'final') throw conflict('This report is signed and final; it cannot be changed');
    const content = { ...(found.result.content as unknown as ReportContent), ...sections, notice: AI_NOTICE };
    const row = await updateDraftReport(await getDb(), id, content as unknown as Record<string, unknown>);
    if (!row) throw conflict('This report was signed meanwhile; it cannot be changed');
    return row;
  });
}

/**
 * Signs a draft (final, by whom, when), optionally with last edits, and marks the study reported.
 * Audited as `report.sign`.
 */
export async function signReport(actor: Actor, id: string, input?: unknown): Promise<ReportView> {
  await requireWriter(actor, 'report.sign', { reportId: id });
  if (!actor.userId) {
    await recordAudit(actor, { action: 'report.sign', outcome: 'denied', resourceType: 'report', resourceId: id, details: { reason: 'token' } });
    throw forbidden('Reports are signed by a person, not an API token');
  }
  const sections = input === undefined ? undefined : reportUpdateSchema.parse(input);
  return loadReport(actor, id, 'report.sign', async (found) => {
    if (found.result.status === 'final') throw conflict('This report is already signed');
    const content = { ...(found.result.content as unknown as ReportContent), ...(sections ?? {}), notice: AI_NOTICE };
    const db = await getDb();
    return db.transaction(async (tx) => {
      const row = await markReportFinal(tx, id, actor.userId!, content as unknown as Record<string, unknown>);
      if (!row) throw conflict('This report was signed meanwhile');
      await advanceStudyStatus(tx, row.studyId, 'reported');
      return row;
    });
  });
}

/** The study's reports, newest first (drafts only for those who write them). Audited as `report.list`. */
export async function listReports(actor: Actor, studyId: string): Promise<ReportView[] | null> {
  const found = await auditPatientAccess(
    actor,
    { action: 'report.list', resourceType: 'study', resourceId: studyId, studyId, describe: (r) => ({ patientId: r.patientId }) },
    async () => {
      const db = await getDb();
      const study = await findStudyForAi(db, studyId);
      if (!study) return null;
      const { rows, people } = await listAnalysesByStudy(db, studyId, 'report');
      const visible = rows.filter((r) => r.status === 'final' || mayReadDrafts(actor));
      return { patientId: study.study.patientId, items: visible.map((r) => toReportView(r, people)) };
    },
  );
  return found?.items ?? null;
}

function stamp(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function signatureLine(report: ReportView): string {
  return report.status === 'final' && report.signedAt
    ? `Signed by ${report.signedBy?.name ?? 'unknown'} (${report.signedBy?.email ?? '—'}) on ${stamp(report.signedAt)}. Final report.`
    : 'DRAFT — not signed. Not for clinical use until a radiologist has reviewed and signed it.';
}

function provenance(report: ReportView): string {
  return `Drafted with AI assistance (${report.model ?? 'model unknown'}) on ${stamp(report.createdAt)}. ${report.notice}`;
}

export function reportBlocks(report: ReportView, heading: { patientLabel: string; studyLabel: string }): PdfBlock[] {
  return [
    { kind: 'title', text: 'Radiology report' },
    { kind: 'small', text: `${heading.patientLabel} · ${heading.studyLabel}` },
    { kind: 'small', text: signatureLine(report) },
    { kind: 'heading', text: 'Technique' },
    { kind: 'paragraph', text: report.technique },
    { kind: 'heading', text: 'Findings' },
    { kind: 'paragraph', text: report.findings },
    { kind: 'heading', text: 'Impression' },
    { kind: 'paragraph', text: report.impression },
    { kind: 'small', text: provenance(report) },
  ];
}

export function reportText(report: ReportView, heading: { patientLabel: string; studyLabel: string }): string {
  return (
    reportBlocks(report, heading)
      .map((b) => (b.kind === 'heading' ? `\n${b.text.toUpperCase()}\n` : b.kind === 'title' ? `${b.text.toUpperCase()}\n${'='.repeat(b.text.length)}` : b.text))
      .join('\n') + '\n'
  );
}

export const reportExportQuerySchema = z.object({ format: z.enum(['txt', 'pdf']).default('pdf') });

/**
 * The report as plain text or PDF, with the patient and study it belongs to (this is for the
 * record, not the model), its signature state and the AI notice. Audited as `report.export`.
 */
export async function exportReport(actor: Actor, id: string, format: 'txt' | 'pdf'): Promise<{ body: Buffer; contentType: string; filename: string }> {
  const report = await loadReport(actor, id, 'report.export', async (found) => found.result);
  const study = await findStudyForAi(await getDb(), report.studyId);
  const patientLabel = study ? `Patient: ${study.patient.name?.replace(/\^+/g, ' ').trim() || '—'} (ID ${study.patient.patientKey})` : 'Patient: —';
  const studyLabel = study ? `Study: ${study.study.description ?? '—'} ${study.study.studyDate ?? ''} (accession ${study.study.accessionNumber ?? '—'})` : 'Study: —';
  const heading = { patientLabel, studyLabel };
  const filename = `report-${report.id}${report.status === 'draft' ? '-draft' : ''}.${format}`;
  if (format === 'txt') return { body: Buffer.from(reportText(report, heading), 'utf8'), contentType: 'text/plain; charset=utf-8', filename };
  return { body: renderPdf(reportBlocks(report, heading), { title: `Radiology report ${report.id}` }), contentType: 'application/pdf', filename };
}
