import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow", reason="needs the training side: pip install -e '.[dev]'")

import export.export as exporting  # noqa: E402
from digitgen import DigitGenerator  # noqa: E402
from digitgen.contract import make_contract  # noqa: E402
from export.__main__ import export_command  # noqa: E402
from export.convert import calibration_inputs  # noqa: E402
from export.manifest import sha256  # noqa: E402
from export.numpy_graph import write_numpy_graph  # noqa: E402
from tests.helpers import CLASSIFIER, ROOT, checkout_env  # noqa: E402
from train.classifier import load_classifier  # noqa: E402
from train.models import (build_conditional_generator, build_generator, build_vanilla_generator,  # noqa: E402
                          is_conditional)


def random_generator(seed, contrast=10.0, build=build_generator):
    """A random-weight generator with non-trivial batch-norm statistics and a trained model's
    output spread (a fresh one's images are all near 0, which would make any two look alike)."""
    import keras

    keras.utils.set_random_seed(seed)
    generator = build(100)
    rng = np.random.default_rng(seed)
    layers = list(generator._flatten_layers())
    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.05, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape))
    last_kernel = [layer for layer in layers if isinstance(layer, (keras.layers.Conv2DTranspose, keras.layers.Dense))][-1].kernel
    last_kernel.assign(last_kernel * contrast)
    return generator


def perturb_onnx(source, target, delta=1e-3):
    """Copy an ONNX model with its largest weight tensor shifted by delta."""
    model = onnx.load(source)
    weights = max(model.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    array = onnx.numpy_helper.to_array(weights) + np.float32(delta)
    weights.CopyFrom(onnx.numpy_helper.from_array(array, weights.name))
    onnx.save(model, target)


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "generator.keras"
    random_generator(5).save(path)
    return path


@pytest.fixture(scope="module")
def exported(generator_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts")
    report = exporting.export(generator_file, out, echo=lambda text: None, classifier_path=CLASSIFIER)
    return out, report


def test_export_passes_and_writes_a_complete_manifest(exported, generator_file):
    out, report = exported
    assert report["passed"]
    parity = json.loads((out / "parity.json").read_text())
    assert parity == report and parity["latents"]["count"] >= 512
    gates = {(c["model"], c["metric"]): c for c in parity["checks"] if c["threshold"] is not None}
    assert gates[("onnx", "max_abs")]["threshold"] == 1e-5
    assert gates[("tflite_int8", "psnr_db")]["threshold"] == 35.0
    assert gates[("tflite_int8", "label_agreement")]["threshold"] == 0.99
    assert gates[("onnx", "label_agreement")]["value"] == 1.0
    assert parity["label_classifier"] == str(CLASSIFIER)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["latent_dim"] == 100 and manifest["value_range"] == [-1.0, 1.0]
    assert manifest["source"]["sha256"] == sha256(generator_file)
    for entry in manifest["models"].values():
        assert entry["sha256"] == sha256(out / entry["name"])
        assert entry["size"] == (out / entry["name"]).stat().st_size
        assert entry["inputs"] == make_contract(100, False, entry["inputs"]["noise"]["shape"][0])
        assert entry["output"]["name"] == "images"
    assert manifest["conditional"] is False
    assert set(manifest["models"]) == {"onnx", "tflite", "numpy"}
    assert manifest["models"]["numpy"]["data"] == manifest["models"]["onnx"]["data"]  # the same weights file
    assert gates[("numpy", "max_grey_levels_vs_onnx")]["passed"]
    assert all(manifest["tools"][tool] for tool in ("tensorflow", "keras", "tf2onnx", "onnx"))
    assert not list(out.glob(".export-*"))  # the staging folder is gone


def test_onnx_model_has_dynamic_batch_and_metadata(exported):
    out, _ = exported
    model = onnx.load(out / "generator.onnx")
    (model_input,), (model_output,) = model.graph.input, model.graph.output
    assert model_input.name == "z" and model_output.name == "images"
    input_dims = model_input.type.tensor_type.shape.dim
    assert input_dims[0].dim_param and input_dims[1].dim_value == 100
    assert [d.dim_value for d in model_output.type.tensor_type.shape.dim[1:]] == [28, 28, 1]
    assert model.opset_import[0].version >= 17
    props = {p.key: p.value for p in model.metadata_props}
    assert props["latent_dim"] == "100" and props["value_range"] == "[-1.0, 1.0]"
    assert props["version_tensorflow"] and props["version_tf2onnx"]


def test_tflite_weights_and_activations_are_int8(exported):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported[0] / "generator_int8.tflite"))
    interpreter.allocate_tensors()
    model_input = interpreter.get_input_details()[0]
    model_output = interpreter.get_output_details()[0]
    assert model_input["dtype"] == np.float32 and model_output["dtype"] == np.float32
    ops = interpreter._get_ops_details()
    assert {op["op_name"] for op in ops} >= {"QUANTIZE", "FULLY_CONNECTED", "TRANSPOSE_CONV", "DEQUANTIZE"}
    tensors = interpreter.get_tensor_details()
    for op in ops:
        if op["op_name"] in ("FULLY_CONNECTED", "TRANSPOSE_CONV"):
            weights = [i for i in op["inputs"] if tensors[i]["name"] and len(tensors[i]["shape"]) >= 2]
            data = [tensors[i]["dtype"] for i in op["inputs"] if i >= 0 and len(tensors[i]["shape"]) >= 2]
            assert weights and all(dtype == np.int8 for dtype in data), op
            assert all(tensors[i]["dtype"] == np.int8 for i in op["outputs"]), op


