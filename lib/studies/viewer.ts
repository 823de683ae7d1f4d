import { getDb } from '@/db';
import { getStudyDetail } from '@/db/queries/studies';
import { instances } from '@/db/schema';
import { inArray } from 'drizzle-orm';
import { auditPatientAccess, type Actor } from '@/lib/audit';

type Vec3 = [number, number, number];

/** Position along the slice normal (PS3.3 C.7.6.2.1.1), for ordering a series spatially. */
export function slicePosition(position: unknown, orientation: unknown): number | null {
  if (!Array.isArray(position) || position.length !== 3 || !Array.isArray(orientation) || orientation.length !== 6) return null;
  const [rx, ry, rz, cx, cy, cz] = orientation as number[];
  const normal: Vec3 = [ry! * cz! - rz! * cy!, rz! * cx! - rx! * cz!, rx! * cy! - ry! * cx!];
  const p = position as number[];
  return p[0]! * normal[0] + p[1]! * normal[1] + p[2]! * normal[2];
}

function timePoints(metadata: Record<string, unknown>): number {
  const count = (metadata.nifti as { volumeCount?: unknown } | undefined)?.volumeCount;
  return typeof count === 'number' && Number.isInteger(count) && count > 1 ? count : 1;
}

export interface ViewerInstance {
  id: string;
  number: number | null;
  frames: number;
  /** 3D volumes in a NIfTI file (4D and up); `fileUrl?t=` picks one. 1 for everything else. */
  timePoints: number;
  fileUrl: string;
  tagsUrl: string;
}

/** A study as the viewer loads it: series with instances in spatial order and their file URLs. */
export async function loadViewerStudy(actor: Actor, studyId: string) {
  return auditPatientAccess(
    actor,
    { action: 'study.view', resourceType: 'study', resourceId: studyId, studyId, describe: (s) => ({ patientId: s.patientId }) },
    async () => {
      const db = await getDb();
      const study = await getStudyDetail(db, studyId);
      if (!study) return null;
      const ids = study.series.flatMap((s) => s.instances.map((i) => i.id));
      const rows = ids.length ? await db.select({ id: instances.id, metadata: instances.metadata }).from(instances).where(inArray(instances.id, ids)) : [];
      const geometry = new Map(rows.map((r) => [r.id, slicePosition(r.metadata.imagePositionPatient, r.metadata.imageOrientationPatient)]));
      const volumes = new Map(rows.map((r) => [r.id, timePoints(r.metadata)]));
      return {
        patientId: study.patientId,
        study: {
          id: study.id,
          description: study.description,
          studyDate: study.studyDate,
          accessionNumber: study.accessionNumber,
          modalities: study.modalities,
          patient: { name: study.patient.name, patientId: study.patient.patientKey, birthDate: study.patient.birthDate, sex: study.patient.sex },
        },
        series: study.series.map((s) => ({
          id: s.id,
          number: s.seriesNumber,
          description: s.description,
          modality: s.modality,
          format: s.instances[0]?.format ?? 'dicom',
          thumbnailUrl: `/api/studies/${study.id}/image?series=${s.id}&size=128&format=webp`,
          instances: [...s.instances]
            .sort((a, b) => {
              const pa = geometry.get(a.id);
              const pb = geometry.get(b.id);
              if (pa != null && pb != null && pa !== pb) return pa - pb;
              return (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0);
            })
            .map<ViewerInstance>((i) => ({
              id: i.id,
              number: i.instanceNumber,
              frames: i.frames,
              timePoints: volumes.get(i.id) ?? 1,
              fileUrl: `/api/instances/${i.id}/file`,
              tagsUrl: `/api/instances/${i.id}/tags`,
            })),
        })),
      };
    },
  );
}
