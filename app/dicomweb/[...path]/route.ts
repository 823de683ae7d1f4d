import { errorResponse } from '@/lib/api/errors';

// Unknown DICOMweb paths answer in the API's error shape instead of Next's HTML 404 page.
const notFound = () => errorResponse(404, 'not_found', 'No such DICOMweb resource');

export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
