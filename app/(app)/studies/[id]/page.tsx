import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { z } from 'zod';
import { aiStatus } from '@/lib/ai/gemini';
import { listReports, REPORT_WRITE_ROLES } from '@/lib/ai/reports';
import { actorFor, requireUser } from '@/lib/auth/session';
import { assignableUsers, canAssign, canPrioritise, canReprocess } from '@/lib/studies/workflow';
import { loadStudy } from '@/lib/studies/worklist';
import { StudyAnalysesSection, StudySegmentationsSection } from '@/lib/ui/study/study-analyses-section';
import { auditParamsOf, StudyAuditSection } from '@/lib/ui/study/study-audit-section';
import { StudyHeader } from '@/lib/ui/study/study-header';
import { StudyJobsSection } from '@/lib/ui/study/study-jobs-section';
import { StudyReportsSection } from '@/lib/ui/study/study-reports-section';
import { StudySeriesSection } from '@/lib/ui/study/study-series-section';
import { StudyWorkflowSection } from '@/lib/ui/study/study-workflow-section';
import { generateReportAction, saveReportAction, signReportAction } from './actions';

export const metadata: Metadata = { title: 'Study' };

type PageSearchParams = Promise<Record<string, string | string[] | undefined>>;

/**
 * The study page is a stack of independent sections (lib/ui/study/*), each given what it shows;
 * features add a section with one line here.
 */
export default async function StudyPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: PageSearchParams }) {
  const { id } = await params;
  const user = await requireUser(`/studies/${id}`);
  if (!z.string().uuid().safeParse(id).success) notFound();
  const actor = await actorFor(user);
  const study = await loadStudy(actor, id);
  if (!study) notFound();
  const query = new URLSearchParams(Object.entries(await searchParams).flatMap(([k, v]) => [v ?? []].flat().map((x) => [k, x])));
  const assignees = canAssign(user.role) ? (await assignableUsers()).map((a) => ({ id: a.id, name: a.name })) : [];
  const label = study.patient.name || study.patient.patientKey;
  const reports = (await listReports(actor, id)) ?? [];

  return (
    <>
      <StudyHeader study={study} />
      <StudyWorkflowSection
        studyId={study.id}
        label={label}
        priority={study.priority}
        assignee={study.assignee}
        me={{ id: user.id, name: user.name }}
        assignees={assignees}
        canAssign={canAssign(user.role)}
        canPrioritise={canPrioritise(user.role)}
      />
      <StudySeriesSection studyId={study.id} series={study.series} />
      <StudyJobsSection
        studyId={study.id}
        canReprocess={canReprocess(user.role)}
        jobs={study.jobs.map((j) => ({ ...j, createdAt: j.createdAt.toISOString(), finishedAt: j.finishedAt?.toISOString() ?? null }))}
      />
      <StudyReportsSection
        studyId={study.id}
        canWrite={(REPORT_WRITE_ROLES as readonly string[]).includes(user.role)}
        aiConfigured={aiStatus().configured}
        actions={{ generate: generateReportAction, save: saveReportAction, sign: signReportAction }}
        reports={reports.map((r) => ({
          id: r.id,
          status: r.status,
          technique: r.technique,
          findings: r.findings,
          impression: r.impression,
          notice: r.notice,
          model: r.model,
          author: r.author ? { name: r.author.name } : null,
          signedBy: r.signedBy ? { name: r.signedBy.name } : null,
          signedAt: r.signedAt?.toISOString() ?? null,
          createdAt: r.createdAt.toISOString(),
        }))}
      />
      <StudyAnalysesSection analyses={study.analyses} />
      <StudySegmentationsSection analyses={study.analyses} />
      {user.role === 'admin' ? <StudyAuditSection actor={actor} studyId={study.id} params={auditParamsOf(query)} /> : null}
    </>
  );
}