def test_gate_catches_a_perturbed_onnx_model(exported, generator_file, tmp_path):
    out, _ = exported
    perturb_onnx(out / "generator.onnx", tmp_path / "generator.onnx")
    write_numpy_graph(tmp_path / "generator.onnx", tmp_path / "generator_numpy.json")  # the same perturbed graph
    (tmp_path / "generator_int8.tflite").write_bytes((out / "generator_int8.tflite").read_bytes())

    checks, _ = exporting.check_parity(exporting.load_generator(generator_file), tmp_path, 512)
    verdicts = {(c.model, c.metric): c.passed for c in checks}
    assert verdicts[("onnx", "max_abs")] is False
    assert verdicts[("numpy", "max_abs_vs_onnx")] is True  # numpy runs what onnxruntime runs, perturbed or not
    assert verdicts[("tflite_int8", "psnr_db")] is True


def test_gates_catch_a_wrong_tflite_model(tmp_path):
    """The int8 model of another generator beside the shipped generator: plausible-looking but wrong.
    (The shipped generator, because a random one's noise gets one label whatever the model.)"""
    shipped = exporting.load_generator(ROOT / "artifacts" / "generator.keras")
    conditional = is_conditional(shipped)
    other = random_generator(99, build=build_conditional_generator if conditional else build_generator)
    contract = make_contract(100, conditional, exporting.TFLITE_BATCH)
    exporting.to_tflite_int8(other, tmp_path / "generator_int8.tflite", contract,
                             calibration_inputs(contract, 64, seed=0))
    for name in ("generator.onnx", "generator.onnx.data", "generator_numpy.json"):
        (tmp_path / name).write_bytes((ROOT / "artifacts" / name).read_bytes())

    checks, _ = exporting.check_parity(shipped, tmp_path, 512, load_classifier(CLASSIFIER))
    verdicts = {(c.model, c.metric): c.passed for c in checks}
    assert verdicts[("tflite_int8", "psnr_db")] is False
    assert verdicts[("tflite_int8", "label_agreement")] is False
    assert verdicts[("onnx", "max_abs")] is True and verdicts[("onnx", "label_agreement")] is True


