ALTER TABLE "config_state" ADD COLUMN "feed_floor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "resource_changes" ADD COLUMN "at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX "resource_changes_at_idx" ON "resource_changes" USING btree ("at");