/**
 * A rate learned from 429s (issue #15), for servers that refuse with 429 but
 * announce no budget in headers. Halving the requests on the wire on every
 * 429 settles at one request at a time, which leaves part of each of the
 * server's windows unused on a slow link and still meets the limit once a
 * window; pacing at just under the rate the server accepted meets it neither
 * way.
 *
 * What it learns: a refusal starts an episode (429s that answer requests sent
 * before it are the same overload and count once). The first episode teaches
 * nothing yet: what came before it is the client's own ramp-up, which may
 * straddle two of the server's windows. Its Retry-After, though, ends where a
 * fresh window starts, so what the server accepted from then to the next
 * refusal is one window's worth, and the longer of the two Retry-Afters (at
 * least 1 s, at least the time that burst took) is the window: the pace starts
 * at 97% of that rate. Without a Retry-After it is what the server sustained
 * between the two refusals. A later episode, met while paced, means the pace
 * was too fast: the new one is what the server sustained since the last wait
 * ended (answers accepted over the time they took), kept between 70% (AWS SDKs'
 * adaptive retry mode backs its learned rate off to 0.7 of the rate that was
 * refused, https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html)
 * and 97% of the pace that failed. The learned rate lasts until the run ends.
 *
 * Probing: while requests queue behind the pace, it grows by 0.5% a second,
 * and by 0.05% a second within 3% under the last pace that failed (past it,
 * the limit has risen: 0.5% again); an idle pace does not grow. Under a fixed
 * window with a whole-second Retry-After a pace one request too fast costs
 * most of a window, so probing is slow, and slowest near the rate that failed,
 * as CUBIC approaches the window where TCP last lost a packet (RFC 9438).
 *
 * Pacing is a GCRA (the virtual scheduling form of a token bucket): a request
 * may go one interval after the one before it, with a little slack (two
 * intervals at 100/s, none at 20/s), so a stalled event loop catches up a
 * request or two but the pace never bursts.
 */

/** Grants paced requests: how long the next must wait, and that one went. */
export interface Pacer {
  /** How many ms the next request must wait before it may go (0: now). */
  delay(now: number): number;
  /** A request goes at `now`; `queued` when it had to wait for its turn (the pace binds, so it may probe upward). */
  take(now: number, queued?: boolean): void;
}

export interface LearnedRateOptions {
  /** Share of an estimate paced at (default 0.97). */
  margin?: number;
}

/** A pace learned from the 429s of a server that announces no budget. */
export interface LearnedRate extends Pacer {
  /** Requests per second paced at, once learned; undefined until then. */
  readonly rate: number | undefined;
  /** The rate that last failed (the pace at a 429, or the first burst's rate). */
  readonly ceiling: number | undefined;
  /** The server accepted a request (a 2xx). */
  onAccepted(now: number): void;
  /**
   * The server refused a request with 429, with its Retry-After in ms if it sent one. Returns true
   * when this began an episode (and so may have changed the rate), false for a 429 that answers a
   * request sent before the last episode.
   */
  onRefused(now: number, retryAfterMs?: number): boolean;
}

/** Fewest accepted answers an estimate is made from: one answer says nothing about a rate. */
const MIN_SAMPLE = 2;
/** The shortest span a rate is measured over, in ms: most APIs count per second or longer. */
const MIN_SPAN_MS = 1000;
/** A refusal within this long of an episode (or within its Retry-After) answers a request of the same overload. */
const ECHO_MS = 1000;
/** A pace that failed goes down to at least this share of itself… */
const MOST_DECREASE = 0.7;
/** …and at most this share. */
const LEAST_DECREASE = 0.97;
/** Growth per second of queued requests, below 97% of the rate that failed and close to it. */
const FAST_PROBE = 0.005;
const SLOW_PROBE = 0.0005;
/** Accept times kept for the estimates: a window with more than this many still gives a rate, a low one, that probing raises. */
const KEPT = 8192;
/**
 * Share of the rate a late request may catch up (GCRA's tolerance, in whole intervals, one fewer
 * than this share of a second's requests): a stalled event loop loses fewer turns, yet a 1 s window
 * paced at 97% of its limit never gets more than the limit. 20/s gets none, 100/s two.
 */
