-- The single config_state row: every apply locks it (SELECT ... FOR UPDATE) and bumps its version.
INSERT INTO "config_state" ("id", "version") VALUES (1, 0) ON CONFLICT ("id") DO NOTHING;
