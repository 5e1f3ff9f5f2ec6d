import { MlflowClient, MlflowError, proxiedArtifactPath } from "../../mlflow/tracking_client.ts";

/**
 * What the registry tests do to a real tracking server through its REST API: register ONNX bytes
 * as a new version of a model (a run, its `model/model.onnx` through the artifact proxy, a model
 * version whose source is that directory) and point an alias at a version. The trainer registers
 * with MLflow's Python client (model/train/); these let a test register a version in a second,
 * including bytes the Python client would refuse to log.
 */
export async function registerVersion(
  trackingUri: string,
  name: string,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const api = new MlflowClient(trackingUri, () => undefined);
  const experimentId = await api.experimentId("fraudstream-registry-test");
  const { run } = await api.call<{ run: { info: { run_id: string; artifact_uri: string } } }>(
    "POST",
    "runs/create",
    { experiment_id: experimentId, start_time: Date.now() },
  );
  await api.upload(
    `${proxiedArtifactPath(run.info.artifact_uri)}/model/model.onnx`,
    bytes,
    "application/octet-stream",
  );
  await api.call("POST", "runs/update", {
    run_id: run.info.run_id,
    status: "FINISHED",
    end_time: Date.now(),
  });
  await api.call("POST", "registered-models/create", { name }).catch((err) => {
    if (!(err instanceof MlflowError && err.code === "RESOURCE_ALREADY_EXISTS")) throw err;
  });
  const created = await api.call<{ model_version: { version: string } }>(
    "POST",
    "model-versions/create",
    { name, source: `${run.info.artifact_uri}/model`, run_id: run.info.run_id },
  );
  return created.model_version.version;
}

export async function setAlias(
  trackingUri: string,
  name: string,
  alias: string,
  version: string,
): Promise<void> {
  await new MlflowClient(trackingUri, () => undefined).call(
    "POST",
    "registered-models/alias",
    { name, alias, version },
  );
}
