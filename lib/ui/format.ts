/** DICOM dates (YYYYMMDD) as YYYY-MM-DD; anything else as it is. */
export function formatDicomDate(value: string | null | undefined): string {
  if (!value) return '—';
  return /^\d{8}$/.test(value) ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}` : value;
}

const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' });

/** One fixed rendering (UTC) so that server and browser agree and rows compare at a glance. */
export function formatDateTime(value: Date | string | null | undefined): string {
  if (!value) return '—';
  const date = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(date.getTime()) ? '—' : `${dateTime.format(date)} UTC`;
}
