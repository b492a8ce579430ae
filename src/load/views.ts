/**
 * Analysis views in `main`, so `select * from chat_messages` works in any plain DuckDB session
 * (issue #4):
 *
 * - one view per resource: its table's current rows and typed columns, no `_dlt_*` columns;
 * - one view per nested table, named after the resource plus the table's suffix
 *   (`chat_messages__reactions`), carrying the root row's primary key as `<root>_<key>`
 *   (`chat_messages_id`) and the item's position in its list as `<list>_idx` (`reactions_idx`),
 *   plus the positions of every list above it, so nested views join on (key, positions) without
 *   `_dlt_*` columns: `users u join reactions r using (chat_messages_id, reactions_idx)`;
 * - `_restduck_runs`: one row per run with start, end, status and rows written per table;
 * - the config's `views: { name: SQL }`, created after the others in dependency order. Each must be
 *   one read-only SELECT (view_sql.ts): checked before a run starts, and again here, each created
 *   as one prepared statement, so nothing else can ride along.
 *
 * A root without a primary key has no key that joins its views: its nested views carry only the list
 * positions, and joins go through the dataset's tables (`_dlt_parent_id = _dlt_id`), as with dlt.
 * Views never show `_dlt_*` values: they are random for such roots, and two loads of the same data
 * give equal views.
 *
 * A view that cannot be created is reported in {@link ViewResult.failed} and never undoes the load.
 */
import type { Schema, TableSchema } from "../normalize/types.ts";
import { quoteIdent as q, quoteString as s, type Database } from "./db.ts";
import { builtinFunctions, checkViewSql } from "./view_sql.ts";
import { SCD2_TO } from "./strategies/scd2.ts";
import { columnsOf, tablesIn } from "./tables.ts";

/** What {@link refreshViews} did. */
export interface ViewResult {
  created: string[];
  /** Views that failed to create, with DuckDB's error. They do not undo the load. */
  failed: { name: string; error: string }[];
}

/** A resource as the views need it: its name (the view's), its root table and primary key columns. */
export interface ViewResource {
  name: string;
  table: string;
  primaryKey: string[];
}

const DLT_PREFIX = "_dlt_";

/**
 * (Re)creates every view of a dataset in `main`.
 *
 * @param db The open database, with the dataset loaded.
 * @param options The dataset, its schema, the resources (for view names and keys) and the config's views.
 * @returns The views created and those that failed, in creation order.
 */
export async function refreshViews(
  db: Database,
  options: { dataset: string; schema: Schema; resources: ViewResource[]; views: Record<string, string> },
): Promise<ViewResult> {
  const ds = q(options.dataset);
  const result: ViewResult = { created: [], failed: [] };
  const create = async (name: string, sql: string): Promise<string | undefined> => {
    try {
      // Prepared: DuckDB refuses more than one statement, whatever the SQL holds.
      await (await db.connection.prepare(`CREATE OR REPLACE VIEW main.${q(name)} AS ${sql}`)).run();
      result.created.push(name);
      return undefined;
    } catch (error) {
      return _firstLine(error);
    }
  };

  // Only columns that exist: a table's schema can name columns a failed batch never created.
  const physical = new Map<string, Set<string>>();
  const listed = await tablesIn(db, options.dataset);
  for (const name of Object.keys(options.schema.tables)) {
    if (listed.has(name)) physical.set(name, new Set(await columnsOf(db, options.dataset, name)));
  }

  const resourceOf = new Map(options.resources.map((r) => [r.table, r]));
  for (const table of Object.values(options.schema.tables)) {
    const chain = _chain(options.schema, table);
    if (chain === undefined || chain.some((t) => !physical.has(t.name))) continue;
    const root = chain[0];
    const resource = resourceOf.get(root.name);
    const keys = (resource?.primaryKey ?? []).filter((k) => physical.get(root.name)!.has(k));
    const viewName = resource === undefined ? table.name : resource.name + table.name.slice(root.name.length);
    const sql = table === root ? _rootSql(ds, table, physical.get(table.name)!) : _nestedSql(ds, chain, physical, keys);
    const error = await create(viewName, sql);
    if (error !== undefined) result.failed.push({ name: viewName, error });
  }

  const runsError = await create("_restduck_runs", _runsSql(ds, options.dataset));
  if (runsError !== undefined) result.failed.push({ name: "_restduck_runs", error: runsError });

  // Config views may build on each other in any order: create what can be created, then retry
  // the rest while that makes progress. The error kept is each view's last one.
  const errors = new Map<string, string>();
  const builtins = Object.keys(options.views).length ? await builtinFunctions(db) : new Set<string>();
  let pending: [string, string][] = [];
  for (const [name, sql] of Object.entries(options.views)) {
    const refused = await checkViewSql(db, sql, builtins);
    if (refused === undefined) pending.push([name, sql]);
    else errors.set(name, `refused: ${refused}`);
  }
  while (pending.length > 0) {
    const next: [string, string][] = [];
    for (const [name, sql] of pending) {
      const error = await create(name, sql);
      if (error === undefined) errors.delete(name);
      else {
        errors.set(name, error);
        next.push([name, sql]);
      }
    }
    if (next.length === pending.length) break;
    pending = next;
  }
  for (const [name, error] of errors) result.failed.push({ name, error });
  return result;
}

