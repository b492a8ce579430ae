/**
 * Scores `init --openapi` on the corpus (test/fixtures/openapi/corpus): per document, how many of the
 * hand-written resources in test/openapi/corpus_expectations.ts the generator meets, and whether its
 * config passes `validate`. `--why` lists every difference.
 *
 *   node scripts/score_openapi.ts [--why]
 */
import { generateConfig, type GeneratedConfig } from "../src/openapi/generate.ts";
import { EXPECTATIONS } from "../test/openapi/corpus_expectations.ts";
import { differences, loadCorpusDocument, validateProblems } from "../test/openapi/corpus_score.ts";

const why = process.argv.includes("--why");
let met = 0;
let all = 0;
for (const [document, expected] of Object.entries(EXPECTATIONS)) {
  let generated: GeneratedConfig | undefined;
  let failure = "";
  const started = performance.now();
  try {
    generated = generateConfig(loadCorpusDocument(document));
  } catch (error) {
    failure = (error as Error).message;
  }
  const ms = performance.now() - started;
  const problems = generated ? validateProblems(generated.config) : [failure];
  let ok = 0;
  for (const e of expected) {
    const diff = generated ? differences(generated, e) : ["no config"];
    if (!diff.length) ok++;
    else if (why) console.log(`  ${document} GET ${e.openapi}: ${diff.join("; ")}`);
  }
  met += ok;
  all += expected.length;
  console.log(`${document.padEnd(30)} ${ok}/${expected.length}  validate: ${problems.length ? `FAIL (${problems[0].slice(0, 100)})` : "pass"}  ${ms.toFixed(0)} ms`);
}
console.log(`total ${met}/${all}`);
