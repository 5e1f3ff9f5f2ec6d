"""Registers an existing fraudstream ONNX model (e.g. the shipped model/fraud-model.onnx) in the
MLflow model registry at MLFLOW_TRACKING_URI, the way train.py does after training, so that
agents can load it with --model models:/NAME/VERSION."""

import argparse

import mlflow
import onnx


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="ONNX file written by train.py")
    p.add_argument("--name", default="fraudstream-fraud", help="registered model name")
    p.add_argument("--experiment", default="fraudstream")
    args = p.parse_args()
    proto = onnx.load(args.model)
    metadata = {e.key: e.value for e in proto.metadata_props}
    mlflow.set_experiment(args.experiment)
    with mlflow.start_run(run_name=f"register-{metadata.get('fraudstream.model_version', 'model')}"):
        info = mlflow.onnx.log_model(proto, name="model", registered_model_name=args.name, metadata=metadata)
    print(f"registered {args.name} version {info.registered_model_version}")


if __name__ == "__main__":
    main()
