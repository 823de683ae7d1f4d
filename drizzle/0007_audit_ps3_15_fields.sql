ALTER TABLE "audit_log" ADD COLUMN "event_id" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "event_type_code" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "event_action_code" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "event_outcome_indicator" smallint;--> statement-breakpoint
CREATE INDEX "audit_action_idx" ON "audit_log" USING btree ("action","at");--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_event_action_code" CHECK ("audit_log"."event_action_code" in ('C', 'R', 'U', 'D', 'E'));--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_event_outcome_indicator" CHECK ("audit_log"."event_outcome_indicator" in (0, 4, 8, 12));