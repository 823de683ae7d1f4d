import { ZodError } from 'zod';
import { fieldErrorsOf, type FormState } from '@/lib/ui/form-state';
import { ApiError, isTransientFailure, transientError } from './errors';

/** What a server action answers when the session behind it has ended (the refusal is audited). */
export const SESSION_ENDED: FormState = { error: 'Your session has ended; sign in again.' };

/**
 * The one mapping from a failed server action to what its form shows: invalid input as messages
 * per field (and, unless the form shows them beside its inputs, the first one as the summary),
 * refusals and conflicts as their message, an unreachable database or a full disk as "try again
 * shortly". Anything else is a bug and is thrown (Next.js logs it; the page shows its error view).
 */
export function actionFailure(error: unknown, options: { fieldsOnly?: boolean } = {}): FormState {
  if (error instanceof ZodError) {
    const fieldErrors = fieldErrorsOf(error.issues);
    if (options.fieldsOnly) return { fieldErrors };
    const [field, message] = Object.entries(fieldErrors)[0] ?? ['form', 'Invalid input'];
    return { error: field === 'form' ? message : `${field}: ${message}`, fieldErrors };
  }
  if (error instanceof ApiError) return { error: error.message };
  if (isTransientFailure(error)) return { error: transientError(error).message };
  throw error;
}
