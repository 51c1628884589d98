CREATE TABLE "event_dedupe_keys" (
	"key" text PRIMARY KEY NOT NULL,
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "event_dedupe_keys_claimed_at_idx" ON "event_dedupe_keys" USING btree ("claimed_at");--> statement-breakpoint
CREATE INDEX "events_occurred_at_idx" ON "events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_event_seq_idx" ON "webhook_deliveries" USING btree ("event_seq");--> statement-breakpoint
-- Hand-written (drizzle-kit generates no data changes): the keys of the events stored so far, so
-- writeEvents, which now claims keys in event_dedupe_keys, keeps deduplicating against them.
INSERT INTO "event_dedupe_keys" ("key", "claimed_at") SELECT "dedupe_key", "occurred_at" FROM "events" WHERE "dedupe_key" IS NOT NULL ON CONFLICT ("key") DO NOTHING;
