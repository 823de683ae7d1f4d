/**
 * Questions about the image on screen: render it (and neighbours), build a de-identified prompt,
 * stream Gemini's answer, and store the turn (question, answer, model, prompt, image references,
 * timing) as an `ai_answer` analysis result. A refused, blocked or failed answer stores nothing.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { getDb } from '@/db';
import { findStudyForAi, insertAnalysis, listConversation } from '@/db/queries/analyses';
import { advanceStudyStatus } from '@/db/queries/studies';
import type { AnalysisResult } from '@/db/schema';
import { notFound } from '@/lib/api/errors';
import { auditPatientAccess, recordAudit, type Actor } from '@/lib/audit';
import { getEnv } from '@/lib/env';
import { aiNotConfigured, streamText, toAiError } from './gemini';
import { imageSelectionShape, renderForModel, type ImageRef } from './images';
import { AI_NOTICE, cleanQuestion, knownIdentifiersOf, metadataOf, QUESTION_SYSTEM_INSTRUCTION, questionContents } from './prompt';

/** Who may ask questions (viewers only look). */
export const QUESTION_ROLES = ['admin', 'radiologist', 'clinician'] as const;

export const analyzeRequestSchema = z.strictObject({
  studyId: z.uuid(),
  question: z.string().trim().min(1, 'Ask a question').max(2000),
  /** The first answer of the conversation this question continues. */
  conversationId: z.uuid().optional(),
  /** Answer as NDJSON events while the model writes (otherwise one JSON answer). */
  stream: z.boolean().default(false),
  ...imageSelectionShape,
});

export type AnalyzeRequest = z.output<typeof analyzeRequestSchema>;

export interface AnswerContent {
  question: string;
  answer: string;
  notice: string;
  conversationId: string;
  turn: number;
  metadata: Record<string, unknown>;
}

export interface AnswerView {
  id: string;
  studyId: string;
  seriesId: string | null;
  instanceId: string | null;
  conversationId: string;
  turn: number;
  question: string;
  answer: string;
  notice: string;
  model: string | null;
  imageRefs: ImageRef[];
  durationMs: number | null;
  createdAt: Date;
}

export function toAnswerView(row: AnalysisResult): AnswerView {
  const content = row.content as unknown as AnswerContent;
  return {
    id: row.id,
    studyId: row.studyId,
    seriesId: row.seriesId,
    instanceId: row.instanceId,
    conversationId: content.conversationId ?? row.id,
    turn: content.turn ?? 1,
    question: content.question ?? '',
    answer: content.answer ?? '',
    notice: content.notice ?? AI_NOTICE,
    model: row.model,
    imageRefs: row.imageRefs as ImageRef[],
    durationMs: row.durationMs,
    createdAt: row.createdAt,
  };
}

export interface AnswerInProgress {
  id: string;
  conversationId: string;
  model: string;
  notice: string;
  imageRefs: ImageRef[];
  chunks: AsyncGenerator<string, void, void>;
  /** Stores the finished answer (call once the chunks are consumed). */
  complete(answer: string): Promise<AnswerView>;
}

/**
 * Prepares the request and starts the answer. Audited as `ai.question` (with the outcome: refusals
 * such as ai_not_configured or ai_quota_exceeded are failures with their code).
 */
