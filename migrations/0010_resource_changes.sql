CREATE TABLE "resource_changes" (
	"seq" bigint NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	CONSTRAINT "resource_changes_seq_kind_name_pk" PRIMARY KEY("seq","kind","name")
);
