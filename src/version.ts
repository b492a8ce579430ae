/** restduck's version, set here (not read from package.json at run time, which the binary does not have). */
export const VERSION = "0.1.0";