/** The root's data columns. */
function _rootSql(ds: string, table: TableSchema, physical: Set<string>): string {
  const cols = _dataColumns(table, physical).map(q);
  // An scd2 table keeps every version; its current rows are the open ones.
  const current = physical.has(SCD2_TO) ? ` WHERE ${q(SCD2_TO)} IS NULL` : "";
  return `SELECT ${cols.join(", ") || "*"} FROM ${ds}.${q(table.name)}${current}`;
}

/**
 * A nested table joined up its parent chain to the root: the root's key, each list's position,
 * then the table's own data columns.
 */
function _nestedSql(ds: string, chain: TableSchema[], physical: Map<string, Set<string>>, keys: string[]): string {
  const table = chain[chain.length - 1];
  const root = chain[0];
  const data = _dataColumns(table, physical.get(table.name)!);
  const used = new Set(data);
  const unique = (name: string) => {
    let out = name;
    for (let n = 2; used.has(out); n++) out = `${name}_${n}`;
    used.add(out);
    return out;
  };
  const select: string[] = [];
  const aliases = chain.map((_, i) => (i === 0 ? "r" : i === chain.length - 1 ? "c" : `p${i}`));
  for (const key of keys) select.push(`r.${q(key)} AS ${q(unique(`${root.name}_${key}`))}`);
  for (let i = 1; i < chain.length; i++) select.push(`${aliases[i]}._dlt_list_idx AS ${q(unique(`${_listName(chain[i - 1], chain[i])}_idx`))}`);
  for (const column of data) select.push(`c.${q(column)}`);
  const joins: string[] = [];
  for (let i = chain.length - 2; i >= 0; i--) {
    joins.push(`JOIN ${ds}.${q(chain[i].name)} ${aliases[i]} ON ${aliases[i + 1]}._dlt_parent_id = ${aliases[i]}._dlt_id`);
  }
  return `SELECT ${select.join(", ")} FROM ${ds}.${q(table.name)} c ${joins.join(" ")}`;
}

/** Columns of a table that hold data, in schema order, that exist in DuckDB. */
function _dataColumns(table: TableSchema, physical: Set<string>): string[] {
  return Object.keys(table.columns).filter((name) => !name.startsWith(DLT_PREFIX) && physical.has(name));
}

/** The list a nested table holds, as its name reads below its parent's: `reactions` for `chat_messages__reactions`. */
function _listName(parent: TableSchema, table: TableSchema): string {
  const prefix = `${parent.name}__`;
  return table.name.startsWith(prefix) ? table.name.slice(prefix.length) : table.name;
}

/** The tables from the root down to `table`, or undefined when a parent is missing from the schema. */
function _chain(schema: Schema, table: TableSchema): TableSchema[] | undefined {
  const chain = [table];
  for (let t = table; t.parent !== undefined; ) {
    const parent = Object.hasOwn(schema.tables, t.parent) ? schema.tables[t.parent] : undefined;
    if (parent === undefined || chain.includes(parent)) return undefined;
    chain.unshift(parent);
    t = parent;
  }
  return chain;
}

/** One row per run; rows per table are what the run's batches wrote, summed. */
function _runsSql(ds: string, dataset: string): string {
  const rowsTable = `${ds}._restduck_table_rows`;
  return `SELECT r.load_id, r.pipeline_name, r.started_at, r.finished_at, r.status, r.error, r.requests, r.retries,
      (SELECT sum(c.rows) FROM ${ds}._restduck_checkpoints c WHERE c.load_id = r.load_id)::BIGINT AS rows,
      (SELECT map(list(c.resource ORDER BY c.resource), list(c.rows ORDER BY c.resource)) FROM ${ds}._restduck_checkpoints c WHERE c.load_id = r.load_id) AS rows_per_resource,
      (SELECT map(list(t.table_name ORDER BY t.table_name), list(t.rows ORDER BY t.table_name))
         FROM (SELECT table_name, sum(rows)::BIGINT AS rows FROM ${rowsTable} WHERE load_id = r.load_id GROUP BY table_name) t) AS rows_per_table,
      ${s(dataset)} AS dataset_name
    FROM ${ds}._restduck_runs r ORDER BY r.started_at`;
}

function _firstLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split("\n")[0];
}
