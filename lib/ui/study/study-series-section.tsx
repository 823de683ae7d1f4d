import Link from 'next/link';

export interface SeriesRowData {
  id: string;
  seriesNumber: number | null;
  modality: string | null;
  description: string | null;
  bodyPart: string | null;
  instances: { format: string }[];
}

export function StudySeriesSection({ studyId, series }: { studyId: string; series: SeriesRowData[] }) {
  return (
    <section aria-labelledby="series-heading">
      <h2 id="series-heading">Series</h2>
      <div className="card">
        {series.length === 0 ? (
          <p className="empty">No series.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th />
                <th>#</th>
                <th>Modality</th>
                <th>Description</th>
                <th>Body part</th>
                <th>Instances</th>
                <th>Format</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {series.map((s) => (
                <tr key={s.id} data-testid="series-row">
                  <td className="thumb-cell">
                    {s.instances.length > 0 ? (
                      // Rendered by the image API (audited per image); plain <img> so the browser's cache and ETags apply.
                      // eslint-disable-next-line @next/next/no-img-element
                      <img
                        src={`/api/studies/${studyId}/image?series=${s.id}&size=96&format=webp`}
                        alt={`Series ${s.seriesNumber ?? ''} ${s.description ?? ''}`.trim()}
                        width={96}
                        height={96}
                        loading="lazy"
                        className="series-thumb"
                        data-testid="series-thumb"
                      />
                    ) : null}
                  </td>
                  <td>{s.seriesNumber ?? '—'}</td>
                  <td>{s.modality ?? '—'}</td>
                  <td>{s.description ?? '—'}</td>
                  <td>{s.bodyPart ?? '—'}</td>
                  <td>{s.instances.length}</td>
                  <td>{[...new Set(s.instances.map((i) => i.format))].join(', ')}</td>
                  <td>
                    {s.instances.length > 0 ? (
                      <Link href={`/studies/${studyId}/view?series=${s.id}`} aria-label={`View series ${s.seriesNumber ?? ''} in the viewer`}>
                        View
                      </Link>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
