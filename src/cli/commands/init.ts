import { existsSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Argv } from "yargs";
import { RestduckError } from "../../errors.ts";
import type { CommandContext } from "../context.ts";
import { paint, reportError } from "../output.ts";

export const command = "init [file]";
export const describe = "Write a starter config and a .dlt/secrets.toml template, or generate a config from an OpenAPI file";

export function builder(y: Argv) {
  return y
    .positional("file", { type: "string", describe: "Config file to write: .yaml/.yml or .json", default: "restduck.yaml" })
    .option("openapi", { type: "string", describe: "Generate the config from this OpenAPI 3.x file (JSON or YAML)" })
    .option("include", { type: "string", array: true, describe: "With --openapi: only paths starting with these prefixes (repeatable)" })
    .option("force", { type: "boolean", default: false, describe: "Overwrite an existing config file" })
    .example("$0 init chat.yaml", "a starter config for an OAuth2 chat API, and .dlt/secrets.toml")
    .example("$0 init --openapi discord.json discord.yaml", "one resource per list endpoint of the API");
}

/** The starter: the seed chat integration (OAuth2 client credentials, offset pages, merge on id). */
function starterConfig(): Record<string, unknown> {
  return {
    pipeline_name: "chat",
    client: {
      base_url: "https://api.example.com",
      auth: {
        type: "oauth2_client_credentials",
        access_token_url: "https://api.example.com/oauth/token",
        client_id: { $secret: "client_id" },
        client_secret: { $secret: "client_secret" },
      },
      retry: { max_retries: 3, backoff_factor: 2, status_codes: [429, 500, 502, 503, 504] },
    },
    resource_defaults: { primary_key: "id", write_disposition: "merge" },
    resources: [{ name: "chat_messages", endpoint: { path: "/v1/messages", data_selector: "messages", paginator: { type: "offset", limit: 100 } } }],
  };
}

