import { searchHandler } from '@/lib/dicomweb/handlers';

// DICOMweb: thin route, logic in lib/dicomweb. Outside proxy.ts's matcher; withApi authenticates.
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const GET = searchHandler('instance', 'study');
