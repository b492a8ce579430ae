/**
 * Adding columns to a table that exists, at a cost linear in the columns added.
 *
 * DuckDB has no statement that adds several columns (`ALTER TABLE … ADD COLUMN a, ADD COLUMN b`
 * is a parser error; duckdb/duckdb#9677), and each `ALTER TABLE … ADD COLUMN` is costly: it
 * materializes the new column, NULLs included, in memory for every row group (≥ 512 KB each, held
 * until the next checkpoint and spilled to `<db>.tmp` past the memory limit), and copies the whole
 * table definition; inside a transaction every copy is kept for rollback. One record with 3,000
 * new keys took 3.4 GB and 48 s that way, then failed to commit (issue #11; duckdb/duckdb#3780).
 * So a few new columns are added with ALTER TABLE, and many are added by rebuilding the table
 * once: a new table with every column, the rows copied over, the old table dropped and the new
 * one renamed — four statements, in the caller's transaction, so a rollback or a crash leaves the
 * old table as it was. Its cost is one pass over the rows (scripts/bench_wide.ts has the figures).
 */
import type { ColumnSchema } from "../normalize/types.ts";
import { duckdbType } from "../normalize/types.ts";
import { quoteIdent as q, type Database } from "./db.ts";

/**
 * Up to this many new columns at once are added with ALTER TABLE; more rebuild the table. 64 ALTERs
 * take a fraction of a second on a small table (~3 s on a million rows) and hold 32–70 MB per row
 * group of 122,880 rows, where a rebuild copies every row (~4 s per million rows, more the more
 * columns); past a few hundred, the ALTERs' memory and time grow with the square of the columns.
 */
export const ALTER_MAX_COLUMNS = 64;

/** Name the rebuilt table has until it replaces the old one (inside one transaction, so never seen). */
const REBUILD_NAME = "_rd_widen";

/**
 * Adds `columns` (in order) to `schema.table`, after the columns it has. Run it inside a
 * transaction: a rebuild is four statements that must commit together.
 */
export async function addColumns(db: Database, schema: string, table: string, columns: ColumnSchema[]): Promise<void> {
  if (columns.length === 0) return;
  if (columns.length > ALTER_MAX_COLUMNS && (await rebuildWith(db, schema, table, columns))) return;
  for (const column of columns) {
    await db.run(`ALTER TABLE ${q(schema)}.${q(table)} ADD COLUMN ${q(column.name)} ${duckdbType(column)}`);
  }
}

interface ExistingColumn {
  column_name: string;
  data_type: string;
  is_nullable: boolean;
  column_default: string | null;
}

/** Whether a table has an index, or a constraint other than NOT NULL (a key, unique or check): none that restduck makes. */
export async function hasIndexes(db: Database, schema: string, table: string): Promise<boolean> {
  const where = "database_name = current_database() AND schema_name = ? AND table_name = ?";
  const [found] = await db.all<{ n: number }>(
    `SELECT ((SELECT count(*) FROM duckdb_indexes() WHERE ${where})
           + (SELECT count(*) FROM duckdb_constraints() WHERE ${where} AND constraint_type <> 'NOT NULL'))::INTEGER AS n`,
    [schema, table, schema, table],
  );
  return found.n > 0;
}

/**
 * Rebuilds `schema.table` with `columns` added at the end: its columns keep their names, order,
 * types, NOT NULL and defaults (as DuckDB describes them), its rows stay as they were. Returns
 * false, changing nothing, for a table a rebuild would not reproduce — one with indexes, key,
 * unique or check constraints, generated columns or comments, none of which restduck creates:
 * such a table (made or changed by hand) gets its columns by ALTER TABLE.
 */
async function rebuildWith(db: Database, schema: string, table: string, columns: ColumnSchema[]): Promise<boolean> {
  const where = "database_name = current_database() AND schema_name = ? AND table_name = ?";
  if (await hasIndexes(db, schema, table)) return false;
  const [extras] = await db.all<{ n: number }>(
    `SELECT ((SELECT count(*) FROM duckdb_columns() WHERE ${where} AND comment IS NOT NULL)
           + (SELECT count(*) FROM duckdb_tables() WHERE ${where} AND (comment IS NOT NULL OR sql LIKE '%GENERATED ALWAYS AS%')))::INTEGER AS n`,
    [schema, table, schema, table],
  );
  if (extras.n > 0) return false;
  const existing = await db.all<ExistingColumn>(
    `SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns() WHERE ${where} ORDER BY column_index`,
    [schema, table],
  );
  if (existing.length === 0) return false;
  const defs = existing.map(
    (c) => `${q(c.column_name)} ${c.data_type}${c.is_nullable ? "" : " NOT NULL"}${c.column_default == null ? "" : ` DEFAULT ${c.column_default}`}`,
  );
  // Added columns are nullable, as ALTER TABLE adds them: rows already there have no value.
  for (const column of columns) defs.push(`${q(column.name)} ${duckdbType(column)}`);
  const target = `${q(schema)}.${q(table)}`;
  const rebuilt = `${q(schema)}.${q(REBUILD_NAME)}`;
  const names = existing.map((c) => q(c.column_name)).join(", ");
  await db.run(`CREATE TABLE ${rebuilt} (${defs.join(", ")})`);
  await db.run(`INSERT INTO ${rebuilt} (${names}) SELECT ${names} FROM ${target}`);
  await db.run(`DROP TABLE ${target}`);
  await db.run(`ALTER TABLE ${rebuilt} RENAME TO ${q(table)}`);
  return true;
}