export async function askQuestion(actor: Actor, request: AnalyzeRequest): Promise<AnswerInProgress> {
  const started = Date.now();
  const config = getEnv().ai;
  const prepared = await auditPatientAccess(
    actor,
    { action: 'ai.question', resourceType: 'study', resourceId: request.studyId, studyId: request.studyId, describe: (r) => ({ patientId: r.patientId }) },
    async () => {
      if (config.backend === 'none') throw aiNotConfigured();
      const db = await getDb();
      const found = await findStudyForAi(db, request.studyId);
      if (!found) return null;
      const history = request.conversationId ? await listConversation(db, request.studyId, request.conversationId) : [];
      if (request.conversationId && history.length === 0) throw notFound('No such conversation in this study');
      const images = await renderForModel(actor, request.studyId, request);
      const current = images[0]!.ref;
      const seriesRow = found.series.find((s) => s.id === current.seriesId);
      const known = knownIdentifiersOf(found.study, found.patient, found.series);
      const metadata = metadataOf(found.study, found.patient, seriesRow, known);
      const question = cleanQuestion(request.question, known);
      const turns = history.map((row) => {
        const content = row.content as unknown as AnswerContent;
        return { question: content.question, answer: content.answer };
      });
      const { contents, promptText } = questionContents(turns, metadata, question, images);
      const stream = await streamText({ contents, systemInstruction: QUESTION_SYSTEM_INSTRUCTION }, config);
      return { patientId: found.study.patientId, images, metadata, question, promptText, stream, turn: history.length + 1 };
    },
  );
  if (!prepared) throw notFound('No such study');

  const id = randomUUID();
  const conversationId = request.conversationId ?? id;
  const imageRefs = prepared.images.map((i) => i.ref);
  return {
    id,
    conversationId,
    get model() {
      return prepared.stream.model;
    },
    notice: AI_NOTICE,
    imageRefs,
    chunks: prepared.stream.chunks,
    async complete(answer: string) {
      const db = await getDb();
      const content: AnswerContent = { question: prepared.question, answer, notice: AI_NOTICE, conversationId, turn: prepared.turn, metadata: { ...prepared.metadata } };
      const row = await db.transaction(async (tx) => {
        const inserted = await insertAnalysis(tx, {
          id,
          kind: 'ai_answer',
          status: 'final',
          studyId: request.studyId,
          seriesId: imageRefs[0]?.seriesId ?? null,
          instanceId: imageRefs[0]?.instanceId ?? null,
          model: prepared.stream.model,
          prompt: `${QUESTION_SYSTEM_INSTRUCTION}\n\n${prepared.promptText}`,
          content: content as unknown as Record<string, unknown>,
          imageRefs,
          durationMs: Date.now() - started,
          createdBy: actor.userId ?? null,
        });
        await advanceStudyStatus(tx, request.studyId, 'analysed');
        return inserted;
      });
      return toAnswerView(row);
    },
  };
}

/** Consumes an answer to the end and stores it; errors (blocked mid-way, timeout) store nothing. */
export async function answerQuestion(actor: Actor, request: AnalyzeRequest): Promise<AnswerView> {
  const progress = await askQuestion(actor, request);
  let answer = '';
  try {
    for await (const chunk of progress.chunks) answer += chunk;
  } catch (error) {
    const mapped = toAiError(error);
    await recordAudit(actor, { action: 'ai.answer', outcome: 'failure', studyId: request.studyId, resourceType: 'study', resourceId: request.studyId, details: { code: mapped.code } });
    throw mapped;
  }
  return progress.complete(answer);
}

/**
 * The same as NDJSON events for a browser or client that shows the answer as it is written:
 * `start` (id, model, notice, images), `delta` (text), then `done` (the stored answer) or `error`.
 */
export function answerStream(actor: Actor, request: AnalyzeRequest, progress: AnswerInProgress): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const line = (event: Record<string, unknown>) => encoder.encode(`${JSON.stringify(event)}\n`);
  // A client that goes away mid-answer must not break the loop: the answer is still stored whole.
  let open = true;
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (event: Record<string, unknown>) => {
        if (!open) return;
        try {
          controller.enqueue(line(event));
        } catch {
          open = false;
        }
      };
      send({ type: 'start', id: progress.id, conversationId: progress.conversationId, model: progress.model, notice: progress.notice, imageRefs: progress.imageRefs });
      let answer = '';
      try {
        for await (const chunk of progress.chunks) {
          answer += chunk;
          send({ type: 'delta', text: chunk });
        }
        const stored = await progress.complete(answer);
        send({ type: 'done', analysis: stored });
      } catch (error) {
        const mapped = toAiError(error);
        await recordAudit(actor, { action: 'ai.answer', outcome: 'failure', studyId: request.studyId, resourceType: 'study', resourceId: request.studyId, details: { code: mapped.code } }).catch(() => undefined);
        send({ type: 'error', error: { code: mapped.code, message: mapped.message } });
      }
      if (open) controller.close();
    },
    cancel() {
      open = false;
    },
  });
}
