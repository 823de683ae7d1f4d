ALTER TABLE "processing_jobs" ADD COLUMN "lease_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "processing_jobs" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
CREATE INDEX "jobs_lease_idx" ON "processing_jobs" USING btree ("lease_expires_at") WHERE status = 'running';--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_active_dedupe_key" ON "processing_jobs" USING btree ("kind","dedupe_key") WHERE status in ('queued', 'running') and dedupe_key is not null;