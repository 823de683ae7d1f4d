import { searchHandler, storeHandler } from '@/lib/dicomweb/handlers';

// DICOMweb: thin route, logic in lib/dicomweb. Outside proxy.ts's matcher; withApi authenticates.
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const GET = searchHandler('study');
export const POST = storeHandler('none');
