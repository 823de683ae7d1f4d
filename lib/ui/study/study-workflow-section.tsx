import { AssigneeControl, PriorityControl, type WorkflowProps } from '@/lib/ui/worklist/workflow-controls';

/** Assignee and priority of the study, editable by the roles that may (lib/studies/workflow.ts). */
export function StudyWorkflowSection(props: WorkflowProps) {
  return (
    <section aria-labelledby="workflow-heading">
      <h2 id="workflow-heading">Workflow</h2>
      <div className="card row workflow-panel">
        <label className="inline-label">
          Priority <PriorityControl {...props} />
        </label>
        <span className="inline-label">
          Assignee <AssigneeControl {...props} />
        </span>
        <p className="muted small-print">
          The status follows the work done: processed once the images are decoded, analysed after an AI result, reported once a report is final.
        </p>
      </div>
    </section>
  );
}
