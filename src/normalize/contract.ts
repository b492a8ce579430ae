/**
 * Schema contracts as dlt defines them (https://dlthub.com/docs/general-usage/schema-contracts,
 * dlt/common/schema/schema.py `apply_schema_contract`, dlt/normalize/items_normalizers.py):
 *
 * - `tables` applies when a row would create a table. The resource's root table is new on the first
 *   run, so `tables: "freeze"` fails the first run, as in dlt (its docs: allow `evolve` for one load,
 *   then freeze). `discard_row` and `discard_value` both skip every row of that table and of its
 *   nested tables.
 * - `columns` applies when a row would add a column to an existing table. A table created in this
 *   run takes new columns freely for the rest of the run: dlt does this for the resource's root table
 *   (`x-normalizer.evolve-columns-once`, set at extract) and, for nested tables, only for the row
 *   that creates them; we treat nested tables like the root, so a run's first rows do not decide
 *   which columns later rows of the same new table may have.
 * - `data_type` applies when a value does not fit its column and would create a variant column.
 * - `freeze` throws {@link SchemaContractError}; `discard_row` drops the row and its nested rows
 *   (for a root row, the whole record); `discard_value` drops the value and keeps the row.
 * - Columns whose name starts with `_dlt` are never checked.
 */
import { RestduckError } from "../errors.ts";
import type { DataType } from "./types.ts";

/** How a schema change is handled. */
export type ContractMode = "evolve" | "freeze" | "discard_row" | "discard_value";

/** The schema entities a contract governs. */
export type ContractEntity = "tables" | "columns" | "data_type";

/** A contract per entity; unset entities evolve. */
export interface SchemaContract {
  tables?: ContractMode;
  columns?: ContractMode;
  data_type?: ContractMode;
}

/** A contract with every entity set. */
export type ResolvedContract = Readonly<Required<SchemaContract>>;

/** The default: every change is allowed. */
export const EVOLVE_CONTRACT: ResolvedContract = { tables: "evolve", columns: "evolve", data_type: "evolve" };

/**
 * Expands a contract or its shorthand into a mode per entity, as dlt's `expand_schema_contract_settings` does.
 *
 * @param contract A mode for every entity, or modes per entity; `undefined` evolves everything.
 * @returns The mode of each entity.
 */
export function resolveContract(contract: SchemaContract | ContractMode | undefined): ResolvedContract {
  if (contract === undefined) return EVOLVE_CONTRACT;
  if (typeof contract === "string") return { tables: contract, columns: contract, data_type: contract };
  return { ...EVOLVE_CONTRACT, ...Object.fromEntries(Object.entries(contract).filter(([, mode]) => mode !== undefined)) };
}

/** What a {@link SchemaContractError} is about. */
export interface SchemaContractViolation {
  /** The entity whose contract was broken. */
  entity: ContractEntity;
  /** Table the row belongs to. */
  table: string;
  /** Column that would have been added (absent for `tables`). */
  column?: string;
  /** Data type of the offending value (for `tables`, of the table's first value, if any). */
  dataType?: DataType;
  /** For `data_type`: the column the value did not fit, and its type. */
  existingColumn?: { name: string; dataType: DataType };
  /** Resource whose data broke the contract. */
  resource: string;
}

/** A record would change the schema where `schema_contract` says `freeze`; exit code 1. */
export class SchemaContractError extends RestduckError {
  /** Details of the violation. */
  readonly violation: SchemaContractViolation;

  constructor(violation: SchemaContractViolation) {
    super("SCHEMA_CONTRACT", _message(violation), { exitCode: 1, hint: _hint(violation) });
    this.violation = violation;
  }
}

function _message(v: SchemaContractViolation): string {
  const type = v.dataType === undefined ? "" : ` ${v.dataType}`;
  switch (v.entity) {
    case "tables":
      return `Cannot create table ${v.table} for resource ${v.resource}: schema_contract.tables is freeze`;
    case "columns":
      return `Cannot add column ${v.column} for a${type} value to table ${v.table} (resource ${v.resource}): schema_contract.columns is freeze`;
    case "data_type": {
      const existing = v.existingColumn;
      const target = existing === undefined ? "" : ` into column ${existing.name} (${existing.dataType})`;
      return `Cannot store a${type} value${target} of table ${v.table} (resource ${v.resource}): it needs variant column ${v.column} but schema_contract.data_type is freeze`;
    }
  }
}

function _hint(v: SchemaContractViolation): string {
  const where = `on resource ${v.resource}`;
  if (v.entity === "tables") {
    return `set schema_contract.tables to evolve (or discard_row to skip its rows) ${where}; a new resource needs evolve on its first run, then freeze holds from the next run`;
  }
  return `set schema_contract.${v.entity} to evolve to allow it, or to discard_value / discard_row to drop the value / row, ${where}`;
}
