/**
 * Holds a DuckDB file open, as a notebook or `duckdb` shell would, until
 * stdin closes: `node hold_db.ts FILE [--read-only]`. Prints "ready" once the
 * lock is held. Used by locked_db_test.ts.
 */
import { openDatabase } from "../../src/load/db.ts";

const [file, mode] = process.argv.slice(2);
const db = await openDatabase(file, { readOnly: mode === "--read-only" });
if (mode !== "--read-only") await db.run("CREATE TABLE IF NOT EXISTS held AS SELECT 1 AS x");
process.stdout.write("ready\n");
process.stdin.resume();
process.stdin.on("end", () => {
  db.close();
  process.exit(0);
});
