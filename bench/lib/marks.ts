// When did the read model show it? A deferred constraint trigger on the bench's own throwaway
// database stamps clock_timestamp() at COMMIT of every phase change of an instance, so "Ready in
// the read model" is timed to the millisecond without polling. (The trigger exists only in the
// bench database; it adds one small INSERT to the projection's transaction.)
import type pg from 'pg';

export async function installPhaseMarks(pool: pg.Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS bench_phase_marks (
      instance_id text NOT NULL, tenant text NOT NULL, name text NOT NULL, phase text NOT NULL,
      at timestamptz NOT NULL, PRIMARY KEY (instance_id, phase));
    CREATE OR REPLACE FUNCTION bench_phase_mark() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' OR NEW.phase IS DISTINCT FROM OLD.phase THEN
        INSERT INTO bench_phase_marks VALUES (NEW.instance_id, NEW.tenant, NEW.name, NEW.phase, clock_timestamp())
        ON CONFLICT DO NOTHING;
      END IF;
      RETURN NULL;
    END $$;
    DROP TRIGGER IF EXISTS bench_phase_mark ON instances;
    CREATE CONSTRAINT TRIGGER bench_phase_mark AFTER INSERT OR UPDATE ON instances
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench_phase_mark();
  `);
}

export interface PhaseMark {
  instanceId: string;
  tenant: string;
  name: string;
  /** epoch ms */
  at: number;
}

export async function phaseMarks(pool: pg.Pool, phase: string): Promise<PhaseMark[]> {
  const { rows } = await pool.query<{ instance_id: string; tenant: string; name: string; at_ms: string }>(
    `SELECT instance_id, tenant, name, (extract(epoch FROM at) * 1000)::float8 AS at_ms FROM bench_phase_marks WHERE phase = $1`,
    [phase],
  );
  return rows.map((r) => ({ instanceId: r.instance_id, tenant: r.tenant, name: r.name, at: Number(r.at_ms) }));
}

export async function countPhase(pool: pg.Pool, phase: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM bench_phase_marks WHERE phase = $1', [phase]);
  return Number(rows[0]!.n);
}

/** Same idea for maintenance runs: when each status change of a run was committed. */
export async function installMaintenanceMarks(pool: pg.Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS bench_maintenance_marks (
      instance_id text NOT NULL, run_id text NOT NULL, status text NOT NULL, at timestamptz NOT NULL,
      PRIMARY KEY (instance_id, run_id, status));
    CREATE OR REPLACE FUNCTION bench_maintenance_mark() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO bench_maintenance_marks VALUES (NEW.instance_id, NEW.run_id, NEW.status, clock_timestamp()) ON CONFLICT DO NOTHING;
      END IF;
      RETURN NULL;
    END $$;
    DROP TRIGGER IF EXISTS bench_maintenance_mark ON maintenance_runs;
    CREATE CONSTRAINT TRIGGER bench_maintenance_mark AFTER INSERT OR UPDATE ON maintenance_runs
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench_maintenance_mark();
  `);
}

export async function maintenanceMarks(pool: pg.Pool, status: string): Promise<{ instanceId: string; runId: string; at: number }[]> {
  const { rows } = await pool.query<{ instance_id: string; run_id: string; at_ms: number }>(
    `SELECT instance_id, run_id, (extract(epoch FROM at) * 1000)::float8 AS at_ms FROM bench_maintenance_marks WHERE status = $1`,
    [status],
  );
  return rows.map((r) => ({ instanceId: r.instance_id, runId: r.run_id, at: Number(r.at_ms) }));
}
