CREATE TABLE "gateway_nodes" (
	"node_id" text PRIMARY KEY NOT NULL,
	"hostname" text NOT NULL,
	"pid" integer NOT NULL,
	"version" text NOT NULL,
	"config_version" bigint,
	"config_hash" text,
	"started_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"stopped_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "gateway_nodes_last_seen_idx" ON "gateway_nodes" USING btree ("last_seen_at");