def test_failed_parity_exits_1_and_leaves_old_artifacts(generator_file, tmp_path, monkeypatch):
    out = tmp_path / "artifacts"
    out.mkdir()
    previous = {name: f"previous {name}" for name in ("generator.onnx", "manifest.json", "parity.json")}
    for name, text in previous.items():
        (out / name).write_text(text)

    real_to_onnx = exporting.to_onnx

    def broken_to_onnx(generator, path, contract, metadata):  # as if the converter had a bug
        real_to_onnx(generator, path, contract, metadata)
        perturb_onnx(path, path)

    monkeypatch.setattr(exporting, "to_onnx", broken_to_onnx)
    result = CliRunner().invoke(
        export_command, ["--generator", str(generator_file), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "FAIL" in result.output and "parity failed" in result.output
    assert {p.name: p.read_text() for p in out.iterdir()} == previous


@pytest.fixture(scope="module")
def conditional_export(tmp_path_factory):
    path = tmp_path_factory.mktemp("cgen") / "generator.keras"
    random_generator(6, build=build_conditional_generator).save(path)
    out = tmp_path_factory.mktemp("cartifacts")
    report = exporting.export(path, out, echo=lambda text: None, classifier_path=CLASSIFIER)
    return path, out, report


def test_a_conditional_contract_round_trips_export_manifest_onnx_and_runtime(conditional_export, tmp_path):
    import onnxruntime

    path, out, report = conditional_export
    assert report["passed"]
    # each model's per-digit read-back is reported (a random generator reads back poorly: reported, not gated)
    assert set(report["asked_digit_read_back"]) == {"keras", "onnx", "tflite_int8"}
    assert len(report["asked_digit_read_back"]["onnx"]["per_digit"]) == 10
    assert report["asked_digit_read_back"]["onnx"] == report["asked_digit_read_back"]["keras"]

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["conditional"] is True
    assert manifest["models"]["onnx"]["inputs"] == make_contract(100, True)
    assert manifest["models"]["tflite"]["inputs"] == make_contract(100, True, exporting.TFLITE_BATCH)
    session = onnxruntime.InferenceSession(str(out / "generator.onnx"))
    assert json.loads(session.get_modelmeta().custom_metadata_map["inputs"]) == make_contract(100, True)
    assert [(i.name, i.type) for i in session.get_inputs()] == [("z", "tensor(float)"), ("digit", "tensor(int32)")]

    import keras

    keras_model = keras.models.load_model(path)
    latents = np.random.default_rng(3).standard_normal((20, 100), dtype=np.float32)
    digits = (np.arange(20) % 10).astype(np.int32)
    expected = keras_model.predict([latents, digits], verbose=0)
    alone = tmp_path / "alone"  # without the manifest: the contract comes from the files themselves
    alone.mkdir()
    for name in ("generator.onnx", "generator.onnx.data", "generator_int8.tflite"):
        (alone / name).write_bytes((out / name).read_bytes())
    for model in (out, alone / "generator.onnx"):
        generator = DigitGenerator(model=model)
        assert generator.conditional and generator.engine.contract == make_contract(100, True)
        np.testing.assert_allclose(generator.engine.run(latents, digits), expected, atol=1e-5)
    for model, backend in ((out, "tflite"), (alone / "generator_int8.tflite", "tflite")):
        generator = DigitGenerator(model=model, backend=backend)
        assert generator.conditional
        assert np.abs(generator.engine.run(latents, digits) - expected).mean() < 0.05


@pytest.mark.parametrize("content", [None, b"PK\x03\x04 truncated"])
def test_missing_or_corrupt_generator_is_one_line_exit_2(tmp_path, content):
    generator = tmp_path / "generator.keras"
    if content is not None:
        generator.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "export", "--generator", str(generator), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, env=checkout_env(),
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(generator) in last
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()


def test_label_agreement_counts_flips_and_can_be_reported_without_a_gate():
    from export.parity import label_checks

    reference = np.eye(10)[np.arange(200) % 10] * 0.95 + 0.005
    flipped = reference.copy()
    flipped[:3] = np.roll(flipped[:3], 1, axis=1)  # 3 of 200 named differently: 98.5%
    gated, share, confident = label_checks("tflite_int8", reference, flipped)
    assert gated.value == pytest.approx(0.985) and gated.passed is False
    assert confident.value == pytest.approx(0.985) and share.value == 1.0
    reported = label_checks("tflite_int8", reference, flipped, gated=False)[0]
    assert reported.threshold == 0.99 and reported.met is False and reported.passed is True


def test_the_vanilla_generator_exports_with_parity_and_runs(tmp_path):
    path = tmp_path / "vanilla.keras"
    random_generator(3, contrast=3.0, build=build_vanilla_generator).save(path)
    report = exporting.export(path, tmp_path / "out", echo=lambda text: None, classifier_path=CLASSIFIER)
    assert report["passed"], report
    images = DigitGenerator(model=tmp_path / "out").generate(4, seed=1)
    assert images.shape == (4, 28, 28) and images.std() > 0
