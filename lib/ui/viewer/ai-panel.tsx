'use client';

import { useRef, useState, type FormEvent } from 'react';
import { useCurrentView } from './current-view';

/**
 * "AI analysis" in the viewer: questions about the image on screen (rendered by the server at the
 * current window, optionally with neighbouring slices), answered by Gemini as a stream. Each turn
 * is stored by the server; a refused or blocked answer shows why and is not kept.
 */

export interface AiAvailability {
  configured: boolean;
  model: string;
  /** The user's role may ask questions. */
  canAsk: boolean;
}

interface Turn {
  key: number;
  question: string;
  answer: string;
  state: 'streaming' | 'done' | 'failed';
  error?: string;
  id?: string;
  model?: string;
  images?: number;
}

const DEFAULT_NOTICE = 'AI-generated, not a diagnosis: this must be reviewed by a clinician before any clinical use.';

async function errorOf(res: Response): Promise<string> {
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? `The request failed (HTTP ${res.status})`;
}

export function AiPanel({ availability, onClose }: { availability: AiAvailability; onClose: () => void }) {
  const view = useCurrentView();
  const [turns, setTurns] = useState<Turn[]>([]);
  const [question, setQuestion] = useState('');
  const [neighbours, setNeighbours] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(DEFAULT_NOTICE);
  const conversation = useRef<string | null>(null);
  const counter = useRef(0);

  const update = (key: number, change: Partial<Turn> | ((t: Turn) => Partial<Turn>)) =>
    setTurns((list) => list.map((t) => (t.key === key ? { ...t, ...(typeof change === 'function' ? change(t) : change) } : t)));

  async function ask(event: FormEvent) {
    event.preventDefault();
    const text = question.trim();
    if (!text || !view?.ready || busy) return;
    const key = ++counter.current;
    setTurns((list) => [...list, { key, question: text, answer: '', state: 'streaming' }]);
    setQuestion('');
    setBusy(true);
    try {
      const frame = view.frameIndex ?? 0;
      const res = await fetch('/api/analyze', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
        body: JSON.stringify({
          studyId: view.studyId,
          question: text,
          stream: true,
          ...(view.seriesId ? { seriesId: view.seriesId } : {}),
          ...(view.instanceId ? { instanceId: view.instanceId } : {}),
          frame,
          slice: frame,
          t: view.timePoint ?? 0,
          ...(view.window ? { window: view.window } : {}),
          invert: view.inverted,
          neighbours: neighbours ? 1 : 0,
          ...(conversation.current ? { conversationId: conversation.current } : {}),
        }),
      });
      if (!res.ok || !res.body) {
        update(key, { state: 'failed', error: await errorOf(res) });
        return;
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let finished = false;
      while (!finished) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf('\n');
          if (!line) continue;
          const event = JSON.parse(line) as
            | { type: 'start'; id: string; conversationId: string; model: string; notice: string; imageRefs: unknown[] }
            | { type: 'delta'; text: string }
            | { type: 'done'; analysis: { id: string; conversationId: string; answer: string; model: string | null } }
            | { type: 'error'; error: { message: string } };
          if (event.type === 'start') {
            setNotice(event.notice);
            update(key, { model: event.model, images: event.imageRefs.length });
          } else if (event.type === 'delta') {
            update(key, (t) => ({ answer: t.answer + event.text }));
          } else if (event.type === 'done') {
            conversation.current = event.analysis.conversationId;
            update(key, { state: 'done', id: event.analysis.id, answer: event.analysis.answer, model: event.analysis.model ?? undefined });
            finished = true;
          } else {
            update(key, { state: 'failed', error: event.error.message });
            finished = true;
          }
        }
      }
      if (!finished) update(key, { state: 'failed', error: 'The answer was cut off; nothing was saved. Try again.' });
    } catch (error) {
      update(key, { state: 'failed', error: `The AI service could not be reached: ${(error as Error).message}` });
    } finally {
      setBusy(false);
    }
  }

  function restart() {
    conversation.current = null;
    setTurns([]);
  }

  return (
    <section className="viewer-panel ai-panel" aria-label="AI analysis" data-testid="ai-panel">
      <div className="panel-heading">
        <h2>AI analysis</h2>
        <button type="button" className="tool" onClick={onClose} aria-label="Close AI analysis">
          ×
        </button>
      </div>
      {!availability.configured ? (
        <p className="muted" role="status" data-testid="ai-not-configured">
          AI analysis is not configured on this server. An administrator can enable it with GOOGLE_API_KEY (Gemini API) or Vertex AI (GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_CLOUD_PROJECT).
        </p>
      ) : !availability.canAsk ? (
        <p className="muted" role="status" data-testid="ai-not-allowed">
          Your role may view images but not ask AI questions.
        </p>
      ) : (
        <>
          <p className="ai-notice" data-testid="ai-notice" role="note">
            {notice}
          </p>
          <p className="muted small">
            Sends the slice on screen as an image (at this window) with modality, body part, sex, age band and series description to {availability.model}. No names, IDs or dates.
          </p>
          <ol className="ai-turns" data-testid="ai-turns">
            {turns.map((t) => (
              <li key={t.key} className={`ai-turn ai-${t.state}`} data-testid="ai-turn" data-state={t.state} data-analysis-id={t.id ?? ''}>
                <p className="ai-question">
                  <strong>You:</strong> {t.question}
                </p>
                {t.state === 'failed' ? (
                  <p className="error" role="alert" data-testid="ai-error">
                    {t.error}
                  </p>
                ) : (
                  <div className="ai-answer" data-testid="ai-answer" aria-live="polite">
                    <p>{t.answer || (t.state === 'streaming' ? 'Thinking…' : '')}</p>
                    {t.state === 'done' ? (
                      <p className="ai-notice small" data-testid="ai-answer-notice">
                        {notice} {t.model ? `(${t.model}${t.images && t.images > 1 ? `, ${t.images} images` : ''})` : ''}
                      </p>
                    ) : null}
                  </div>
                )}
              </li>
            ))}
          </ol>
          <form onSubmit={ask} className="ai-form">
            <label htmlFor="ai-question">Question about this image</label>
            <textarea id="ai-question" data-testid="ai-question" rows={3} maxLength={2000} value={question} onChange={(e) => setQuestion(e.target.value)} placeholder="e.g. Is there any free fluid?" />
            <label className="viewer-inline">
              <input type="checkbox" checked={neighbours} onChange={(e) => setNeighbours(e.target.checked)} /> Include neighbouring slices
            </label>
            <div className="viewer-inline">
              <button type="submit" className="button" data-testid="ai-ask" disabled={busy || !view?.ready || !question.trim()}>
                {busy ? 'Answering…' : 'Ask'}
              </button>
              {turns.length > 0 ? (
                <button type="button" className="tool" onClick={restart} disabled={busy}>
                  New conversation
                </button>
              ) : null}
            </div>
          </form>
        </>
      )}
    </section>
  );
}
