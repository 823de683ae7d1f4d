ALTER TABLE "uploads" ADD COLUMN "lock_owner" text;--> statement-breakpoint
ALTER TABLE "uploads" ADD COLUMN "lock_expires_at" timestamp with time zone;