/** restduck's version, set here (not read from package.json at run time, which the binary does not have). */
export const VERSION = "0.1.0";

/** Where the documentation lives online: a binary user has no README.md beside them. */
export const HOMEPAGE = "https://github.com/restduck/restduck#readme";
