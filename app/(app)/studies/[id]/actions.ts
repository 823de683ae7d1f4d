'use server';

import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import { actionFailure, SESSION_ENDED } from '@/lib/api/action-result';
import { generateReport, reportUpdateSchema, signReport, updateReport } from '@/lib/ai/reports';
import { sessionActor } from '@/lib/auth/session';
import type { FormState } from '@/lib/ui/form-state';

const id = z.uuid();


function revalidateStudy(studyId: string) {
  revalidatePath('/');
  revalidatePath(`/studies/${studyId}`);
}

/** Drafts a report of the study with Gemini (radiologists and administrators; validated in lib). */
export async function generateReportAction(studyId: unknown): Promise<FormState> {
  const actor = await sessionActor('action.generate_report');
  if (!actor) return SESSION_ENDED;
  try {
    const report = await generateReport(actor, id.parse(studyId));
    revalidateStudy(report.studyId);
    return { ok: 'Draft report created: review and edit it, then sign it.' };
  } catch (error) {
    return actionFailure(error);
  }
}

export async function saveReportAction(studyId: unknown, reportId: unknown, sections: unknown): Promise<FormState> {
  const actor = await sessionActor('action.save_report');
  if (!actor) return SESSION_ENDED;
  try {
    await updateReport(actor, id.parse(reportId), reportUpdateSchema.parse(sections));
    revalidateStudy(id.parse(studyId));
    return { ok: 'Draft saved' };
  } catch (error) {
    return actionFailure(error);
  }
}

/** Signs a draft with the text as edited: final, by this user, now. */
export async function signReportAction(studyId: unknown, reportId: unknown, sections: unknown): Promise<FormState> {
  const actor = await sessionActor('action.sign_report');
  if (!actor) return SESSION_ENDED;
  try {
    await signReport(actor, id.parse(reportId), reportUpdateSchema.parse(sections));
    revalidateStudy(id.parse(studyId));
    return { ok: 'Report signed' };
  } catch (error) {
    return actionFailure(error);
  }
}
