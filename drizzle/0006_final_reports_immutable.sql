-- A signed report is part of the medical record: once final, no code path or database client may
-- change or delete it (corrections are new reports). Drafts stay editable; draft -> final is the
-- one allowed transition and must name who signed and when.
CREATE OR REPLACE FUNCTION analysis_results_final_report_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.kind = 'report' AND OLD.status = 'final' THEN
      RAISE EXCEPTION 'final report % cannot be deleted', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.kind = 'report' AND OLD.status = 'final' THEN
    RAISE EXCEPTION 'final report % cannot be changed', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.kind = 'report' AND NEW.status = 'final' AND (NEW.signed_by IS NULL OR NEW.signed_at IS NULL) THEN
    RAISE EXCEPTION 'a final report needs signed_by and signed_at' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER analysis_results_final_report_guard BEFORE UPDATE OR DELETE ON analysis_results
  FOR EACH ROW EXECUTE FUNCTION analysis_results_final_report_guard();
