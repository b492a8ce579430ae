/** The write strategies by name (see strategy.ts): a name without an implementation is a compile error. */
import { append } from "./append.ts";
import { deleteInsert } from "./delete_insert.ts";
import { replace } from "./replace.ts";
import { scd2 } from "./scd2.ts";
import type { StrategyName, WriteStrategy } from "./strategy.ts";
import { upsert } from "./upsert.ts";

/** Each write strategy by its name (see strategyName). */
export const STRATEGIES = {
  append,
  replace,
  upsert,
  "delete-insert": deleteInsert,
  scd2,
} satisfies Record<StrategyName, WriteStrategy>;

export { strategyName, type Batch, type StrategyName, type WriteStrategy } from "./strategy.ts";
