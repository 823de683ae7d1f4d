'use server';

import { revalidatePath } from 'next/cache';
import { z, ZodError } from 'zod';
import { generateReport, reportUpdateSchema, signReport, updateReport } from '@/lib/ai/reports';
import { ApiError } from '@/lib/api/errors';
import { sessionActor } from '@/lib/auth/session';
import { fieldErrorsOf, type FormState } from '@/lib/ui/form-state';

const SESSION_ENDED: FormState = { error: 'Your session has ended; sign in again.' };
const id = z.uuid();


function failure(error: unknown): FormState {
  if (error instanceof ZodError) {
    const fieldErrors = fieldErrorsOf(error.issues);
    const [field, message] = Object.entries(fieldErrors)[0] ?? ['form', 'Invalid input'];
    return { error: field === 'form' ? message : `${field}: ${message}`, fieldErrors };
  }
  if (error instanceof ApiError) return { error: error.message };
  throw error;
}

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
    return failure(error);
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
    return failure(error);
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
    return failure(error);
  }
}
