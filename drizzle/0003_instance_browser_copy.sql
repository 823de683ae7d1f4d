ALTER TABLE "instances" ADD COLUMN "browser_storage_key" text;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "browser_transfer_syntax_uid" text;