"""cudamlp.Model from Python: layers as numpy views, model files, from_numpy_layers, prediction against a
numpy forward pass, evaluation, mnist_digit, and the errors bad input gets."""

import pickle

import numpy as np
import pytest

import cudamlp
from conftest import SOURCE_DIR, blobs

# cudamlp computes in float32; the numpy forward pass in float64. Over two small layers the float32
# rounding of sums of 16 products stays far below this.
FORWARD_TOLERANCE = 1e-5


def numpy_forward(model, X):
    """softmax(W2 relu(W1 x + b1) + b2), in float64, from the model's layer arrays; x = pixel / 255."""
    h = X.astype(np.float64) / 255.0
    for layer in model.layers:
        h = h @ layer.weight.astype(np.float64).T + layer.bias
        if layer.activation == "relu":
            h = np.maximum(h, 0.0)
    h -= h.max(axis=1, keepdims=True)
    e = np.exp(h)
    return e / e.sum(axis=1, keepdims=True)


def test_layers_are_views_shaped_like_torch_linear():
    model = cudamlp.mlp([16, 8, 3], seed=5)
    assert model.sizes == [16, 8, 3]
    assert [layer.weight.shape for layer in model.layers] == [(8, 16), (3, 8)]
    assert [layer.bias.shape for layer in model.layers] == [(8,), (3,)]
    assert [layer.activation for layer in model.layers] == ["relu", "none"]
    model.layers[1].weight[2, 7] = 42.0
    # The flat layout: W0 [8, 16], b0 [8], W1 [3, 8], b1 [3]; W1[2, 7] is element 2 * 8 + 7 of W1.
    assert model.parameters[8 * 16 + 8 + 2 * 8 + 7] == 42.0
    assert model.parameter_count == 8 * 16 + 8 + 3 * 8 + 3


def test_same_seed_same_weights_other_seed_others():
    a, b, c = cudamlp.mlp([16, 8, 3], 1), cudamlp.mlp([16, 8, 3], 1), cudamlp.mlp([16, 8, 3], 2)
    assert np.array_equal(a.parameters, b.parameters)
    assert not np.array_equal(a.parameters, c.parameters)


def test_save_and_load_round_trip_bitwise(tmp_path):
    model = cudamlp.mlp([16, 8, 3], seed=5)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = cudamlp.load(path)
    assert loaded.sizes == model.sizes
    assert np.array_equal(loaded.parameters, model.parameters)


def test_loads_a_model_file_the_cli_wrote():
    # fuzz/corpus/model/model-4-3-2: a 4-3-2 model file as `cudamlp train` writes them.
    model = cudamlp.load(SOURCE_DIR / "fuzz" / "corpus" / "model" / "model-4-3-2")
    assert model.sizes == [4, 3, 2]


def test_predict_proba_matches_a_numpy_forward_pass():
    X, _ = blobs(n=50, d=16)
    model = cudamlp.mlp([16, 8, 3], seed=3)
    for device in ("reference", "cpu", "gpu-emulated"):
        probs = model.predict_proba(X, device=device)
        assert probs.shape == (50, 3)
        np.testing.assert_allclose(probs, numpy_forward(model, X), atol=FORWARD_TOLERANCE)
    assert np.array_equal(model.predict(X), np.argmax(model.predict_proba(X), axis=1))


def test_from_numpy_layers_takes_the_seed_notebooks_arrays():
    rng = np.random.default_rng(1)
    W1, b1 = rng.normal(size=(10, 16)), rng.normal(size=(10, 1))  # the notebook's biases are [out, 1]
    W2, b2 = rng.normal(size=(3, 10)), rng.normal(size=3)
    model = cudamlp.from_numpy_layers([W1, b1, W2, b2])
    assert model.sizes == [16, 10, 3]
    assert np.array_equal(model.layers[0].weight, W1.astype(np.float32))
    assert np.array_equal(model.layers[0].bias, b1[:, 0].astype(np.float32))
    X, _ = blobs(n=20, d=16)
    np.testing.assert_allclose(model.predict_proba(X), numpy_forward(model, X), atol=FORWARD_TOLERANCE)


def test_from_numpy_layers_refuses_shapes_that_do_not_chain():
    with pytest.raises(ValueError, match=r"arrays\[2\]"):
        cudamlp.from_numpy_layers([np.zeros((10, 16)), np.zeros(10), np.zeros((3, 11)), np.zeros(3)])
    with pytest.raises(ValueError, match=r"arrays\[1\]"):
        cudamlp.from_numpy_layers([np.zeros((10, 16)), np.zeros(9)])
    with pytest.raises(ValueError, match="pairs"):
        cudamlp.from_numpy_layers([np.zeros((10, 16))])


def test_evaluate_counts_every_sample_in_the_confusion_matrix():
    X, y = blobs(n=90, d=16)
    model = cudamlp.mlp([16, 8, 3], seed=3)
    result = model.evaluate(X, y)
    assert result.count == 90
    assert result.confusion.shape == (3, 3)
    assert result.confusion.sum() == 90
    assert np.array_equal(result.confusion.sum(axis=1), np.bincount(y, minlength=3))
    assert result.correct == np.trace(result.confusion) == np.sum(model.predict(X) == y)
    assert result.accuracy == pytest.approx(result.correct / 90)


