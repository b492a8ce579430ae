/**
 * Analysis views in `main`, so `select * from chat_messages` works in any
 * plain DuckDB session: one per resource (current rows, no `_dlt_*`
 * columns), one per nested table joined back to its root's primary key, a
 * `_restduck_runs` view, and the config's own views.
 */
import type { Schema, TableSchema } from "../normalize/types.ts";
import { quoteIdent as q, type Database } from "./db.ts";
import { rootOf } from "./loader.ts";

export interface ViewResult {
  created: string[];
  /** Config views that failed to create, with DuckDB's error. They do not undo the load. */
  failed: { name: string; error: string }[];
}

const isBookkeeping = (name: string) => name.startsWith("_dlt_");

/** (Re)creates every view for a dataset. */
export async function refreshViews(
  db: Database,
  options: { dataset: string; schema: Schema; resources: { name: string; table: string; primaryKey: string[] }[]; views: Record<string, string> },
): Promise<ViewResult> {
  const ds = q(options.dataset);
  const created: string[] = [];
  const failed: ViewResult["failed"] = [];
  const existing = new Set(
    (await db.all<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = ?`, [options.dataset])).map((r) => r.table_name),
  );
  const byTable = new Map(options.resources.map((r) => [r.table, r]));

  for (const table of Object.values(options.schema.tables)) {
    if (!existing.has(table.name)) continue;
    const dataCols = Object.values(table.columns).filter((c) => !isBookkeeping(c.name));
    if (!table.parent) {
      const resource = byTable.get(table.name);
      const viewName = resource?.name ?? table.name;
      await db.run(`CREATE OR REPLACE VIEW main.${q(viewName)} AS SELECT ${dataCols.map((c) => q(c.name)).join(", ") || "*"} FROM ${ds}.${q(table.name)}`);
      created.push(viewName);
    } else {
      const root = options.schema.tables[rootOf(options.schema, table)];
      const resource = byTable.get(root.name);
      const keys = resource?.primaryKey ?? [];
      const viewName = resource && resource.name !== root.name ? resource.name + table.name.slice(root.name.length) : table.name;
      const joinCols = keys.map((k) => `r.${q(k)} AS ${q(`${root.name}_${k}`)}`);
      const childCols = dataCols.map((c) => `c.${q(c.name)}`);
      // Children of children link to the root through _dlt_root_id (merge) or by walking parents.
      const sql = table.columns._dlt_root_id
        ? `SELECT ${[...joinCols, ...childCols].join(", ")} FROM ${ds}.${q(table.name)} c JOIN ${ds}.${q(root.name)} r ON c._dlt_root_id = r._dlt_id`
        : parentChainSql(options.schema, table, ds, joinCols, childCols);
      await db.run(`CREATE OR REPLACE VIEW main.${q(viewName)} AS ${sql}`);
      created.push(viewName);
    }
  }

  await db.run(`CREATE OR REPLACE VIEW main._restduck_runs AS
    SELECT r.load_id, r.pipeline_name, r.started_at, r.finished_at, r.status, r.error, r.requests, r.retries,
           (SELECT sum(c.rows) FROM ${ds}._restduck_checkpoints c WHERE c.load_id = r.load_id)::BIGINT AS rows,
           (SELECT map(list(c.resource), list(c.rows)) FROM ${ds}._restduck_checkpoints c WHERE c.load_id = r.load_id) AS rows_per_resource
    FROM ${ds}._restduck_runs r ORDER BY r.started_at`);
  created.push("_restduck_runs");

  // Config views may build on each other: retry the failures until no progress, so order does not matter.
  let pending = Object.entries(options.views);
  let errors = new Map<string, string>();
  while (pending.length) {
    const next: [string, string][] = [];
    errors = new Map();
    for (const [name, sql] of pending) {
      try {
        await db.run(`CREATE OR REPLACE VIEW main.${q(name)} AS ${sql}`);
        created.push(name);
      } catch (error) {
        errors.set(name, (error as Error).message.split("\n")[0]);
        next.push([name, sql]);
      }
    }
    if (next.length === pending.length) break;
    pending = next;
  }
  for (const [name, error] of errors) failed.push({ name, error });
  return { created, failed };
}

function parentChainSql(schema: Schema, table: TableSchema, ds: string, joinCols: string[], childCols: string[]): string {
  const joins: string[] = [];
  let current = table;
  let alias = "c";
  let i = 0;
  while (current.parent) {
    const parent = schema.tables[current.parent];
    const parentAlias = parent.parent ? `p${i++}` : "r";
    joins.push(`JOIN ${ds}.${q(parent.name)} ${parentAlias} ON ${alias}._dlt_parent_id = ${parentAlias}._dlt_id`);
    current = parent;
    alias = parentAlias;
  }
  return `SELECT ${[...joinCols, ...childCols].join(", ")} FROM ${ds}.${q(table.name)} c ${joins.join(" ")}`;
}
