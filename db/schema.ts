import { relations, sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  inet,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () =>
  timestamp('updated_at', { withTimezone: true })
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());

export const userRole = pgEnum('user_role', ['admin', 'radiologist', 'clinician', 'viewer']);
export const USER_ROLES = userRole.enumValues;
export type UserRole = (typeof USER_ROLES)[number];

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // Stored lower-cased so that sign-in and uniqueness are case-insensitive.
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: userRole('role').notNull().default('viewer'),
    disabled: boolean('disabled').notNull().default(false),
    // Bumped whenever a user's sessions must end (role change, disable, password reset).
    sessionVersion: integer('session_version').notNull().default(1),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email)],
);

export const patients = pgTable(
  'patients',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // DICOM (0010,0020) Patient ID with its issuer; NIfTI uploads get one from upload metadata.
    patientKey: text('patient_key').notNull(),
    issuer: text('issuer').notNull().default(''),
    name: text('name'),
    birthDate: text('birth_date'),
    sex: text('sex'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('patients_key_issuer_key').on(t.patientKey, t.issuer), index('patients_name_idx').on(t.name)],
);

export const studyStatus = pgEnum('study_status', ['received', 'processing', 'processed', 'analysed', 'reported', 'failed']);
export const studyPriority = pgEnum('study_priority', ['routine', 'urgent', 'stat']);

export const studies = pgTable(
  'studies',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id, { onDelete: 'restrict' }),
    studyInstanceUid: text('study_instance_uid').notNull(),
    studyDate: text('study_date'),
    studyTime: text('study_time'),
    accessionNumber: text('accession_number'),
    description: text('description'),
    modalities: text('modalities').array().notNull().default(sql`'{}'::text[]`),
    referringPhysician: text('referring_physician'),
    status: studyStatus('status').notNull().default('received'),
    priority: studyPriority('priority').notNull().default('routine'),
    assigneeId: uuid('assignee_id').references(() => users.id, { onDelete: 'set null' }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('studies_uid_key').on(t.studyInstanceUid),
    index('studies_patient_idx').on(t.patientId),
    index('studies_date_idx').on(t.studyDate),
    index('studies_accession_idx').on(t.accessionNumber),
    index('studies_assignee_idx').on(t.assigneeId),
  ],
);

export const series = pgTable(
  'series',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    studyId: uuid('study_id')
      .notNull()
      .references(() => studies.id, { onDelete: 'cascade' }),
    seriesInstanceUid: text('series_instance_uid').notNull(),
    modality: text('modality'),
    seriesNumber: integer('series_number'),
    description: text('description'),
    bodyPart: text('body_part'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('series_uid_key').on(t.seriesInstanceUid), index('series_study_idx').on(t.studyId)],
);

export const fileFormat = pgEnum('file_format', ['dicom', 'nifti']);

export const instances = pgTable(
  'instances',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    seriesId: uuid('series_id')
      .notNull()
      .references(() => series.id, { onDelete: 'cascade' }),
    sopInstanceUid: text('sop_instance_uid').notNull(),
    sopClassUid: text('sop_class_uid'),
    instanceNumber: integer('instance_number'),
    format: fileFormat('format').notNull(),
    transferSyntaxUid: text('transfer_syntax_uid'),
    // Opaque key inside lib/storage; never derived from client-supplied names.
    storageKey: text('storage_key').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    // A copy in a transfer syntax the browser viewer decodes (e.g. JPEG-LS transcoded to Explicit
    // VR Little Endian) when the original is not one; the original is never altered.
    browserStorageKey: text('browser_storage_key'),
    browserTransferSyntaxUid: text('browser_transfer_syntax_uid'),
    rows: integer('rows'),
    columns: integer('columns'),
    frames: integer('frames').notNull().default(1),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    uploadId: uuid('upload_id').references(() => uploads.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('instances_sop_uid_key').on(t.sopInstanceUid),
    uniqueIndex('instances_storage_key').on(t.storageKey),
    index('instances_series_idx').on(t.seriesId),
  ],
);

export const uploadStatus = pgEnum('upload_status', ['receiving', 'processing', 'ready', 'failed']);

