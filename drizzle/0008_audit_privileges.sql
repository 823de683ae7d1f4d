-- Privileges on top of the append-only trigger (0001): no role keeps UPDATE, DELETE or TRUNCATE
-- on the audit trail, including the role running the migrations (the owner). The owner can still
-- grant them back or disable the trigger, superusers bypass privileges altogether: production runs
-- the app as a separate role that owns nothing (README, "Audit trail").
REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON "audit_log" FROM PUBLIC;
--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON "audit_log" FROM CURRENT_USER;
--> statement-breakpoint
-- Roles given table privileges before this ran (GRANT ... ON ALL TABLES, ALTER DEFAULT PRIVILEGES).
DO $$
DECLARE grantee_name text;
BEGIN
  FOR grantee_name IN
    SELECT DISTINCT r.rolname
    FROM pg_class c
    CROSS JOIN LATERAL aclexplode(c.relacl) a
    JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.oid = 'audit_log'::regclass AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES')
  LOOP
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON "audit_log" FROM %I', grantee_name);
  END LOOP;
END
$$;
