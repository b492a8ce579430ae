/**
 * Node's on-disk module compile cache, for the CLI. Node type-strips and compiles each of the
 * CLI's ~100 TypeScript modules at every start; with the cache a later start reuses both (an
 * incremental rerun with nothing new: 1.2 → 0.9 CPU s, issue #15). Node checks each entry
 * against its module's content, so an edited file is compiled again.
 */
import module from "node:module";
import process from "node:process";

/**
 * Turns on Node's compile cache in the folder `folder()` names, and returns it; undefined when
 * nothing was turned on: on Bun and Deno (they have their own), when the user turned it off
 * (NODE_DISABLE_COMPILE_CACHE) or chose a folder already (NODE_COMPILE_CACHE, which Node
 * applied at start), or when `folder()` throws (a cache folder others could write: the run goes
 * on uncached, as the cache is only ever a speed-up). Only the CLI calls it: a library must not
 * change how its host compiles modules.
 */
export function cacheCompiledModules(folder: () => string): string | undefined {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun || versions.deno) return undefined;
  const enable = (module as { enableCompileCache?: (directory: string) => { directory?: string } }).enableCompileCache;
  if (typeof enable !== "function" || process.env.NODE_DISABLE_COMPILE_CACHE || process.env.NODE_COMPILE_CACHE) return undefined;
  let directory: string;
  try {
    directory = folder();
  } catch {
    return undefined;
  }
  return enable(directory).directory;
}
