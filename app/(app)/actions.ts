'use server';

import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import { actionFailure, SESSION_ENDED } from '@/lib/api/action-result';
import { signOut } from '@/lib/auth';
import { actorFor, getCurrentUser, sessionActor, sessionClaims } from '@/lib/auth/session';
import { endSession } from '@/lib/auth/sessions';
import { recordAudit } from '@/lib/audit';
import { filtersOf, parseStudySearch } from '@/lib/studies/query';
import { createSavedSearch, deleteSavedSearch } from '@/lib/studies/saved-searches';
import { reprocessStudy, updateStudyWorkflow } from '@/lib/studies/workflow';
import type { FormState } from '@/lib/ui/form-state';

export async function signOutAction(): Promise<void> {
  const user = await getCurrentUser();
  if (user) await recordAudit(await actorFor(user), { action: 'auth.sign_out', outcome: 'success' });
  // Without a live session there is nothing to end; the attempt is still on the record.
  else await sessionActor('auth.sign_out');
  await endSession((await sessionClaims())?.sid);
  await signOut({ redirectTo: '/sign-in' });
}


function revalidateStudy(studyId: string) {
  revalidatePath('/');
  revalidatePath(`/studies/${studyId}`);
}

/** Assignee and/or priority of a study, from the worklist or the study page (validated in lib). */
export async function changeStudyWorkflowAction(studyId: string, change: unknown): Promise<FormState> {
  const actor = await sessionActor('action.change_study_workflow');
  if (!actor) return SESSION_ENDED;
  try {
    const updated = await updateStudyWorkflow(actor, z.string().parse(studyId), change);
    revalidateStudy(studyId);
    return { ok: `Priority ${updated.priority}, ${updated.assignee ? `assigned to ${updated.assignee.name}` : 'unassigned'}` };
  } catch (error) {
    return actionFailure(error);
  }
}

export async function reprocessStudyAction(studyId: string): Promise<FormState> {
  const actor = await sessionActor('action.reprocess_study');
  if (!actor) return SESSION_ENDED;
  try {
    const job = await reprocessStudy(actor, z.string().parse(studyId));
    revalidateStudy(studyId);
    return { ok: `Processing ${job.status}` };
  } catch (error) {
    return actionFailure(error);
  }
}

const saveSearchForm = z.object({ name: z.string(), query: z.string().max(4096) });

/** Saves the worklist's current filters (its query string) under a name. */
export async function saveSearchAction(_prev: FormState, formData: FormData): Promise<FormState> {
  const actor = await sessionActor('action.save_search');
  if (!actor) return SESSION_ENDED;
  const values = { name: String(formData.get('name') ?? '') };
  try {
    const form = saveSearchForm.parse({ name: formData.get('name') ?? '', query: formData.get('query') ?? '' });
    const filters = filtersOf(parseStudySearch(new URLSearchParams(form.query)));
    const saved = await createSavedSearch(actor, { name: form.name, filters });
    revalidatePath('/');
    return { ok: `Saved “${saved.name}”` };
  } catch (error) {
    return { ...actionFailure(error), values };
  }
}

export async function deleteSavedSearchAction(_prev: FormState, formData: FormData): Promise<FormState> {
  const actor = await sessionActor('action.delete_saved_search');
  if (!actor) return SESSION_ENDED;
  try {
    await deleteSavedSearch(actor, z.string().parse(formData.get('id') ?? ''));
    revalidatePath('/');
    return { ok: 'Deleted' };
  } catch (error) {
    return actionFailure(error);
  }
}
