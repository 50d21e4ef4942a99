// Models as Python sees them: the network's layers with their weights as numpy arrays that share the
// model's memory (model.layers[0].weight is [out, in], PyTorch's nn.Linear layout), model files (the
// CLI's safetensors), prediction and evaluation on any backend, and the pictures' MNIST preprocessing.
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cudamlp/errors.h"
#include "cudamlp/mnist_digit.h"
#include "cudamlp/model_file.h"
#include "cudamlp/trainer.h"
#include "python_bindings.h"

namespace cudamlp::python {

namespace {

using namespace pybind11::literals;

// Layer l of a Python Model object: its views keep the model alive.
struct LayerView {
  py::object model;
  size_t index = 0;

  Model& target() const { return model.cast<Model&>(); }
};

std::string sizes_text(const Model& model) {
  std::string text;
  for (const int size : model.sizes()) text += (text.empty() ? "" : "-") + std::to_string(size);
  return text;
}

// Probabilities [N, C] of model on the samples X, computed with the GIL released.
py::array_t<float> predict_proba(const Model& model, const py::handle& X, const std::string& device, int threads) {
  const Dataset data = dataset_from_numpy(X, py::none(), model.output_size(), "X");
  const int64_t C = model.output_size();
  py::array_t<float> probs({py::ssize_t(data.count), py::ssize_t(C)});
  float* out = probs.mutable_data();
  {
    py::gil_scoped_release release;
    BackendOptions options;
    options.threads = threads;
    std::unique_ptr<Backend> backend = make_backend(device, options);
    backend->set_model(model);
    for_each_prediction_chunk(*backend, data, 0, data.count, [&](int64_t first, int64_t size, const float* chunk) {
      std::copy(chunk, chunk + size * C, out + first * C);
    });
  }
  return probs;
}

EvalResult evaluate_model(const Model& model, const py::handle& X, const py::handle& y, const std::string& device,
                          int threads) {
  if (y.is_none()) throw UsageError("evaluate needs the labels y");
  const Dataset data = dataset_from_numpy(X, y, model.output_size(), "X");
  py::gil_scoped_release release;
  BackendOptions options;
  options.threads = threads;
  std::unique_ptr<Backend> backend = make_backend(device, options);
  backend->set_model(model);
  return evaluate(*backend, data);
}

// [W1, b1, W2, b2, ...] as the seed notebook saved them: weights [out, in], biases [out] or [out, 1].
Model model_from_numpy_layers(const py::sequence& arrays, const std::string& input_scale) {
  if (arrays.size() < 2 || arrays.size() % 2 != 0)
    throw UsageError("from_numpy_layers: expected [W1, b1, W2, b2, ...], pairs of a weight [out, in] and a bias [out], "
                     "got " + std::to_string(arrays.size()) + " arrays");
  std::vector<py::array_t<float, py::array::c_style | py::array::forcecast>> tensors;
  std::vector<int> sizes;
  for (size_t i = 0; i < arrays.size(); i += 2) {
    const std::string w = "arrays[" + std::to_string(i) + "]", b = "arrays[" + std::to_string(i + 1) + "]";
    auto weight = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(arrays[i]);
    auto bias = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(arrays[i + 1]);
    if (!weight || weight.ndim() != 2) throw UsageError("from_numpy_layers: " + w + " must be a weight [out, in]");
    const int64_t out = weight.shape(0), in = weight.shape(1);
    if (sizes.empty()) sizes.push_back(int(std::min<int64_t>(in, kMaxLayerSize + 1)));
    if (in != sizes.back())
      throw UsageError("from_numpy_layers: " + w + " is [" + std::to_string(out) + ", " + std::to_string(in) +
                       "], but the layer before gives " + std::to_string(sizes.back()) + " values");
    if (!bias || !(bias.ndim() == 1 || (bias.ndim() == 2 && bias.shape(1) == 1)) || bias.shape(0) != out)
      throw UsageError("from_numpy_layers: " + b + " must be a bias [" + std::to_string(out) + "] or [" +
                       std::to_string(out) + ", 1] for " + w);
    sizes.push_back(int(std::min<int64_t>(out, kMaxLayerSize + 1)));
    tensors.push_back(weight);
    tensors.push_back(bias);
  }
  Model model;
  model.network = mlp_network(sizes);  // checks every size
  model.network.input_scale = input_scale_of(input_scale);
  model.parameters.resize(size_t(model.parameter_count()));
  for (size_t l = 0; l < model.network.layers.size(); ++l) {
    std::copy(tensors[2 * l].data(), tensors[2 * l].data() + tensors[2 * l].size(), model.weight(l).begin());
    std::copy(tensors[2 * l + 1].data(), tensors[2 * l + 1].data() + tensors[2 * l + 1].size(), model.bias(l).begin());
  }
  return model;
}

// An image as a GrayImage: [H, W] uint8, or floats in [0, 1] (matplotlib's imread of a PNG).
GrayImage gray_image(const py::array& image) {
  if (image.ndim() != 2)
    throw UsageError("mnist_digit: expected a grayscale picture [H, W], got " + std::to_string(image.ndim()) +
                     " dimensions (for RGB, average the channels: image.mean(axis=2))");
  // Each side checked before the product (which then cannot overflow) and before any narrowing to int.
  const py::ssize_t height = image.shape(0), width = image.shape(1);
  if (height < 1 || width < 1 || height > kMaxImagePixels || width > kMaxImagePixels ||
      int64_t(height) * int64_t(width) > kMaxImagePixels)
    throw UsageError("mnist_digit: a picture of 1 to " + std::to_string(kMaxImagePixels) + " pixels, got [" +
                     std::to_string(image.shape(0)) + ", " + std::to_string(image.shape(1)) + "]");
  GrayImage gray;
  gray.height = int(height);
  gray.width = int(width);
  const size_t n = size_t(gray.height) * size_t(gray.width);
  if (image.dtype().is(py::dtype::of<uint8_t>())) {
    const auto pixels = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(image);
    gray.pixels.assign(pixels.data(), pixels.data() + n);
  } else if (image.dtype().kind() == 'f') {
    const auto values = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(image);
    gray.pixels.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const double v = values.data()[i];
      if (!(v >= 0.0 && v <= 1.0)) throw UsageError("mnist_digit: a float picture's values must be in [0, 1]");
      gray.pixels[i] = uint8_t(v * 255.0 + 0.5);
    }
  } else {
    throw UsageError("mnist_digit: expected uint8 pixels or floats in [0, 1], got dtype " +
                     py::str(image.dtype()).cast<std::string>());
  }
  return gray;
}

// The picture (a file or an array) as an MNIST sample [28, 28] uint8; with return_inverted, also whether
// it was dark ink on a light background.
py::object mnist_digit(const py::object& picture, bool return_inverted) {
  MnistDigit digit;
  if (py::isinstance<py::str>(picture) || py::hasattr(picture, "__fspath__")) {
    const std::string path = path_text(picture);
    py::gil_scoped_release release;
    digit = load_mnist_digit(path);
  } else {
    const GrayImage image = gray_image(py::array::ensure(picture));
    try {
      digit = mnist_digit_from_image(image);
    } catch (const Error& e) {
      throw UsageError(std::string("mnist_digit: ") + e.what());  // a picture without ink: a bad argument
    }
  }
  py::array_t<uint8_t> pixels({kMnistSide, kMnistSide});
  std::copy(digit.pixels.begin(), digit.pixels.end(), pixels.mutable_data());
  if (return_inverted) return py::make_tuple(pixels, digit.inverted);
  return pixels;
}

// Pickling: the layer list and the flat parameters.
py::tuple model_state(const Model& model) {
  py::list layers;
  for (const LayerSpec& layer : model.network.layers)
    layers.append(py::make_tuple(layer.in, layer.out, activation_name(layer.activation)));
  py::array_t<float> parameters(py::ssize_t(model.parameters.size()));
  std::copy(model.parameters.begin(), model.parameters.end(), parameters.mutable_data());
  return py::make_tuple(layers, parameters, std::string(input_scale_name(model.network.input_scale)));
}

Model model_from_state(const py::tuple& state) {
  if (state.size() != 3) throw UsageError("Model: bad pickled state");
  Model model;
  for (const py::handle& item : state[0].cast<py::list>()) {
    const auto [in, out, activation] = item.cast<std::tuple<int, int, std::string>>();
    model.network.layers.push_back({in, out, activation == "relu" ? Activation::kRelu : Activation::kNone});
  }
  const auto parameters = state[1].cast<py::array_t<float, py::array::c_style | py::array::forcecast>>();
  if (model.network.layers.empty() || parameters.size() != model.parameter_count())
    throw UsageError("Model: bad pickled state");
  model.parameters.assign(parameters.data(), parameters.data() + parameters.size());
  model.network.input_scale = input_scale_of(state[2].cast<std::string>());
  return model;
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<LayerView>(m, "Layer", "One dense layer y = activation(x W^T + b) of a Model; its arrays share the model's memory")
      .def_property_readonly("weight", [](const LayerView& v) {
        Model& model = v.target();
        const LayerSpec& layer = model.network.layers[v.index];
        return float_view(model.weight(v.index).data(), {layer.out, layer.in}, v.model);
      }, "W [out, in] (PyTorch's nn.Linear.weight), writable")
      .def_property_readonly("bias", [](const LayerView& v) {
        Model& model = v.target();
        return float_view(model.bias(v.index).data(), {model.network.layers[v.index].out}, v.model);
      }, "b [out], writable")
      .def_property_readonly("in_features", [](const LayerView& v) { return v.target().network.layers[v.index].in; })
      .def_property_readonly("out_features", [](const LayerView& v) { return v.target().network.layers[v.index].out; })
      .def_property_readonly("activation", [](const LayerView& v) {
        return std::string(activation_name(v.target().network.layers[v.index].activation));
      }, "\"relu\" after a hidden layer, \"none\" after the last (its outputs are the logits)")
      .def("__repr__", [](const LayerView& v) {
        const LayerSpec& layer = v.target().network.layers[v.index];
        return "Layer(in=" + std::to_string(layer.in) + ", out=" + std::to_string(layer.out) + ", activation=" +
               activation_name(layer.activation) + ")";
      });

  py::class_<Model>(m, "Model", "A network with its parameters: what model files hold")
      .def(py::init([](const std::vector<int>& sizes, uint64_t seed, const std::string& input_scale) {
             return make_mlp(sizes, seed, input_scale_of(input_scale));
           }),
           py::arg("sizes"), py::arg("seed") = 1, py::arg("input_scale") = "pixel/255",
           "An MLP of sizes [D, hidden..., C] with He-uniform weights from seed, as `cudamlp train` makes it; "
           "input_scale: what it takes, \"pixel/255\" (uint8 pixels) or \"none\" (float32 features)")
      .def_property_readonly("input_scale", [](const Model& model) {
        return std::string(input_scale_name(model.network.input_scale));
      }, "\"pixel/255\": it takes uint8 pixels, scaled by 1/255; \"none\": float32 features as given")
      .def_property_readonly("sizes", &Model::sizes)
      .def_property_readonly("input_size", &Model::input_size)
      .def_property_readonly("output_size", &Model::output_size)
      .def_property_readonly("parameter_count", &Model::parameter_count)
      .def_property_readonly("parameters", [](py::object self) {
        Model& model = self.cast<Model&>();
        return float_view(model.parameters.data(), {py::ssize_t(model.parameters.size())}, self);
      }, "every parameter, flat, in the network's layout (each layer's weight, then its bias), writable")
      .def_property_readonly("layers", [](py::object self) {
        py::list layers;
        for (size_t l = 0; l < self.cast<Model&>().network.layers.size(); ++l) layers.append(LayerView{self, l});
        return layers;
      })
      .def("save", [](const Model& model, const py::object& path, const std::string& recipe) {
        save_model(path_text(path), model, recipe);
      }, py::arg("path"), py::arg("recipe") = "",
         "Write the model as the CLI does (safetensors, PyTorch's state_dict names); recipe: JSON text kept as "
         "cudamlp.recipe")
      .def("predict_proba", &predict_proba, py::arg("X"), py::arg("device") = "auto", py::arg("threads") = 0,
           "Softmax probabilities [N, C] of the samples X [N, D]: uint8 pixels or float32 features, as the model takes")
      .def("predict", [](const Model& model, const py::handle& X, const std::string& device, int threads) {
        const py::array_t<float> probs = predict_proba(model, X, device, threads);
        return py::module_::import("numpy").attr("argmax")(probs, "axis"_a = 1);
      }, py::arg("X"), py::arg("device") = "auto", py::arg("threads") = 0, "The most probable class of each sample")
      .def("evaluate", &evaluate_model, py::arg("X"), py::arg("y"), py::arg("device") = "auto", py::arg("threads") = 0,
           "Loss, accuracy and confusion matrix on the labelled samples X, y")
      .def("copy", [](const Model& model) { return model; })
      .def("__copy__", [](const Model& model) { return model; })
      .def("__deepcopy__", [](const Model& model, const py::dict&) { return model; }, py::arg("memo"))
      .def(py::pickle(&model_state, &model_from_state))
      .def("__repr__", [](const Model& model) {
        return "Model(" + sizes_text(model) + ", " + std::to_string(model.parameter_count()) + " parameters)";
      });

  py::class_<EvalResult>(m, "EvalResult", "Loss, accuracy and confusion matrix of a model on labelled samples")
      .def_readonly("loss", &EvalResult::loss, "mean cross-entropy")
      .def_readonly("correct", &EvalResult::correct)
      .def_readonly("count", &EvalResult::count)
      .def_readonly("num_classes", &EvalResult::num_classes)
      .def_property_readonly("accuracy", &EvalResult::accuracy)
      .def_property_readonly("confusion", [](const EvalResult& r) {
        py::array_t<int64_t> confusion({r.num_classes, r.num_classes});
        std::copy(r.confusion.begin(), r.confusion.end(), confusion.mutable_data());
        return confusion;
      }, "[C, C]: row = true class, column = predicted class")
      .def("class_accuracy", &EvalResult::class_accuracy, py::arg("c"), "recall of class c")
      .def("__repr__", [](const EvalResult& r) {
        return "EvalResult(accuracy=" + std::to_string(r.accuracy()) + ", loss=" + std::to_string(r.loss) +
               ", count=" + std::to_string(r.count) + ")";
      });

  m.def("load", [](const py::object& path) {
    const std::string file = path_text(path);
    py::gil_scoped_release release;
    return load_model(file);
  }, py::arg("path"), "A model file (or a checkpoint's weights) as the CLI reads it");
  m.def("from_numpy_layers", &model_from_numpy_layers, py::arg("arrays"), py::arg("input_scale") = "pixel/255",
        "A model from [W1, b1, W2, b2, ...]: weights [out, in], biases [out] or [out, 1]; ReLU between layers; "
        "input_scale as Model's (the seed notebook's network took pixels / 255)");
  m.def("mnist_digit", &mnist_digit, py::arg("picture"), py::arg("return_inverted") = false,
        "A picture of one digit (a PNG/PGM file, or a grayscale array) as an MNIST sample [28, 28] uint8, the "
        "way MNIST was made (include/cudamlp/mnist_digit.h)");
}

}  // namespace cudamlp::python
