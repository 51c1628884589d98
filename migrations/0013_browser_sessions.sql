CREATE TABLE "browser_sessions" (
	"hash" text PRIMARY KEY NOT NULL,
	"realm" text NOT NULL,
	"token_hash" text NOT NULL,
	"token_id" text NOT NULL,
	"csrf" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "browser_sessions_realm_created_idx" ON "browser_sessions" USING btree ("realm","created_at");--> statement-breakpoint
CREATE INDEX "browser_sessions_realm_seen_idx" ON "browser_sessions" USING btree ("realm","last_seen_at");