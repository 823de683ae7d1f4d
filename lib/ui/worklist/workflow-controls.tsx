'use client';

import { useOptimistic, useState, useTransition } from 'react';
import { changeStudyWorkflowAction } from '@/app/(app)/actions';
import type { StudyPriority } from '@/db/queries/studies';
import { ActionMessage } from '@/lib/ui/action-message';
import { PriorityBadge } from '@/lib/ui/status-badges';

const PRIORITIES: StudyPriority[] = ['routine', 'urgent', 'stat'];

export interface Person {
  id: string;
  name: string;
}

export interface WorkflowProps {
  studyId: string;
  /** Names the study in labels ("Priority of Doe^John"). */
  label: string;
  priority: StudyPriority;
  assignee: Person | null;
  me: Person;
  assignees: Person[];
  canAssign: boolean;
  canPrioritise: boolean;
}

/** Shows the chosen value at once; it falls back to the server's if the change is refused. */
function useWorkflowChange<T>(studyId: string, current: T) {
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const [shown, show] = useOptimistic(current);
  const change = (next: T, values: Record<string, unknown>) =>
    startTransition(async () => {
      show(next);
      const result = await changeStudyWorkflowAction(studyId, values);
      setError(result.error ?? null);
    });
  return { pending, error, change, shown };
}

export function PriorityControl({ studyId, label, priority, canPrioritise }: Pick<WorkflowProps, 'studyId' | 'label' | 'priority' | 'canPrioritise'>) {
  const { pending, error, change, shown } = useWorkflowChange(studyId, priority);
  if (!canPrioritise) return <PriorityBadge priority={priority} />;
  return (
    <span className="workflow-control">
      <select
        aria-label={`Priority of ${label}`}
        className={`priority-select priority-${shown}`}
        // What the server has (the shown value may be an optimistic one still being saved).
        data-saved={priority}
        value={shown}
        disabled={pending}
        onChange={(e) => change(e.target.value as StudyPriority, { priority: e.target.value })}
      >
        {PRIORITIES.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
      <ActionMessage state={{ error }} />
    </span>
  );
}

export function AssigneeControl({ studyId, label, assignee, me, assignees, canAssign }: Omit<WorkflowProps, 'priority' | 'canPrioritise'>) {
  const { pending, error, change, shown } = useWorkflowChange(studyId, assignee?.id ?? '');
  if (!canAssign) return <span data-testid="study-assignee">{assignee?.name ?? <span className="muted">unassigned</span>}</span>;
  // A disabled former assignee is not assignable, but is still shown as the current one.
  const options = assignee && !assignees.some((a) => a.id === assignee.id) ? [assignee, ...assignees] : assignees;
  const expected = { expectedAssigneeId: assignee?.id ?? null };
  return (
    <span className="workflow-control">
      <select
        aria-label={`Assignee of ${label}`}
        data-testid="study-assignee"
        data-saved={assignee?.id ?? ''}
        value={shown}
        disabled={pending}
        onChange={(e) => change(e.target.value, { assigneeId: e.target.value || null, ...expected })}
      >
        <option value="">unassigned</option>
        {options.map((a) => (
          <option key={a.id} value={a.id}>
            {a.id === me.id ? `${a.name} (me)` : a.name}
          </option>
        ))}
      </select>
      {shown !== me.id ? (
        <button type="button" className="secondary small" disabled={pending} aria-label={`Assign ${label} to me`} onClick={() => change(me.id, { assigneeId: me.id, ...expected })}>
          Assign to me
        </button>
      ) : null}
      <ActionMessage state={{ error }} />
    </span>
  );
}
