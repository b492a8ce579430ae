/**
 * JSONPath moved to the ground floor (src/shared/jsonpath.ts, issue #14). This
 * re-export stays only while paginate/response_actions.ts, edited on another
 * branch today, still imports it from here; delete it once that import moves.
 */
export { compileJsonPath, firstJsonPath, queryJsonPath, type JsonPath } from "../shared/jsonpath.ts";
