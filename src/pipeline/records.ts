/**
 * The records stage: one chain's pages in, the records to load out. In order,
 * for each page: include_from_parent, the incremental cursor (which may end the
 * chain), a backfill's progress, the processing steps, scd2's version hash, and
 * the tap that hands each record's values to the children waiting for them.
 */
import type { ParentValues } from "../extract/dependent.ts";
import { parentValues } from "../extract/dependent.ts";
import type { Incremental } from "../extract/incremental.ts";
import { processRecords, type RecordStep } from "../extract/processing.ts";
import type { WindowsProgress } from "../extract/windows.ts";
import type { ResourcePlan } from "../config/index.ts";
import { scd2Versions } from "../load/strategies/scd2.ts";
import type { Page } from "../paginate/index.ts";

type Rec = Record<string, unknown>;

/** A page and what became of its records; `stop` when the cursor ended the chain at this page. */
export interface RecordsPage {
  page: Page;
  records: Rec[];
  stop: boolean;
}

export interface RecordsOptions {
  /** The parent record's values a child adds to each of its records (`_<parent>_<field>`). */
  include?: Record<string, unknown>;
  /** The chain's incremental cursor: drops records outside its range, and can end the chain. */
  cursor?: Incremental;
  /** A windowed backfill's highest cursor, told of every record the cursor keeps. */
  progress?: WindowsProgress;
  steps: RecordStep | undefined;
  /** scd2 tells versions apart by content: the row's _dlt_id is a hash of the record. */
  scd2: boolean;
  /** Children collecting, from every record, what they need of their parent. */
  children: readonly { child: ResourcePlan; values: ParentValues[] }[];
  /** Rewrites an error of the page walk (a backfill names its window). */
  failure?: (error: unknown) => unknown;
}

/** Turns one chain's pages into the records to load, page by page; closes the pages when the cursor stops. */
export async function* chainRecords(pages: AsyncIterator<Page> & { close?: () => void }, options: RecordsOptions): AsyncGenerator<RecordsPage> {
  const { include, cursor, progress, steps, scd2, children, failure } = options;
  for (;;) {
    const step = await pages.next().catch((error: unknown) => {
      throw failure ? failure(error) : error;
    });
    if (step.done) return;
    const page = step.value;
    let records = page.records as Rec[];
    if (include && Object.keys(include).length) records = records.map((r) => ({ ...r, ...include }));
    let stop = false;
    if (cursor) ({ records, stop } = cursor.filter(records));
    progress?.observe(records);
    records = processRecords(records, steps);
    if (scd2) records = scd2Versions(records);
    for (const c of children) for (const r of records) c.values.push(parentValues(r, c.child.parent!, c.child.name));
    yield { page, records, stop };
    if (stop) {
      if (pages.close) pages.close();
      else void pages.return?.(undefined);
      return;
    }
  }
}
