import { handleTusRequest } from '@/lib/ingest/tus-server';

// tus (resumable uploads). Deliberately outside proxy.ts's matcher: the proxy would cap bodies
// at 10 MB; handleTusRequest authenticates every request itself.
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export { handleTusRequest as GET, handleTusRequest as HEAD, handleTusRequest as POST, handleTusRequest as PATCH, handleTusRequest as DELETE, handleTusRequest as OPTIONS };