export const uploads = pgTable(
  'uploads',
  {
    // Also the tus upload id: generated server-side, it names the file in the tus store.
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    tokenId: uuid('token_id').references(() => apiTokens.id, { onDelete: 'set null' }),
    filename: text('filename'),
    declaredSize: bigint('declared_size', { mode: 'number' }),
    receivedBytes: bigint('received_bytes', { mode: 'number' }).notNull().default(0),
    sha256: text('sha256'),
    status: uploadStatus('status').notNull().default('receiving'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    studyId: uuid('study_id').references(() => studies.id, { onDelete: 'set null' }),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    // What ingest made of the file: instances stored, duplicates, skipped archive entries.
    result: jsonb('result').$type<Record<string, unknown>>(),
    // A lease on writing to the upload (PATCH, ingest): tus's own locker only knows one process,
    // and a lease that lapses frees an upload whose writer died without releasing it.
    lockOwner: text('lock_owner'),
    lockExpiresAt: timestamp('lock_expires_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('uploads_user_idx').on(t.userId), index('uploads_token_idx').on(t.tokenId)],
);

export const jobStatus = pgEnum('job_status', ['queued', 'running', 'succeeded', 'failed', 'cancelled']);

export const processingJobs = pgTable(
  'processing_jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    status: jobStatus('status').notNull().default('queued'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    result: jsonb('result').$type<Record<string, unknown>>(),
    progress: integer('progress').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    timeoutSeconds: integer('timeout_seconds').notNull().default(300),
    runAt: timestamp('run_at', { withTimezone: true }).notNull().defaultNow(),
    lockedAt: timestamp('locked_at', { withTimezone: true }),
    lockedBy: text('locked_by'),
    // Renewed by the running worker's heartbeat; once it lapses the worker is presumed dead and
    // the job is taken back (lib/jobs/queue.ts).
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    // At most one queued or running job per (kind, dedupe_key): re-triggering joins the active one.
    dedupeKey: text('dedupe_key'),
    error: text('error'),
    studyId: uuid('study_id').references(() => studies.id, { onDelete: 'cascade' }),
    uploadId: uuid('upload_id').references(() => uploads.id, { onDelete: 'set null' }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('jobs_ready_idx').on(t.status, t.runAt),
    index('jobs_study_idx').on(t.studyId),
    index('jobs_lease_idx').on(t.leaseExpiresAt).where(sql`status = 'running'`),
    uniqueIndex('jobs_active_dedupe_key')
      .on(t.kind, t.dedupeKey)
      .where(sql`status in ('queued', 'running') and dedupe_key is not null`),
  ],
);

export const analysisKind = pgEnum('analysis_kind', ['ai_answer', 'report', 'segmentation']);
export const analysisStatus = pgEnum('analysis_status', ['pending', 'draft', 'final', 'failed']);

export const analysisResults = pgTable(
  'analysis_results',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: analysisKind('kind').notNull(),
    status: analysisStatus('status').notNull().default('draft'),
    studyId: uuid('study_id')
      .notNull()
      .references(() => studies.id, { onDelete: 'cascade' }),
    seriesId: uuid('series_id').references(() => series.id, { onDelete: 'cascade' }),
    instanceId: uuid('instance_id').references(() => instances.id, { onDelete: 'cascade' }),
    model: text('model'),
    prompt: text('prompt'),
    content: jsonb('content').$type<Record<string, unknown>>().notNull().default({}),
    imageRefs: jsonb('image_refs').$type<unknown[]>().notNull().default([]),
    durationMs: integer('duration_ms'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    signedBy: uuid('signed_by').references(() => users.id, { onDelete: 'set null' }),
    signedAt: timestamp('signed_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('analysis_study_idx').on(t.studyId, t.kind)],
);

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    // sha256 of the secret; the secret itself is shown once at creation and never stored.
    tokenHash: text('token_hash').notNull(),
    prefix: text('prefix').notNull(),
    scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
    role: userRole('role').notNull().default('viewer'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('api_tokens_hash_key').on(t.tokenHash)],
);

/**
 * Worklist filters a user (or an API token) saved under a name. `filters` holds the validated
 * search (lib/studies/query.ts), never a raw query string; names are unique per owner, ignoring case.
 */
export const savedSearches = pgTable(
  'saved_searches',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    tokenId: uuid('token_id').references(() => apiTokens.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    filters: jsonb('filters').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('saved_searches_one_owner', sql`(${t.userId} is null) <> (${t.tokenId} is null)`),
    uniqueIndex('saved_searches_user_name_key').on(t.userId, sql`lower(${t.name})`).where(sql`${t.userId} is not null`),
    uniqueIndex('saved_searches_token_name_key').on(t.tokenId, sql`lower(${t.name})`).where(sql`${t.tokenId} is not null`),
  ],
);

export const auditOutcome = pgEnum('audit_outcome', ['success', 'failure', 'denied']);

/** Append-only: a trigger rejects UPDATE, DELETE and TRUNCATE (drizzle/0001); 0007 revokes those privileges too. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    action: text('action').notNull(),
    outcome: auditOutcome('outcome').notNull(),
    userId: uuid('user_id'),
    userEmail: text('user_email'),
    role: text('role'),
    tokenId: uuid('token_id'),
    // No foreign keys: the trail must outlive the rows it describes.
    patientId: uuid('patient_id'),
    studyId: uuid('study_id'),
    resourceType: text('resource_type'),
    resourceId: text('resource_id'),
    clientAddress: inet('client_address'),
    userAgent: text('user_agent'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    // DICOM PS3.15 A.5 audit message fields, derived from `action`/`outcome` in lib/audit/events.ts.
    // Nullable only because rows written before they existed cannot be updated (append-only).
    /** EventID, a DCM code value (e.g. 110103 DICOM Instances Accessed). */
    eventId: text('event_id'),
    /** EventTypeCode, a DCM code value where PS3.15 defines one (110122 Login, 110123 Logout, …). */
    eventTypeCode: text('event_type_code'),
    /** EventActionCode: C create, R read, U update, D delete, E execute. */
    eventActionCode: text('event_action_code').$type<'C' | 'R' | 'U' | 'D' | 'E'>(),
    /** EventOutcomeIndicator: 0 success, 4 minor failure, 8 serious failure, 12 major failure. */
    eventOutcomeIndicator: smallint('event_outcome_indicator').$type<0 | 4 | 8 | 12>(),
  },
  (t) => [
    check('audit_event_action_code', sql`${t.eventActionCode} in ('C', 'R', 'U', 'D', 'E')`),
    check('audit_event_outcome_indicator', sql`${t.eventOutcomeIndicator} in (0, 4, 8, 12)`),
    index('audit_action_idx').on(t.action, t.at),
    index('audit_at_idx').on(t.at),
    index('audit_user_idx').on(t.userId, t.at),
    index('audit_study_idx').on(t.studyId, t.at),
    index('audit_patient_idx').on(t.patientId, t.at),
  ],
);

/**
 * One row per browser sign-in. The JWT cookie only names its row (`sid`): signing out, the idle
 * limit and the absolute limit are enforced here, so a copied or resurrected cookie stops working.
 */
export const userSessions = pgTable(
  'user_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
    clientAddress: inet('client_address'),
    userAgent: text('user_agent'),
  },
  (t) => [index('user_sessions_user_idx').on(t.userId)],
);

/** Failed sign-in counters, keyed by `account:<email>` or `address:<ip>`. */
export const loginThrottle = pgTable('login_throttle', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull().default(0),
  windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull().defaultNow(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
});

export const usersRelations = relations(users, ({ many }) => ({
  apiTokens: many(apiTokens),
}));

export const patientsRelations = relations(patients, ({ many }) => ({ studies: many(studies) }));

export const studiesRelations = relations(studies, ({ one, many }) => ({
  patient: one(patients, { fields: [studies.patientId], references: [patients.id] }),
  assignee: one(users, { fields: [studies.assigneeId], references: [users.id] }),
  series: many(series),
  jobs: many(processingJobs),
  analyses: many(analysisResults),
}));

export const seriesRelations = relations(series, ({ one, many }) => ({
  study: one(studies, { fields: [series.studyId], references: [studies.id] }),
  instances: many(instances),
}));

export const instancesRelations = relations(instances, ({ one }) => ({
  series: one(series, { fields: [instances.seriesId], references: [series.id] }),
  upload: one(uploads, { fields: [instances.uploadId], references: [uploads.id] }),
}));

export const processingJobsRelations = relations(processingJobs, ({ one }) => ({
  study: one(studies, { fields: [processingJobs.studyId], references: [studies.id] }),
}));

export const analysisResultsRelations = relations(analysisResults, ({ one }) => ({
  study: one(studies, { fields: [analysisResults.studyId], references: [studies.id] }),
}));

export const apiTokensRelations = relations(apiTokens, ({ one }) => ({
  creator: one(users, { fields: [apiTokens.createdBy], references: [users.id] }),
}));

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Patient = typeof patients.$inferSelect;
export type Study = typeof studies.$inferSelect;
export type Series = typeof series.$inferSelect;
export type Instance = typeof instances.$inferSelect;
export type Upload = typeof uploads.$inferSelect;
export type ProcessingJob = typeof processingJobs.$inferSelect;
export type AnalysisResult = typeof analysisResults.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type UserSession = typeof userSessions.$inferSelect;
export type SavedSearch = typeof savedSearches.$inferSelect;
export type AuditEntry = typeof auditLog.$inferSelect;
export type NewAuditEntry = typeof auditLog.$inferInsert;
