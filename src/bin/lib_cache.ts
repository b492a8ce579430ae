/**
 * Where the compiled binary keeps its unpacked DuckDB library, and what makes
 * loading it safe (issue #11): the cache folder must be this user's own and
 * closed to group and others (else the run refuses), the library's SHA-256 is
 * fixed at build time and checked before every load (a mismatch unpacks again,
 * never loads), and unpacking writes an exclusive temp file in that private
 * folder, then renames it over the old name. Only node:fs and node:crypto, so
 * Node tests it; src/bin/compiled.ts wires it to Bun's hasher and dlopen.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";

/** A cache folder restduck will not use, or a library it cannot unpack; `hint` says how to fix it. */
export class LibCacheError extends Error {
  readonly hint: string;
  readonly exitCode: number;
  constructor(message: string, hint: string, exitCode: number) {
    super(message);
    this.name = "LibCacheError";
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** The base cache folder and the setting it came from (named in errors). */
export interface CacheBase {
  dir: string;
  from: string;
}

// Not on Windows; there 0 leaves the flags as they were.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const NONBLOCK = constants.O_NONBLOCK ?? 0;

const OWN_FOLDER_HINT = "set RESTDUCK_CACHE_DIR to a folder only you can write (restduck creates a missing one with mode 700)";

/**
 * The base folder: RESTDUCK_CACHE_DIR, else $XDG_CACHE_HOME/restduck, else
 * (Windows) %LOCALAPPDATA%\restduck, else ~/.cache/restduck. There is no
 * shared fallback such as /tmp: without a home folder the run stops and says so.
 */
export function cacheBase(options: {
  env: Record<string, string | undefined>;
  platform: string;
  cwd: string;
  uid: number | undefined;
  homedir: () => string;
}): CacheBase {
  const { env } = options;
  // Empty means unset, as for the XDG variables: `RESTDUCK_CACHE_DIR=` must not unpack 70 MB into the working folder.
  if (env.RESTDUCK_CACHE_DIR) return { dir: resolve(options.cwd, env.RESTDUCK_CACHE_DIR), from: "RESTDUCK_CACHE_DIR" };
  // The XDG Base Directory spec: a relative path in XDG_CACHE_HOME is invalid and is ignored.
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return { dir: join(env.XDG_CACHE_HOME, "restduck"), from: "XDG_CACHE_HOME" };
  if (options.platform === "win32" && env.LOCALAPPDATA) return { dir: join(env.LOCALAPPDATA, "restduck"), from: "LOCALAPPDATA" };
  let home = "";
  try {
    home = options.homedir();
  } catch {
    // No HOME and no entry in the user database (a container's `--user 1234`): os.homedir() throws ENOENT.
  }
  if (!home || !isAbsolute(home)) {
    const user = options.uid === undefined ? "this user" : `uid ${options.uid}`;
    const why = env.HOME ? `HOME is "${env.HOME}", not an absolute path` : `HOME is not set and ${user} has no home folder in the user database`;
    throw new LibCacheError(`cannot choose a cache folder for the embedded DuckDB library: ${why}`, `set HOME, or ${OWN_FOLDER_HINT}`, 2);
  }
  return { dir: join(home, ".cache", "restduck"), from: "your home folder" };
}

/** Why a folder or file with these stats could be changed by someone other than `uid`, if it could. */
function exposure(st: Stats, uid: number | undefined): string | undefined {
  // Windows has no POSIX owner or mode bits; %LOCALAPPDATA% is per-user by its ACL.
  if (uid === undefined) return undefined;
  if (st.uid !== uid) return `it belongs to uid ${st.uid}, not to you (uid ${uid})`;
  const writable = [st.mode & 0o020 ? "group" : "", st.mode & 0o002 ? "others" : ""].filter(Boolean);
  if (writable.length) return `it is writable by ${writable.join(" and ")} (mode ${(st.mode & 0o7777).toString(8).padStart(3, "0")})`;
  return undefined;
}

/**
 * Creates `dir` (mode 700, with any missing parents) unless it exists, then
 * proves only this user can change what is in it: a folder owned by someone
 * else, or a folder the user chose (RESTDUCK_CACHE_DIR) that group or others
 * can write, is refused, never repaired, since whoever can write it can swap
 * the library between our check and our load. A folder restduck names itself
 * (`…/restduck`, `<version>-<hash>`) that is ours but too open, as an older
 * restduck made them under umask 002, is closed with chmod go-w instead:
 * nothing in it is trusted before its hash check anyway.
 * `follow` says whether `dir` may be a symlink (the user's own base folder may;
 * the versioned folder restduck made inside it may not).
 */
export function privateDir(dir: string, options: { from: string; uid: number | undefined; follow: boolean; repair: boolean }): void {
  let st: Stats;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    st = options.follow ? statSync(dir) : lstatSync(dir);
  } catch (error) {
    throw new LibCacheError(`cannot create the cache folder ${dir} (from ${options.from}): ${(error as Error).message}`, OWN_FOLDER_HINT, 1);
  }
  if (!st.isDirectory()) {
    throw new LibCacheError(`cannot use the cache folder ${dir} (from ${options.from}): it is not a folder`, `remove it, or ${OWN_FOLDER_HINT}`, 2);
  }
  const why = exposure(st, options.uid);
  if (why && options.repair && st.uid === options.uid && closeUp(dir, options.uid)) return;
  if (why) {
    const fix = st.uid === options.uid ? `run \`chmod go-w ${dir}\`, or ${OWN_FOLDER_HINT}` : OWN_FOLDER_HINT;
    throw new LibCacheError(
      `refusing the cache folder ${dir} (from ${options.from}): ${why}, so another user could replace the DuckDB library restduck loads from it`,
      fix,
      2,
    );
  }
}

/**
 * chmod go-w on a folder of ours, through a descriptor opened without following
 * a symlink, so a path swapped meanwhile cannot redirect the chmod. False when
 * that is not possible (then the caller refuses the folder).
 */
function closeUp(dir: string, uid: number | undefined): boolean {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | NOFOLLOW);
  } catch {
    return false;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isDirectory() || st.uid !== uid) return false;
    fchmodSync(fd, st.mode & 0o7777 & ~0o022);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** The part of a SHA-256 hasher both Bun.CryptoHasher and node:crypto's Hash have. */
