import { parseJsonBody, withApi } from '@/lib/api/route';
import { analyzeRequestSchema, answerQuestion, answerStream, askQuestion, QUESTION_ROLES } from '@/lib/ai/analyze';

export const dynamic = 'force-dynamic';

/**
 * A question about one image of a study, answered by Gemini: JSON, or NDJSON events with
 * `stream: true`. Refusals (not configured, bad key, quota, blocked prompt) are HTTP errors.
 */
export const POST = withApi(
  async ({ req, actor }) => {
    const body = await parseJsonBody(req, analyzeRequestSchema);
    if (!body.stream) return { analysis: await answerQuestion(actor, body) };
    const progress = await askQuestion(actor, body);
    return new Response(answerStream(actor, body, progress), {
      headers: { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store', 'X-Analysis-Id': progress.id },
    });
  },
  { roles: QUESTION_ROLES, action: 'ai.question', scope: 'ai' },
);
