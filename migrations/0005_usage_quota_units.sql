ALTER TABLE "usage_rollups" ADD COLUMN "quota_units" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Rows written before this column existed: the rule the re-seed used until then (every unit under a
-- subscription except answers the gateway refused with a 4xx).
UPDATE "usage_rollups" SET "quota_units" = "units" WHERE "subscription" <> '' AND NOT ("source" = 'gateway' AND "status_class" = '4xx');