def test_models_pickle_and_copy():
    model = cudamlp.mlp([16, 8, 3], seed=3)
    for other in (pickle.loads(pickle.dumps(model)), model.copy()):
        assert other.sizes == model.sizes
        assert np.array_equal(other.parameters, model.parameters)
        other.parameters[0] += 1.0
        assert other.parameters[0] != model.parameters[0]  # a copy, not a view


def digit_one_on_paper():
    """A 60x40 picture of a dark vertical stroke on light paper, as a scan of a handwritten 1."""
    picture = np.full((60, 40), 230, dtype=np.uint8)
    picture[10:50, 18:23] = 20
    return picture


def test_mnist_digit_makes_a_centred_light_on_dark_sample():
    digit, inverted = cudamlp.mnist_digit(digit_one_on_paper(), return_inverted=True)
    assert inverted  # dark ink on paper becomes MNIST's light ink on black
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit.max() == 255 and digit[0, 0] == 0
    rows, cols = np.nonzero(digit)
    assert rows.max() - rows.min() + 1 == 20  # the longer side scaled to MNIST's 20-pixel box
    weights = digit.astype(np.float64)
    centre = (np.arange(28) @ weights.sum(axis=1) / weights.sum(), np.arange(28) @ weights.sum(axis=0) / weights.sum())
    assert abs(centre[0] - 14) <= 1 and abs(centre[1] - 14) <= 1


def test_mnist_digit_of_a_file_equals_that_of_its_array(tmp_path):
    picture = digit_one_on_paper()
    path = tmp_path / "one.pgm"
    path.write_bytes(b"P5\n40 60\n255\n" + picture.tobytes())
    assert np.array_equal(cudamlp.mnist_digit(path), cudamlp.mnist_digit(picture))
    assert np.array_equal(cudamlp.mnist_digit(picture.astype(np.float64) / 255), cudamlp.mnist_digit(picture))


def test_mnist_digit_refuses_a_blank_picture_and_colour():
    with pytest.raises(ValueError, match="no digit"):
        cudamlp.mnist_digit(np.full((28, 28), 128, dtype=np.uint8))
    with pytest.raises(ValueError, match="grayscale"):
        cudamlp.mnist_digit(np.zeros((28, 28, 3), dtype=np.uint8))


def test_mnist_digit_refuses_a_picture_over_the_pixel_limit_whatever_its_shape():
    # One side past the limit of 2^26 pixels, the other 1: refused, not cut to its first 2^26 pixels. A
    # broadcast view costs no memory.
    long = np.broadcast_to(np.uint8(255), ((1 << 26) + 5, 1))
    for picture in (long, long.T):
        with pytest.raises(ValueError, match="pixels, got"):
            cudamlp.mnist_digit(picture)


def test_file_problems_are_os_errors_naming_the_file(tmp_path):
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(OSError) as error:
        cudamlp.load(missing)
    assert error.value.filename == str(missing) and str(missing) in str(error.value)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a model")
    with pytest.raises(OSError, match="garbage.safetensors"):
        cudamlp.load(garbage)
    with pytest.raises(OSError, match="no-such-folder"):
        cudamlp.mlp([4, 2]).save(tmp_path / "no-such-folder" / "model.safetensors")


def test_bad_samples_are_value_errors():
    model = cudamlp.mlp([16, 8, 3])
    with pytest.raises(ValueError, match="values per sample"):
        model.predict_proba(np.zeros((4, 15), dtype=np.uint8))
    with pytest.raises(ValueError, match="dtype"):
        model.predict_proba(np.zeros((4, 16), dtype=np.complex64))
    with pytest.raises(ValueError, match="dimensions"):
        model.predict_proba(np.zeros(16, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"y\[1\] is 3"):
        model.evaluate(np.zeros((2, 16), dtype=np.uint8), np.array([0, 3]))
    with pytest.raises(ValueError, match="unknown device"):
        model.predict_proba(np.zeros((4, 16), dtype=np.uint8), device="tpu")


def test_a_model_becomes_a_torch_sequential_that_predicts_the_same():
    """The README's recipe: each layer's arrays copied into nn.Linear, ReLU between."""
    torch = pytest.importorskip("torch", reason="no PyTorch (Debian: python3-torch)")
    nn = torch.nn
    model = cudamlp.mlp([16, 8, 3], seed=4)
    X, _ = blobs(n=40, d=16)
    layers = [nn.Linear(layer.in_features, layer.out_features) for layer in model.layers]
    with torch.no_grad():
        for linear, layer in zip(layers, model.layers):
            linear.weight.copy_(torch.from_numpy(layer.weight))
            linear.bias.copy_(torch.from_numpy(layer.bias))
        net = nn.Sequential(*[m for linear in layers for m in (linear, nn.ReLU())][:-1])
        probs = torch.softmax(net(torch.from_numpy(X).float() / 255), dim=1).numpy()
    np.testing.assert_allclose(probs, model.predict_proba(X), atol=FORWARD_TOLERANCE)
