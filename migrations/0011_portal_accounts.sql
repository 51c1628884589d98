CREATE TABLE "portal_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"display_name" text DEFAULT '' NOT NULL,
	"password_hash" text NOT NULL,
	"status" text NOT NULL,
	"consumer" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"email_verified_at" timestamp with time zone,
	"decided_at" timestamp with time zone,
	"decided_by" text,
	CONSTRAINT "portal_accounts_email_unique" UNIQUE("email"),
	CONSTRAINT "portal_accounts_consumer_unique" UNIQUE("consumer")
);
--> statement-breakpoint
CREATE TABLE "portal_subscription_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"consumer" text NOT NULL,
	"plan" text NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone,
	"decided_by" text,
	"subscription" text
);
--> statement-breakpoint
CREATE TABLE "portal_tokens" (
	"hash" text PRIMARY KEY NOT NULL,
	"purpose" text NOT NULL,
	"account_id" text,
	"email" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "portal_accounts_status_idx" ON "portal_accounts" USING btree ("status");--> statement-breakpoint
CREATE INDEX "portal_subscription_requests_status_idx" ON "portal_subscription_requests" USING btree ("status");--> statement-breakpoint
CREATE INDEX "portal_subscription_requests_consumer_idx" ON "portal_subscription_requests" USING btree ("consumer");--> statement-breakpoint
CREATE INDEX "portal_tokens_email_idx" ON "portal_tokens" USING btree ("email");