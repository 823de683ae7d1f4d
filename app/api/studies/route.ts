import { withApi } from '@/lib/api/route';
import { toStudyQuery } from '@/lib/studies/query';
import { resolveStudySearch } from '@/lib/studies/saved-searches';
import { searchStudies } from '@/lib/studies/worklist';

export const dynamic = 'force-dynamic';

export const GET = withApi(async ({ req, principal, actor }) => {
  const search = await resolveStudySearch(actor, new URL(req.url).searchParams);
  const { rows, total } = await searchStudies(actor, toStudyQuery(search, principal.kind === 'user' ? principal.id : null));
  return { studies: rows, page: search.page, pageSize: search.pageSize, total };
}, { scope: 'studies:read' });
