import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { z } from 'zod';
import { QUESTION_ROLES } from '@/lib/ai/analyze';
import { aiStatus } from '@/lib/ai/gemini';
import { requireUser } from '@/lib/auth/session';
import { Viewer } from '@/lib/ui/viewer/viewer';

export const metadata: Metadata = { title: 'Viewer' };

type SearchParams = Record<string, string | string[] | undefined>;

function queryString(searchParams: SearchParams): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(searchParams)) {
    if (typeof value === 'string') params.set(key, value);
  }
  return params.toString();
}

/**
 * The browser viewer. The study itself is fetched by the client from the viewer API (which checks
 * access and audits the read); the page only insists on a session and hands over the URL's view.
 */
export default async function ViewerPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<SearchParams> }) {
  const { id } = await params;
  const query = queryString(await searchParams);
  const user = await requireUser(`/studies/${id}/view${query ? `?${query}` : ''}`);
  if (!z.string().uuid().safeParse(id).success) notFound();
  const status = aiStatus();
  const ai = { configured: status.configured, model: status.model, canAsk: (QUESTION_ROLES as readonly string[]).includes(user.role) };
  return <Viewer key={id} studyId={id.toLowerCase()} initialQuery={query} ai={ai} />;
}