export interface Sha256 {
  update(data: Uint8Array): unknown;
  digest(encoding: "hex"): string;
}

export interface LibOptions {
  /** The versioned cache folder, already checked by `privateDir`. */
  dir: string;
  /** The library's file name (libduckdb.so, libduckdb.dylib, duckdb.dll). */
  name: string;
  /** The library's full SHA-256 (hex), fixed at build time. */
  sha256: string;
  uid: number | undefined;
  newHash: () => Sha256;
  /** The embedded library's bytes, produced only when the cache lacks a good copy. */
  unpack: () => Promise<Uint8Array>;
  /** The temp file's name in `dir`; random, so nobody can place anything at it in advance. */
  tempName?: () => string;
}

/** A verified library: its path, and an open descriptor of the very file that was hashed. */
export interface VerifiedLib {
  path: string;
  fd: number;
  /** Whether this run unpacked it (the cached copy was missing or wrong). */
  unpacked: boolean;
}

/** SHA-256 of an open file's whole content, read in 4 MiB chunks so memory stays flat. */
function hashFd(fd: number, hash: Sha256): string {
  const buf = new Uint8Array(4 << 20);
  for (let pos = 0; ; ) {
    const n = readSync(fd, buf, 0, buf.byteLength, pos);
    if (n === 0) return hash.digest("hex");
    hash.update(buf.subarray(0, n));
    pos += n;
  }
}

/**
 * Opens the cached library if it is a regular file (never through a symlink),
 * owned by this user, closed to others and of the expected SHA-256. Anything
 * else (missing, planted, truncated by a crash) gives undefined: unpack again.
 */
function openVerified(path: string, options: LibOptions): number | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at the name must not hang the open.
    fd = openSync(path, constants.O_RDONLY | NOFOLLOW | NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile() && !exposure(st, options.uid) && hashFd(fd, options.newHash()) === options.sha256) return fd;
  } catch {
    // Unreadable: treated like a wrong copy.
  }
  closeSync(fd);
  return undefined;
}

/**
 * The library, ready to load: the cached copy once its hash matches, else the
 * embedded bytes written to an exclusive temp file (`O_EXCL | O_NOFOLLOW`, so a
 * planted name is never followed nor reused) and renamed over the cached name,
 * which replaces whatever lay there (a rename never writes through a symlink).
 */
export async function verifiedLib(options: LibOptions): Promise<VerifiedLib> {
  const path = join(options.dir, options.name);
  const cached = openVerified(path, options);
  if (cached !== undefined) return { path, fd: cached, unpacked: false };

  const bytes = await options.unpack();
  const got = options.newHash();
  got.update(bytes);
  const sha = got.digest("hex");
  if (sha !== options.sha256) {
    throw new LibCacheError(
      `the DuckDB library embedded in this binary is damaged: sha256 ${sha}, built with ${options.sha256}`,
      "download restduck again and check it against the release's SHA256SUMS",
      1,
    );
  }
  const tempName = options.tempName ?? (() => `.${options.name}.${process.pid}.${randomBytes(8).toString("hex")}.tmp`);
  for (let attempt = 1; ; attempt++) {
    const tmp = join(options.dir, tempName());
    let fd: number;
    try {
      fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o755);
    } catch (error) {
      // Something already has this name: never reuse it, pick another.
      if ((error as NodeJS.ErrnoException).code === "EEXIST" && attempt < 5) continue;
      throw unpackError(options.dir, error);
    }
    try {
      for (let at = 0; at < bytes.byteLength; ) at += writeSync(fd, bytes, at, bytes.byteLength - at);
      renameSync(tmp, path);
    } catch (error) {
      closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // Already gone.
      }
      throw unpackError(options.dir, error);
    }
    removeStaleTemps(options.dir, options.name);
    return { path, fd, unpacked: true };
  }
}

/** A temp file this old is a crashed unpack's (one takes seconds), not another process's in progress. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Removes 70 MB leftovers of unpacks killed mid-write. Unlink never follows a symlink; the folder is ours. */
function removeStaleTemps(dir: string, name: string): void {
  try {
    for (const entry of readdirSync(dir)) {
      if (!entry.startsWith(`.${name}.`) || !entry.endsWith(".tmp")) continue;
      const file = join(dir, entry);
      const st = lstatSync(file, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > STALE_TEMP_MS) unlinkSync(file);
    }
  } catch {
    // Tidying only: a leftover costs disk space, never correctness.
  }
}

function unpackError(dir: string, error: unknown): LibCacheError {
  return new LibCacheError(
    `cannot unpack the embedded DuckDB library into ${dir}: ${(error as Error).message}`,
    `free some disk space, or ${OWN_FOLDER_HINT}`,
    1,
  );
}