export async function run(
  ctx: CommandContext,
  args: { file: string; openapi?: string; include?: string[]; force: boolean; json: boolean; quiet: boolean; verbose: boolean },
): Promise<void> {
  try {
    const ext = extname(args.file).toLowerCase();
    if (![".yaml", ".yml", ".json"].includes(ext)) {
      throw new RestduckError("USAGE", `Cannot write a config as ${args.file}: init writes .yaml, .yml or .json`, { exitCode: 2, hint: "name the file e.g. chat.yaml" });
    }
    const target = resolve(ctx.io.cwd, args.file);
    if (existsSync(target) && !args.force) {
      throw new RestduckError("FILE_EXISTS", `${args.file} already exists; init does not overwrite it`, { exitCode: 2, hint: "pick another file name, or add --force to replace it" });
    }

    let config: Record<string, unknown>;
    let notes: string[] = [];
    let skipped: string[] = [];
    let secrets: string[];
    let header: string[];
    if (args.openapi) {
      const { readOpenApiFile } = await import("../../openapi/read.ts");
      const { generateConfig } = await import("../../openapi/generate.ts");
      const generated = generateConfig(await readOpenApiFile(args.openapi, ctx.io.cwd), { include: args.include });
      ({ config, notes, skipped, secrets } = generated);
      header = [
        `restduck config generated from ${basename(args.openapi)} by \`restduck init --openapi\`.`,
        "A starting point: check each resource's paginator, data_selector and primary_key, drop what you do not need.",
        ...(notes.length ? ["", "Look at:", ...notes.map((n) => `- ${n}`)] : []),
        ...(skipped.length ? ["", "Left out:", ...skipped.map((n) => `- ${n}`)] : []),
      ];
    } else {
      config = starterConfig();
      secrets = ["client_id", "client_secret"];
      header = [
        "restduck starter config: an OAuth2 chat API with offset pages, merged on id.",
        "Point base_url, access_token_url and the resources at your API; the vocabulary is dlt's rest_api_source.",
        "Docs: https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api/basic",
      ];
    }

    const { secretEnvName } = await import("../../config/index.ts");
    // Check the vocabulary before anything is written, with stand-in secrets, as `restduck validate` will.
    const { prepareConfig } = await import("../../config/index.ts");
    const standIns = Object.fromEntries(secrets.map((s) => [secretEnvName(s), "stand-in-secret"]));
    let problems: string[] = [];
    try {
      prepareConfig(config, { env: standIns, source: args.file });
    } catch (error) {
      const listed = (error as { problems?: string[] }).problems;
      problems = listed?.length ? [...listed] : [(error as Error).message];
    }
    if (problems.length && args.openapi) {
      // A generated config `validate` rejects is the generator's failure, never the user's next surprise: nothing is written.
      throw new RestduckError(
        "OPENAPI_INVALID",
        `init --openapi made a config from ${basename(args.openapi)} that does not pass validation, so nothing was written:\n  ${problems.join("\n  ")}`,
        { exitCode: 1, hint: "leave the endpoints named above out with --include PREFIX…, and report the document so the generator can handle it" },
      );
    }

    const comment = (lines: string[]) => lines.map((l) => (l ? `# ${l}` : "#")).join("\n") + "\n";
    let text: string;
    if (ext === ".json") {
      // JSON has no comments: the notes go to the terminal only.
      text = JSON.stringify(config, null, 2) + "\n";
    } else {
      const { stringify } = await import("yaml");
      text = comment(header) + "\n" + stringify(config, { lineWidth: 0 });
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);

    // .dlt/secrets.toml next to where restduck runs (the working directory), never overwritten.
    const secretsPath = join(ctx.io.cwd, ".dlt", "secrets.toml");
    // lstat, not exists: a symlink at the name (even a dangling one) is someone's file, left alone.
    const secretsExisted = lstatSync(secretsPath, { throwIfNoEntry: false }) !== undefined;
    if (!secretsExisted && secrets.length) {
      // Owner-only: the file is meant to hold API secrets (0600; a new .dlt folder 0700). An
      // existing .dlt folder keeps its mode: init never opens a folder up, nor narrows one it did not make.
      mkdirSync(dirname(secretsPath), { recursive: true, mode: 0o700 });
      writeFileSync(
        secretsPath,
        comment([
          "Secrets for restduck (and dlt). Keep this file out of version control.",
          "Uncomment and fill in; an environment variable of the upper-cased name wins over this file.",
        ]) + secrets.map((s) => `# ${s} = ""    # or ${secretEnvName(s)}=… in the environment`).join("\n") + "\n",
        // `wx`: created here, never through a symlink planted at its name; the mode is set at creation
        // (umask can only narrow it), so the file is never readable by others, not even for a moment.
        { mode: 0o600, flag: "wx" },
      );
    }

    const resources = (config.resources as { name: string; selected?: boolean; endpoint?: { path?: string; paginator?: { type?: string } } }[]) ?? [];
    if (args.json) {
      ctx.io.stdout(
        JSON.stringify({
          type: "init",
          file: target,
          secrets_file: secretsExisted ? null : secrets.length ? secretsPath : null,
          secrets,
          resources: resources.map((r) => ({ name: r.name, path: r.endpoint?.path, paginator: r.endpoint?.paginator?.type, selected: r.selected !== false })),
          notes,
          skipped,
          valid: problems.length === 0,
          problems,
        }) + "\n",
      );
      return;
    }
    if (args.quiet) return;
    const c = paint(ctx.io);
    const out = (t: string) => ctx.io.stdout(t + "\n");
    out(`${c.green("✓")} wrote ${args.file}: ${resources.length} resource${resources.length === 1 ? "" : "s"}`);
    for (const r of resources) out(`  ${r.name}: GET ${r.endpoint?.path}, paginator ${r.endpoint?.paginator?.type ?? "auto"}${r.selected === false ? " (not selected)" : ""}`);
    if (secrets.length) {
      out(
        secretsExisted
          ? `  .dlt/secrets.toml exists and was left alone; it (or the environment) needs: ${secrets.join(", ")}`
          : `${c.green("✓")} wrote .dlt/secrets.toml with ${secrets.join(", ")} to fill in (or set ${secrets.map(secretEnvName).join(", ")})`,
      );
    }
    if (notes.length) {
      out(`\nLook at (${notes.length}):`);
      for (const n of notes) out(`  - ${n}`);
    }
    if (skipped.length && args.verbose) {
      out(`\nLeft out (${skipped.length}):`);
      for (const n of skipped) out(`  - ${n}`);
    } else if (skipped.length) out(`\n${skipped.length} endpoint${skipped.length === 1 ? "" : "s"} left out (not lists); --verbose lists them${ext === ".json" ? "" : `, and so does the comment at the top of ${args.file}`}`);
    if (problems.length) {
      out(`\n${c.yellow("warning:")} ${args.file} does not pass validation yet:`);
      for (const p of problems) out(`  ${p}`);
    }
    out(`\nNext: fill in the secrets, then\n  restduck validate ${args.file}\n  restduck run ${args.file} --db ${basename(args.file, ext)}.duckdb`);
  } catch (error) {
    ctx.exitCode = reportError(ctx.io, error, ctx.redactor, args);
  }
}
