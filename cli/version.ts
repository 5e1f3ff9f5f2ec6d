import config from "../deno.json" with { type: "json" };
import { DEFAULT_MODEL_PATH } from "../agent/default_model.ts";
import { readOnnxMetadata } from "../agent/onnx_metadata.ts";
import { FEATURE_COUNT, FEATURE_LIST_VERSION } from "../features/feature_list.ts";
import { readBuildInfo } from "./build_info.ts";

/**
 * `fraudstream --version`: everything an operator needs to say which build runs where: the
 * release version and commit, the Deno runtime inside it, the built-in model and the feature
 * list it computes (a model trained on another list is refused).
 */
export async function versionText(): Promise<string> {
  const build = await readBuildInfo();
  const meta = readOnnxMetadata(await Deno.readFile(DEFAULT_MODEL_PATH));
  const how = Deno.build.standalone ? "compiled executable" : "run from source";
  return [
    `fraudstream ${config.version}`,
    `commit:        ${build.commit}`,
    `runtime:       deno ${Deno.version.deno} (${Deno.build.target}, ${how})`,
    `model:         ${meta.get("fraudstream.model_name") ?? "unnamed"} ${
      meta.get("fraudstream.model_version") ?? "unversioned"
    } (built-in default)`,
    `feature list:  ${FEATURE_LIST_VERSION} (${FEATURE_COUNT} features)`,
  ].join("\n");
}
