/**
 * Resume bookkeeping: whether an unfinished run may be resumed (the config's
 * fingerprint, the secrets its checkpoints need), and, per resource, where a
 * resumed run starts again and what its checkpoints store: the position (a
 * page request, a parent record's chain, a backfill's window) and the cursor
 * slots (one for the resource, one per parent record, or a backfill's progress).
 */
import { createHash } from "node:crypto";
import type { LoadedConfig, ResourcePlan } from "../config/index.ts";
import { Incremental, type IncrementalState } from "../extract/incremental.ts";
import { windowPlan, WindowsProgress, type CursorWindow } from "../extract/windows.ts";
import type { Checkpoint, Loader, UnfinishedRun } from "../load/loader.ts";
import type { PageRequest } from "../paginate/index.ts";
import type { Redactor } from "../redact.ts";
import { restoreRequest, storablePosition, type RequestBase } from "./checkpoint_request.ts";

/** One cursor's stored progress: where this run started from, and how far its committed rows go. */
export interface CursorSlot {
  start: IncrementalState | null;
  incremental: IncrementalState | null;
}

/** What a resource keeps in its checkpoint's `state`: its cursor, or one cursor per parent record (dlt shares one, its issue #2429). */
export interface ResourceState {
  start?: IncrementalState | null;
  incremental?: IncrementalState | null;
  parents?: Record<string, CursorSlot>;
}

/** Where a child resource stands: the parent record and the next request of its chain. */
export interface ChildPosition {
  parent: number;
  request: PageRequest | null;
}

/** Where a backfill in windows stands: the window and the next request in it. */
export interface WindowPosition {
  window: number;
  request: PageRequest | null;
}

/** A resource's checkpoint as an unfinished run left it. */
export type StoredCheckpoint = Checkpoint & { done: boolean };

/**
 * A fingerprint of what decides which pages a run fetches and how it loads
 * them. Secret values are masked first: a rotated secret still resumes, and
 * no secret (not even hashed) goes into the file.
 */
