/** Durable processing jobs in PostgreSQL; see queue.ts for the design. */
export {
  cancelJob,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TIMEOUT_SECONDS,
  enqueueJob,
  getJob,
  getJobHandler,
  JobLeaseLostError,
  JobTimeoutError,
  latestJobStatusByStudy,
  listJobsForStudy,
  registerJobHandler,
  type EnqueueOptions,
  type Job,
  type JobContext,
  type JobHandler,
  type JobRecord,
  type JobResult,
  type JobStatus,
  type StudyJobStatus,
} from './queue';
export { startWorker, type JobWorker, type WorkerOptions } from './worker';