const SLACK_SHARE = 0.03;

/** Creates a rate that knows nothing until the server refuses a request. */
export function createLearnedRate(options: LearnedRateOptions = {}): LearnedRate {
  const margin = options.margin ?? 0.97;
  if (!(margin > 0 && margin <= 1)) throw new RangeError(`margin must be in (0, 1], got ${margin}`);
  let rate: number | undefined;
  let ceiling: number | undefined;
  /** When the span being measured started: the first request, then each episode. */
  let markAt: number | undefined;
  let accepted = 0;
  /** When the last KEPT answers were accepted (a ring). */
  const times = new Float64Array(KEPT).fill(-Infinity);
  let head = 0;
  /** The episode before: when its wait ended, and how long it was. */
  let last: { reopenAt: number; wait: number } | undefined;
  let echoUntil = -Infinity;
  /** When the next request may go, less the slack (GCRA's theoretical arrival time). */
  let nextAt = -Infinity;

  const interval = () => 1000 / rate!;
  const slack = () => Math.max(0, Math.floor(rate! * SLACK_SHARE) - 1);

  return {
    get rate() {
      return rate;
    },
    get ceiling() {
      return ceiling;
    },
    delay(now) {
      if (rate === undefined) return 0;
      const ms = nextAt - slack() * interval() - now;
      // Under a microsecond is rounding (the intervals are fractions of a ms), not a wait.
      return ms > 1e-3 ? ms : 0;
    },
    take(now, queued) {
      markAt ??= now;
      if (rate === undefined) return;
      const step = interval();
      // Held back by the pace (not by the slots or the client's own speed): probe upward.
      if (queued) {
        const growth = ceiling !== undefined && rate >= ceiling * LEAST_DECREASE && rate < ceiling ? SLOW_PROBE : FAST_PROBE;
        rate *= 1 + growth * (step / 1000);
      }
      nextAt = Math.max(nextAt, now) + step;
    },
    onAccepted(now) {
      markAt ??= now;
      accepted++;
      times[head] = now;
      head = (head + 1) % KEPT;
    },
    onRefused(now, retryAfterMs) {
      if (now < echoUntil) return false;
      const wait = Math.max(0, retryAfterMs ?? 0);
      echoUntil = now + Math.max(wait, ECHO_MS);
      if (rate === undefined) {
        if (last) {
          // One window's worth: accepted since the last wait ended, over the longer wait (a wait is at most a window).
          let inWindow = 0;
          for (const at of times) if (at >= last.reopenAt) inWindow++;
          const windowMs = Math.max(last.wait, wait, MIN_SPAN_MS, now - last.reopenAt);
          if (inWindow >= MIN_SAMPLE) rate = ((inWindow * 1000) / windowMs) * margin;
        }
      } else {
        // Since the last wait ended: the server asked for that wait, so it is not time the pace had.
        const from = Math.max(markAt ?? now, last?.reopenAt ?? -Infinity);
        let since = 0;
        for (const at of times) if (at >= from) since++;
        const span = Math.max(now - from, wait, MIN_SPAN_MS);
        // A full ring undercounts: then every answer since the last refusal is the better count.
        const sustained = ((since < KEPT ? since : accepted) * 1000) / span;
        ceiling = rate;
        rate = Math.min(rate * LEAST_DECREASE, Math.max(rate * MOST_DECREASE, sustained));
      }
      last = { reopenAt: now + wait, wait };
      // After a wait the pace starts afresh: no credit from before the refusal.
      nextAt = -Infinity;
      markAt = now;
      accepted = 0;
      return true;
    },
  };
}