export function configFingerprint(plan: LoadedConfig["plan"], resources: ResourcePlan[], redactor: Redactor): string {
  const relevant = resources.map((r) => ({
    name: r.name,
    table: r.tableName,
    primaryKey: r.primaryKey,
    mergeKey: r.mergeKey,
    disposition: r.writeDisposition,
    strategy: r.mergeStrategy,
    endpoint: { ...r.endpoint, auth: undefined },
    // A stored window index means a range only with the same windows (undefined, so unwindowed hashes stay as they were).
    windows: r.incremental?.window && { size: r.incremental.window, from: r.incremental.initialValue, to: r.incremental.endValue },
  }));
  const text = redactor.redact(JSON.stringify({ baseUrl: plan.baseUrl, resources: relevant }, (_k, v) => (typeof v === "function" ? String(v) : typeof v === "bigint" ? v.toString() : v)));
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/**
 * The unfinished run this run resumes, its checkpoints' secrets put back, or
 * undefined. A run whose checkpoints no longer apply (the config changed) or
 * cannot be requested again (they need a secret this run lacks) is abandoned,
 * and `warn` says why.
 */
export async function resumableRun(
  loader: Loader,
  options: { configHash: string; redactor: Redactor; warn: (message: string) => void },
): Promise<UnfinishedRun | undefined> {
  const unfinished = await loader.unfinishedRun();
  if (!unfinished) return undefined;
  const unfillable = unsealCheckpoints(unfinished.checkpoints, options.redactor);
  let reason: string | undefined;
  // Resuming is only safe with the config the checkpoints were made with; otherwise start over, and say why.
  if (unfinished.configHash && unfinished.configHash !== options.configHash) reason = "the config changed since this run stopped, so its checkpoints no longer apply";
  // A position that needs a secret this run does not have (a token an earlier run obtained) cannot be requested again.
  else if (unfillable.length) reason = `its checkpoints hold ${unfillable.join(", ")}, a secret this run does not have (a token obtained by the stopped run)`;
  if (reason === undefined) return unfinished;
  await loader.abandonRun(unfinished.loadId, reason);
  options.warn(`not resuming run ${unfinished.loadId}: ${reason}; starting over`);
  return undefined;
}

/**
 * Puts the run's secrets back into stored positions and states, in place.
 * Returns the placeholders no secret of this run fills.
 */
function unsealCheckpoints(checkpoints: Map<string, StoredCheckpoint>, redactor: Redactor): string[] {
  const missing = new Set<string>();
  for (const checkpoint of checkpoints.values()) {
    const next = redactor.unsealValue(checkpoint.next);
    const state = redactor.unsealValue(checkpoint.state);
    checkpoint.next = next.value;
    checkpoint.state = state.value;
    for (const m of [...next.missing, ...state.missing]) missing.add(m);
  }
  return [...missing];
}

/** One chain of a resource's pages: the resource's only one, a parent record's, or a backfill window's. */
export interface Chain {
  index: number;
  /** The parent record's values, for a child. */
  key?: string;
  window?: CursorWindow;
}

/**
 * A resource's resume bookkeeping for one run: where it starts (resumed or
 * not), the cursor each chain gets, and the checkpoint of where it stands.
 */
export class ResourceResume {
  /** Whether the resource continues from an unfinished run's checkpoint. */
  readonly resuming: boolean;
  /** The chain (parent record, window) it continues in; 0 when not resuming. */
  readonly firstChain: number;
  /** Pages and rows the unfinished run had committed. */
  readonly pages: number;
  readonly rows: number;
  /** A windowed backfill stores the highest cursor it loaded, so the next ordinary run continues from there. */
  readonly progress: WindowsProgress | undefined;
  readonly #resource: ResourcePlan;
  readonly #windows: CursorWindow[] | undefined;
  readonly #resumeFrom: PageRequest | undefined;
  readonly #saved: ResourceState | undefined;
  readonly #prior: ResourceState | undefined;
  /** Incremental cursors per parent record, by parentKey. */
  readonly #parentSlots: Record<string, CursorSlot>;
  #topCursor: Incremental | undefined;
  /** The checkpoint's resume position: a page request, a ChildPosition or a WindowPosition. */
  #position: PageRequest | ChildPosition | WindowPosition | null;
  /** The first request of the chain `#position` is in: what the stored position leaves out (secrets from the config). */
  #positionBase: RequestBase = {};

  /**
   * `checkpoint` is the unfinished run's (undefined to start afresh), `prior`
   * the newest state any earlier run stored for the resource.
   */
  constructor(resource: ResourcePlan, options: { checkpoint: StoredCheckpoint | undefined; load: boolean; prior: ResourceState | undefined; windows: CursorWindow[] | undefined }) {
    const { checkpoint, load, prior, windows } = options;
    this.#resource = resource;
    this.#windows = windows;
    this.#prior = prior;
    this.resuming = load && checkpoint !== undefined && !checkpoint.done && checkpoint.next != null;
    this.#saved = this.resuming ? (checkpoint!.state as ResourceState | undefined) : undefined;
    this.pages = this.resuming ? checkpoint!.pages : 0;
    this.rows = this.resuming ? checkpoint!.rows : 0;
    let firstChain = 0;
    let resumeFrom: PageRequest | undefined;
    if (this.resuming) {
      if (resource.parent) {
        const pos = checkpoint!.next as ChildPosition;
        firstChain = pos.parent;
        resumeFrom = pos.request ?? undefined;
      } else if (windows) {
        const pos = checkpoint!.next as WindowPosition;
        firstChain = pos.window;
        resumeFrom = pos.request ?? undefined;
      } else resumeFrom = checkpoint!.next as PageRequest;
    }
    this.firstChain = firstChain;
    this.#resumeFrom = resumeFrom;
    this.#position = this.resuming ? (checkpoint!.next as PageRequest | ChildPosition | WindowPosition) : null;
    this.#parentSlots = { ...(this.resuming ? this.#saved?.parents : prior?.parents) };
    if (!this.resuming) for (const [k, v] of Object.entries(this.#parentSlots)) this.#parentSlots[k] = { start: v.incremental, incremental: v.incremental };
    const inc = resource.incremental;
    this.progress = inc && windows ? new WindowsProgress(inc, this.resuming ? this.#saved?.incremental : prior?.incremental) : undefined;
  }

  /** The incremental cursor of a chain: one for the resource, or one per parent record, or one per window. */
  cursorFor(chain: Chain): Incremental | undefined {
    const inc = this.#resource.incremental;
    if (!inc) return undefined;
    // A window's cursor starts at the window, whatever is stored: a backfill loads its range.
    if (chain.window && this.#windows) return new Incremental(windowPlan(inc, chain.window, this.#windows.length), undefined, this.#resource.name);
    const { key } = chain;
    const saved = this.#saved;
    const prior = this.#prior;
    let slot: CursorSlot | undefined;
    if (key === undefined) slot = this.resuming && saved ? { start: saved.start ?? null, incremental: saved.incremental ?? null } : prior ? { start: prior.incremental ?? null, incremental: null } : undefined;
    else slot = this.#parentSlots[key];
    const cursor = new Incremental(inc, slot?.start ?? undefined, this.#resource.name);
    if (this.resuming || key !== undefined) cursor.restore(slot?.incremental ?? undefined);
    if (key === undefined) this.#topCursor = cursor;
    return cursor;
  }

  /** The stored request the resumed chain continues from, laid over the chain's first request; undefined for other chains. */
  resumeRequest(chain: Chain, first: PageRequest): PageRequest | undefined {
    // A stored position holds only what the paginator changed; the rest comes from the config again.
    return chain.index === this.firstChain && this.#resumeFrom ? restoreRequest(this.#resumeFrom, first) : undefined;
  }

  /** Records a page taken in: the chain's cursor slot, and the request that follows it (none when the chain ended). */
  advance(chain: Chain, cursor: Incremental | undefined, first: PageRequest, next: PageRequest | undefined): void {
    if (chain.key !== undefined && cursor) this.#parentSlots[chain.key] = { start: cursor.startState ?? null, incremental: cursor.state() ?? null };
    const at = next ? chain.index : chain.index + 1;
    this.#position = this.#resource.parent ? { parent: at, request: next ?? null } : this.#windows ? { window: at, request: next ?? null } : (next ?? null);
    this.#positionBase = first;
  }

  /** The cursor state a checkpoint stores. */
  state(): ResourceState | undefined {
    if (!this.#resource.incremental) return undefined;
    if (this.#resource.parent) return { parents: { ...this.#parentSlots } };
    if (this.progress) return { start: null, incremental: this.progress.state ?? null };
    return { start: this.#topCursor?.startState ?? null, incremental: this.#topCursor?.state() ?? null };
  }

  /** Where a checkpoint cut now resumes, secrets of the config left out, and its cursor state. */
  checkpoint(): Pick<Checkpoint, "next" | "state"> {
    return { next: storablePosition(this.#position, this.#positionBase), state: this.state() };
  }
}
