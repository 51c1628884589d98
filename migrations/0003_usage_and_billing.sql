CREATE TABLE "billing_runs" (
	"month" text PRIMARY KEY NOT NULL,
	"report_id" text NOT NULL,
	"generated_at" timestamp with time zone NOT NULL,
	"source_checksum" text NOT NULL,
	"exported_at" timestamp with time zone,
	"export_dir" text
);
--> statement-breakpoint
CREATE TABLE "usage_batches" (
	"node_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"requests" bigint NOT NULL,
	"flushed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_batches_node_id_seq_pk" PRIMARY KEY("node_id","seq")
);
--> statement-breakpoint
CREATE TABLE "usage_rollups" (
	"hour" timestamp with time zone NOT NULL,
	"period" text NOT NULL,
	"consumer" text NOT NULL,
	"subscription" text NOT NULL,
	"plan" text NOT NULL,
	"api" text NOT NULL,
	"api_version" text NOT NULL,
	"route" text NOT NULL,
	"status_class" text NOT NULL,
	"source" text NOT NULL,
	"billable" boolean NOT NULL,
	"metric" text NOT NULL,
	"requests" bigint NOT NULL,
	"units" bigint NOT NULL,
	"bytes_in" bigint NOT NULL,
	"bytes_out" bigint NOT NULL,
	"latency_ms_sum" double precision NOT NULL,
	"latency_hist" bigint[] NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "usage_rollups_key" ON "usage_rollups" USING btree ("hour","period","consumer","subscription","plan","api","api_version","route","status_class","source","billable","metric");--> statement-breakpoint
CREATE INDEX "usage_rollups_period_idx" ON "usage_rollups" USING btree ("period","consumer");--> statement-breakpoint
CREATE INDEX "usage_rollups_hour_idx" ON "usage_rollups" USING btree ("hour");