import { z } from 'zod';
import { analyzeRequestSchema, QUESTION_ROLES, type AnswerView } from '@/lib/ai/analyze';
import { reportExportQuerySchema, type ReportView } from '@/lib/ai/reports';
import { defineEndpoints, timestamp, uuid, type Assert, type Fits } from '../registry';

const id = z.object({ id: z.uuid() });
const int = z.number().int();

const imageRefSchema = z.object({
  role: z.enum(['current', 'neighbour']),
  offset: int.describe('Slices from the current image (0 for it)'),
  seriesId: uuid,
  instanceId: uuid,
  frame: int.nullable(),
  slice: int.nullable(),
  t: int.nullable(),
  window: z.object({ center: z.number(), width: z.number() }).nullable(),
  invert: z.boolean(),
  mimeType: z.string(),
  bytes: int,
  sha256: z.string().describe('Of the PNG sent to the model'),
});

const notice = z.string().describe('Always present: AI output is not a diagnosis and must be reviewed by a clinician');

export const answerSchema = z.object({
  id: uuid,
  studyId: uuid,
  seriesId: uuid.nullable(),
  instanceId: uuid.nullable(),
  conversationId: uuid.describe('The first answer of the conversation; pass it to continue'),
  turn: int,
  question: z.string().describe('As sent to the model (known identifiers of the patient removed)'),
  answer: z.string(),
  notice,
  model: z.string().nullable(),
  imageRefs: z.array(imageRefSchema),
  durationMs: int.nullable(),
  createdAt: timestamp,
});

const person = z.object({ id: uuid, name: z.string(), email: z.string() }).nullable();

export const reportSchema = z.object({
  id: uuid,
  studyId: uuid,
  status: z.enum(['draft', 'final']),
  technique: z.string(),
  findings: z.string(),
  impression: z.string(),
  notice,
  model: z.string().nullable(),
  author: person,
  signedBy: person,
  signedAt: timestamp.nullable(),
  imageRefs: z.array(imageRefSchema),
  durationMs: int.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

const errorEvent = z.object({ type: z.literal('error'), error: z.object({ code: z.string(), message: z.string() }) });

/** The NDJSON lines of a streamed answer, in order. */
export const answerEventsSchema = z
  .array(
    z.discriminatedUnion('type', [
      z.object({ type: z.literal('start'), id: uuid, conversationId: uuid, model: z.string(), notice, imageRefs: z.array(imageRefSchema) }),
      z.object({ type: z.literal('delta'), text: z.string() }),
      z.object({ type: z.literal('done'), analysis: answerSchema }),
      errorEvent,
    ]),
  )
  .describe('One JSON object per line: start, delta…, then done or error');

export type _AiSchemasFit = [Assert<Fits<typeof answerSchema, AnswerView>>, Assert<Fits<typeof reportSchema, ReportView>>];

export const aiEndpoints = defineEndpoints([
  {
    method: 'post',
    path: '/api/analyze',
    operationId: 'analyzeImage',
    summary: 'Ask Gemini a question about one image of a study (audited as ai.question)',
    description:
      'The server renders the image (the instance/frame or NIfTI slice given, at the window given; optionally `neighbours` slices each side) and sends the PNG with an allow-list of header data (modality, body part, sex, age band, series description), never the DICOM file. The answer is stored as an AI result (kind ai_answer) and moves the study to analysed. With `stream: true` the answer is NDJSON: {type:"start",id,conversationId,model,notice,imageRefs}, {type:"delta",text}…, then {type:"done",analysis} or {type:"error",error:{code,message}} (nothing stored). 503 ai_not_configured without GOOGLE_API_KEY or Vertex AI; 502 ai_auth_failed (the server\u2019s key refused), 429 ai_quota_exceeded, 504 ai_timeout, 422 ai_blocked (safety), 502 ai_unavailable; none of them stores anything.',
    tags: ['ai'],
    auth: { roles: QUESTION_ROLES, scope: 'ai' },
    body: { schema: analyzeRequestSchema },
    responses: {
      200: { description: 'The stored answer (or, with stream: true, NDJSON events)', schema: z.object({ analysis: answerSchema }), alsoContent: [{ type: 'application/x-ndjson', schema: answerEventsSchema }] },
    },
    errors: [404, 413, 415, 422, 429, 502, 504],
  },
  {
    method: 'get',
    path: '/api/studies/{id}/reports',
    operationId: 'listStudyReports',
    summary: 'The study\u2019s reports, newest first (audited as report.list)',
    description: 'Drafts only for radiologists and administrators; other roles see final (signed) reports.',
    tags: ['ai'],
    auth: { scope: 'reports' },
    params: id,
    responses: { 200: { description: 'The reports', schema: z.object({ reports: z.array(reportSchema) }) } },
  },
  {
    method: 'get',
    path: '/api/reports/{id}',
    operationId: 'getReport',
    summary: 'One report (audited as report.read); a draft is a 404 for roles that do not write reports',
    tags: ['ai'],
    auth: { scope: 'reports' },
    params: id,
    responses: { 200: { description: 'The report', schema: z.object({ report: reportSchema }) } },
  },
  {
    method: 'get',
    path: '/api/reports/{id}/export',
    operationId: 'exportReport',
    summary: 'The report as PDF or plain text, with its signature state and the AI notice (audited as report.export)',
    tags: ['ai'],
    auth: { scope: 'reports' },
    params: id,
    query: reportExportQuerySchema,
    responses: {
      200: { description: 'The report file', contentType: ['application/pdf', 'text/plain'], headers: { 'Content-Disposition': 'attachment, with a .pdf or .txt file name' } },
    },
  },
]);
