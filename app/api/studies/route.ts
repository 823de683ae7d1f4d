import { withApi } from '@/lib/api/route';
import { parseStudySearch, toStudyQuery } from '@/lib/studies/query';
import { searchStudies } from '@/lib/studies/worklist';

export const dynamic = 'force-dynamic';

export const GET = withApi(async ({ req, actor }) => {
  const search = parseStudySearch(new URL(req.url).searchParams);
  const { rows, total } = await searchStudies(actor, toStudyQuery(search));
  return { studies: rows, page: search.page, pageSize: search.pageSize, total };
}, { scope: 'studies:read' });
